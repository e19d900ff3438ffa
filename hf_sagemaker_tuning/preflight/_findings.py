"""What a pre-flight found: errors (the job would fail or mislead), warnings and notes, each at a field path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import SpecError

Severity = Literal["error", "warning", "note"]
#: At most this many problems are listed one per line in an error message; ``SpecError.errors`` holds all.
MAX_LISTED = 20


@dataclass(frozen=True)
class Finding:
    """One thing the pre-flight found.

    Attributes:
        path: The spec field it is about (``training.instance_type``), or ``(top level)``.
        message: What is wrong and what is allowed.
        severity: ``error`` (refused), ``warning`` (likely a mistake) or ``note`` (advice).
    """

    path: str
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "severity": self.severity}


@dataclass
class Findings:
    """Every finding of one pre-flight, in the order found (duplicates dropped)."""

    items: list[Finding] = field(default_factory=list)
    source: str | None = None

    def add(self, path: str, message: str, severity: Severity = "error") -> None:
        finding = Finding(path, message, severity)
        if finding not in self.items:
            self.items.append(finding)

    def extend(self, pairs: list[tuple[str, str]], severity: Severity = "error") -> None:
        for path, message in pairs:
            self.add(path, message, severity)

    def of(self, severity: Severity) -> list[Finding]:
        return [f for f in self.items if f.severity == severity]

    @property
    def errors(self) -> list[Finding]:
        return self.of("error")

    @property
    def ok(self) -> bool:
        """True when nothing would be refused."""
        return not self.errors

    def error_paths(self) -> set[str]:
        return {f.path for f in self.errors}

    def to_error(self) -> SpecError:
        """One ``SpecError`` listing every error (``errors`` holds the ``(path, message)`` pairs)."""
        pairs = [(f.path, f.message) for f in self.errors]
        where = f" in {self.source}" if self.source else ""
        lines = [f"invalid spec{where}: {len(pairs)} problem{'s' if len(pairs) != 1 else ''}"]
        lines += [f"  {path}: {message}" for path, message in pairs[:MAX_LISTED]]
        if len(pairs) > MAX_LISTED:
            lines.append(f"  ... and {len(pairs) - MAX_LISTED:,} more")
        return SpecError("\n".join(lines), errors=pairs, source=self.source)

    def raise_for_errors(self) -> None:
        """Raise ``to_error()`` when there is any error."""
        if self.errors:
            raise self.to_error()

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "errors": [f.to_dict() for f in self.of("error")],
            "warnings": [f.to_dict() for f in self.of("warning")],
            "notes": [f.to_dict() for f in self.of("note")],
        }
