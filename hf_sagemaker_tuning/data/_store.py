"""The output location (a local folder or an ``s3://`` prefix) and the atomic commit of channels."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import posixpath
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DataError
from ._result import MANIFEST

CHANNELS = ("train", "validation", "test")


class Store:
    """A folder on the local disk or under ``s3://bucket/prefix``, addressed by relative names."""

    def __init__(self, output: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None):
        fsspec = importlib.import_module("fsspec")
        text = os.fspath(output)
        self.remote = text.startswith("s3://")
        self.options = dict(storage_options or {}) if self.remote else None
        if not self.remote:
            text = os.path.abspath(os.path.expanduser(text))
            if os.path.exists(text) and not os.path.isdir(text):
                raise DataError(f"output {text!r} is a file; give a folder (or an s3:// prefix)")
        self.url = text.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url, **(self.options or {}))
        except Exception as error:
            raise DataError(f"cannot use output {self.url!r}: {error}") from None
        self.root = self.root.rstrip("/")

    def location(self, relative: str = "") -> str:
        """URL (or absolute path) of ``relative`` under the output."""
        return f"{self.url}/{relative}" if relative else self.url

    def _path(self, relative: str) -> str:
        return posixpath.join(self.root, relative) if self.remote else os.path.join(self.root, relative)

    def refresh(self) -> None:
        """Forget cached listings (S3) so that existence checks see the current state."""
        if hasattr(self.fs, "invalidate_cache"):
            self.fs.invalidate_cache()

    def exists(self, relative: str) -> bool:
        return bool(self.fs.exists(self._path(relative)))

    def read_text(self, relative: str) -> str | None:
        """The file's text, or ``None`` when it does not exist."""
        try:
            return bytes(self.fs.cat_file(self._path(relative))).decode("utf-8")
        except FileNotFoundError:
            return None

    def write_json(self, relative: str, value: Any) -> None:
        """Write JSON atomically (temporary file + rename locally; one PUT on S3)."""
        data = (json.dumps(value, indent=2, sort_keys=False) + "\n").encode("utf-8")
        if self.remote:
            self.fs.pipe_file(self._path(relative), data)
            return
        target = self._path(relative)
        temporary = f"{target}.tmp-{uuid.uuid4().hex}"
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)

    def move(self, source: str, target: str) -> None:
        if self.remote:  # S3 has no rename: copy every object, then delete the originals
            prefix, destination = self._path(source), self._path(target)
            self.refresh()
            objects = [prefix] if self.fs.isfile(prefix) else list(self.fs.find(prefix))
            for key in objects:
                self.fs.copy(key, destination + key[len(prefix) :])
            self.fs.rm(objects)
            self.refresh()
        else:
            os.makedirs(os.path.dirname(self._path(target)), exist_ok=True)
            os.replace(self._path(source), self._path(target))

    def remove(self, relative: str) -> None:
        path = self._path(relative)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
        self.refresh()

    def commit(self, channels: Mapping[str, Any], manifest: Any, save: Callable[[Any, str], None]) -> None:
        """Write ``channels`` and then ``manifest.json`` so that no reader ever sees a mixed output.

        Channels are saved under ``.staging-<id>/`` first. Then the old manifest and channels are moved to
        ``.backup-<id>/`` (the output stops looking prepared), the new channels are moved into place, and the
        manifest is written last. On any failure the new channels are removed and the old ones restored.
        """
        run = uuid.uuid4().hex[:12]
        staging, backup = f".staging-{run}", f".backup-{run}"
        moved_out: list[str] = []
        moved_in: list[str] = []
        swapping = had_manifest = False
        if not self.remote:
            os.makedirs(self.root, exist_ok=True)
        try:
            for name, dataset in channels.items():
                save(dataset, self.location(f"{staging}/{name}"))
            self.refresh()
            had_manifest = self.exists(MANIFEST)
            swapping = True
            for name in (MANIFEST, *CHANNELS):
                if self.exists(name):
                    self.move(name, f"{backup}/{name}")
                    moved_out.append(name)
                if name in channels:
                    self.move(f"{staging}/{name}", name)
                    moved_in.append(name)
            self.write_json(MANIFEST, manifest)
        except BaseException:
            if swapping:  # before the swap nothing in place was touched
                new_manifest = MANIFEST in moved_out or not had_manifest
                self._rollback([MANIFEST, *moved_in] if new_manifest else moved_in, moved_out, backup)
            self._quietly_remove(staging)
            raise
        self._quietly_remove(backup)
        self._quietly_remove(staging)

    def _rollback(self, new: list[str], moved_out: list[str], backup: str) -> None:
        # The new manifest (if any) goes first, so the output never looks prepared while mixed.
        for name in new:
            self._quietly_remove(name)
        for name in moved_out:
            try:
                self.move(f"{backup}/{name}", name)
            except Exception:  # pragma: no cover - best effort; the backup folder stays for the user
                return
        self._quietly_remove(backup)

    def _quietly_remove(self, relative: str) -> None:
        with contextlib.suppress(Exception):  # cleanup must not hide the real error
            self.remove(relative)
