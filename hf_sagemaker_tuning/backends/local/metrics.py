"""Metrics come only from the request's metric definitions, applied to a trial's output lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ...compile.request import TuningJobRequest


@dataclass
class MetricReader:
    """Reads a growing log file incrementally and applies each metric regex to each new line.

    ``series[name]`` holds every value emitted, in order; the objective is the last value
    emitted (AMT's rule) and each emission of it is one intermediate point for pruning.
    """

    path: Path
    regexes: dict[str, re.Pattern[str]]
    objective: str
    series: dict[str, list[float]] = field(default_factory=dict)
    _offset: int = 0
    _partial: bytes = b""

    @classmethod
    def for_request(cls, request: TuningJobRequest, path: Path) -> MetricReader:
        defs = request.TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions
        return cls(path=path, regexes={d.Name: re.compile(d.Regex) for d in defs}, objective=request.objective_metric)

    def poll(self) -> list[float]:
        """Read what was appended since the last call; return the new objective values."""
        if not self.path.is_file():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an unfinished last line waits for its newline
        new: list[float] = []
        for raw in lines:
            new.extend(self.feed(raw.decode("utf-8", errors="replace")))
        return new

    def finish(self) -> list[float]:
        """Read the rest, including a last line without a newline."""
        new = self.poll()
        if self._partial:
            new.extend(self.feed(self._partial.decode("utf-8", errors="replace")))
            self._partial = b""
        return new

    def feed(self, line: str) -> list[float]:
        new: list[float] = []
        for name, regex in self.regexes.items():
            match = regex.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1))
            except (ValueError, IndexError):
                continue
            self.series.setdefault(name, []).append(value)
            if name == self.objective:
                new.append(value)
        return new

    @property
    def final_objective(self) -> float | None:
        values = self.series.get(self.objective)
        return values[-1] if values else None
