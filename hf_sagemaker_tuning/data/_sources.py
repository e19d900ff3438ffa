"""Find the source's splits (hub, local files, save_to_disk folders, S3, installed packages) and read them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ..packaged import package_path
from ._hub import load_hub_dataset
from ._readers import SUFFIXES, RawSplit, format_of, read_bytes

if TYPE_CHECKING:
    from ..specs.dataset import DatasetSpec

LABELS_FILE = "labels.json"
_DISK_MARKERS = ("dataset_dict.json", "state.json")


@dataclass
class Located:
    """Where the source's splits are, before any of them is read."""

    kind: str
    description: str
    available: list[str]
    fs: Any = None
    files: dict[str, str] = field(default_factory=dict)
    disk_path: str | None = None
    folder: str | None = None
    datasets: dict[str, Any] | None = None


def _package_path(source: str) -> str:
    return package_path(source)


def _filesystem(source: str, storage_options: dict[str, Any] | None) -> tuple[Any, str]:
    fsspec = importlib.import_module("fsspec")
    options = storage_options if source.startswith("s3://") else {}
    fs, path = fsspec.core.url_to_fs(source, **(options or {}))
    if hasattr(fs, "invalidate_cache"):
        fs.invalidate_cache()
    return fs, path


def locate(spec: DatasetSpec, storage_options: dict[str, Any] | None) -> Located:
    """Resolve ``spec.source`` to its splits without reading them (hub datasets are loaded)."""
    kind = spec.resolved_kind
    if kind == "hub":
        loaded = load_hub_dataset(spec.source, spec.config, spec.revision)
        where = f"hub dataset {spec.source!r}" + (f" (config {spec.config!r})" if spec.config else "")
        return Located("hub", where, list(loaded), datasets=loaded)
    if kind == "package":
        source, description = _package_path(spec.source), spec.source
    else:
        source, description = spec.source, spec.source
        if not source.startswith("s3://"):
            source = os.path.abspath(os.path.expanduser(source))
    try:
        fs, path = _filesystem(source, storage_options)
        exists, is_dir = fs.exists(path), fs.isdir(path)
    except Exception as error:
        raise DataError(f"cannot reach source {description!r}: {error}") from None
    if not exists:
        raise DataError(f"source not found: {description!r} (no such file or folder)")
    if is_dir:
        names = {posixpath.basename(p.rstrip("/")): p for p in fs.ls(path, detail=False)}
        if any(marker in names for marker in _DISK_MARKERS) and spec.data_files is None:
            return _locate_disk(fs, path, source, description, storage_options)
        return _locate_folder(spec, fs, path, names, description)
    if spec.data_files is not None:
        raise DataError(f"data_files needs a folder as source; {description!r} is a file")
    return Located(kind, description, ["train"], fs=fs, files={"train": path})


def _locate_disk(fs: Any, path: str, source: str, description: str, options: dict[str, Any] | None) -> Located:
    import datasets

    try:
        loaded = datasets.load_from_disk(source, storage_options=options if source.startswith("s3://") else None)
    except Exception as error:
        raise DataError(f"{description!r} looks like a save_to_disk folder but cannot be loaded: {error}") from None
    splits = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    return Located("disk", description, list(splits), fs=fs, disk_path=path, datasets=splits)


def _locate_folder(spec: DatasetSpec, fs: Any, path: str, names: dict[str, str], description: str) -> Located:
    files: dict[str, str] = {}
    if spec.data_files is not None:
        for split, relative in spec.data_files.items():
            full = posixpath.join(path, relative)
            if not fs.exists(full):
                raise DataError(f"data file for split {split!r} not found: {relative!r} in {description!r}")
            files[split] = full
    else:
        suffixes = tuple(SUFFIXES) if spec.format == "auto" else (f".{spec.format}",)
        for name, full in sorted(names.items()):
            if name == LABELS_FILE or not name.lower().endswith(suffixes) or fs.isdir(full):
                continue
            split = name[: name.rfind(".")]
            if split in files:
                raise DataError(
                    f"{description!r} holds two files for split {split!r}: "
                    f"{posixpath.basename(files[split])} and {name}; keep one or set data_files"
                )
            files[split] = full
        if not files:
            raise DataError(
                f"{description!r} holds no <split>.jsonl/.json/.csv/.parquet files "
                f"(it has: {', '.join(sorted(names)) or 'nothing'})"
            )
    return Located("files", description, sorted(files), fs=fs, files=files, folder=path)


def content_hashes(located: Located) -> list[list[str]]:
    """What identifies the source's content: a sha256 per local file, ETag and size per S3 object."""
    if located.datasets is not None and located.disk_path is None:
        return [[name, str(ds._fingerprint)] for name, ds in sorted(located.datasets.items())]
    paths = sorted(located.files.values())
    if located.disk_path is not None:
        paths = sorted(located.fs.find(located.disk_path))
    if located.folder is not None and located.fs.exists(posixpath.join(located.folder, LABELS_FILE)):
        paths.append(posixpath.join(located.folder, LABELS_FILE))
    out: list[list[str]] = []
    local = "file" in _protocols(located.fs)
    for path in paths:
        if local:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            out.append([path, digest.hexdigest()])
        else:
            info = located.fs.info(path)
            out.append([path, str(info.get("ETag") or info.get("etag") or ""), str(info.get("size"))])
    return out


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def folder_label_names(located: Located) -> list[str] | None:
    """Label names from a ``labels.json`` next to the split files, if there is one.

    Either a list of names (index = id) or the ``id2label`` form, ``{"0": "negative", "1": ...}``
    (ids 0..n-1, each once).
    """
    if located.folder is None:
        return None
    path = posixpath.join(located.folder, LABELS_FILE)
    if not located.fs.exists(path):
        return None
    try:
        names = json.loads(located.fs.cat_file(path).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"{LABELS_FILE} in {located.description!r} is not valid JSON: {error}") from None
    if isinstance(names, dict):
        names = _id2label(names, located.description)
    if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str) and n.strip() for n in names):
        raise DataError(
            f"{LABELS_FILE} in {located.description!r} must be a list of two or more label names "
            '(or the id2label form {"0": "negative", ...})'
        )
    if len(set(names)) != len(names):
        raise DataError(f"{LABELS_FILE} in {located.description!r} repeats a label name: {names}")
    return names


def _id2label(mapping: dict[str, Any], description: str) -> list[Any]:
    """``{"0": "negative", "1": "neutral"}`` -> ``["negative", "neutral"]`` (ids must be 0..n-1)."""
    try:
        ids = {int(key): value for key, value in mapping.items()}
    except ValueError:
        raise DataError(
            f"{LABELS_FILE} in {description!r}: the id2label keys must be class ids, got {sorted(mapping)}"
        ) from None
    if sorted(ids) != list(range(len(ids))):
        raise DataError(f"{LABELS_FILE} in {description!r}: the ids must be 0..{len(ids) - 1}, got {sorted(ids)}")
    return [ids[index] for index in range(len(ids))]


def read_split(located: Located, split: str, spec: DatasetSpec) -> RawSplit:
    """Read one source split, keeping the text and label columns."""
    needed = [*spec.text_columns, spec.label_column]
    if located.datasets is not None:
        ds = located.datasets[split]
        origin = f"{located.description} split {split!r}"
        columns = list(ds.column_names)
        missing = [c for c in needed if c not in columns]
        if missing:
            raise DataError(
                f"{origin} has no column {', '.join(map(repr, missing))}; its columns are: {', '.join(columns)}"
            )
        feature = ds.features[spec.label_column]
        feature = getattr(feature, "feature", feature)  # a list of ClassLabel (multi-label, NER tags)
        names = list(feature.names) if hasattr(feature, "names") and hasattr(feature, "str2int") else None
        return RawSplit(split, origin, tuple(columns), {c: list(ds[c]) for c in needed}, class_names=names)
    path = located.files[split]
    name = posixpath.basename(path)
    if located.folder is None and located.kind == "package":
        origin = located.description
    else:
        origin = path if "file" in _protocols(located.fs) else f"s3://{path}"
    fmt = format_of(name, spec.format)
    try:
        payload = located.fs.cat_file(path)
    except Exception as error:
        raise DataError(f"cannot read {origin}: {error}") from None
    return read_bytes(payload, name=split, origin=origin, fmt=fmt, encoding=spec.encoding, needed=needed)
