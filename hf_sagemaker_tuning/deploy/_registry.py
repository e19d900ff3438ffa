"""A small on-disk registry of deployed endpoints: one JSON file per endpoint name.

The folder is ``$HFST_STATE_DIR`` when set, else ``~/.cache/hf-sagemaker-tuning/endpoints``.
Local entries record the server's pid, address, model folder, log file and start time;
SageMaker entries record the endpoint name and region, so ``hfst predict NAME`` and
``hfst undeploy NAME`` work on either kind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ._errors import DeployError

STATE_DIR_ENV = "HFST_STATE_DIR"
Kind = Literal["local", "sagemaker"]
#: SageMaker's endpoint-name pattern, used for local names too (they become file names).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$")


def state_dir() -> Path:
    """The registry folder (created, private to the user)."""
    folder = Path(os.environ.get(STATE_DIR_ENV) or Path.home() / ".cache" / "hf-sagemaker-tuning" / "endpoints")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        why = "is a file, not a folder" if isinstance(exc, FileExistsError) else (exc.strerror or str(exc))
        raise DeployError(
            f"the endpoint registry folder {folder} cannot be used: {why} (set {STATE_DIR_ENV} to a folder)"
        ) from None
    return folder


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid endpoint name, else raise ``DeployError``."""
    if not NAME_PATTERN.fullmatch(name):
        shown = repr(name) if len(name) <= 80 else f"{name[:80]!r}… ({len(name):,} characters)"
        raise DeployError(
            f"invalid endpoint name {shown}: use 1-63 letters, digits and hyphens, starting and ending "
            "with a letter or digit"
        )
    return name


def name_from(text: str) -> str:
    """A valid endpoint name derived from free text (a folder or job name)."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:63].strip("-")
    return cleaned or "endpoint"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class EndpointRecord:
    """What the registry knows about one endpoint."""

    name: str
    kind: Kind
    model: str
    started_at: str
    pid: int | None = None
    host: str | None = None
    port: int | None = None
    log_file: str | None = None
    region: str | None = None
    image_uri: str | None = None
    #: The server process's start time (``/proc/<pid>/stat`` field 22): guards against pid reuse.
    started: int | None = None

    @property
    def url(self) -> str | None:
        """The base URL of a local endpoint (``None`` for SageMaker)."""
        if self.kind != "local" or self.host is None or self.port is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EndpointRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def _path(name: str) -> Path:
    return state_dir() / f"{check_name(name)}.json"


def save(record: EndpointRecord) -> Path:
    """Write ``record`` atomically; return its file."""
    path = _path(record.name)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{record.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record.to_json(), handle, indent=2)
    os.replace(tmp, path)
    return path


def find(name: str) -> EndpointRecord | None:
    """The record named ``name``, or ``None``; ``DeployError`` naming the file if it is invalid."""
    path = _path(name)
    if not path.exists():
        return None
    return read(path)


MAX_RECORD_BYTES = 64 * 1024
_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "kind": (str,),
    "model": (str,),
    "started_at": (str,),
    "pid": (int, type(None)),
    "host": (str, type(None)),
    "port": (int, type(None)),
    "log_file": (str, type(None)),
    "region": (str, type(None)),
    "image_uri": (str, type(None)),
    "started": (int, type(None)),
}
_REQUIRED = ("name", "kind", "model", "started_at")


def read(path: Path) -> EndpointRecord:
    """Read and validate one registry file.

    Raises:
        DeployError: the file is unreadable, too large, not JSON, or not an endpoint record (the message
            names the file and what is wrong).
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        raise DeployError(f"the registry entry {path} cannot be read ({exc.strerror or exc}); delete it") from None
    if len(raw) > MAX_RECORD_BYTES:
        raise DeployError(f"the registry entry {path} is larger than {MAX_RECORD_BYTES} bytes; delete it")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DeployError(f"the registry entry {path} is not valid JSON ({str(exc)[:200]}); delete it") from None
    problem = _problem(data, path.stem)
    if problem is not None:
        raise DeployError(f"the registry entry {path} is not an endpoint record: {problem}; delete it")
    return EndpointRecord.from_json(data)


def _problem(data: Any, stem: str) -> str | None:
    if not isinstance(data, dict):
        return f"it holds a JSON {_json_kind(data)}, expected an object"
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        return f"it lacks {', '.join(missing)}"
    for key, kinds in _TYPES.items():
        value = data.get(key)
        if key in data and (not isinstance(value, kinds) or isinstance(value, bool)):
            return f"{key} is {_json_kind(value)}, expected {' or '.join(_json_name(kind) for kind in kinds)}"
    if data["kind"] not in ("local", "sagemaker"):
        return f"kind is {data['kind'][:50]!r}, expected 'local' or 'sagemaker'"
    if data["name"] != stem:
        return f"its name {data['name'][:70]!r} differs from the file name {stem!r}"
    port = data.get("port")
    if port is not None and not 0 < port <= 65535:
        return f"port is {port}, expected 1-65535"
    pid = data.get("pid")
    if pid is not None and pid < 1:
        return f"pid is {pid}, expected a positive integer"
    return None


def _json_kind(value: Any) -> str:
    return _json_name(type(value))


def _json_name(kind: type) -> str:
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(kind, "null" if kind is type(None) else kind.__name__)


def load(name: str) -> EndpointRecord:
    """The record named ``name``; ``DeployError`` naming the known endpoints if there is none."""
    record = find(name)
    if record is None:
        known = ", ".join(r.name for r in all_records()) or "none"
        raise DeployError(f"no endpoint named {name!r} (known: {known}); `hfst endpoints` lists them")
    return record


def remove(name: str) -> None:
    """Forget ``name`` (no error if it is already gone)."""
    _path(name).unlink(missing_ok=True)


def all_records() -> list[EndpointRecord]:
    """Every record, by name; ``DeployError`` naming the first invalid file."""
    return [read(path) for path in sorted(state_dir().glob("*.json"))]
