#!/usr/bin/env python3
"""Build the fidelity tier's virtual environments (one per container generation) from the package registries.

The versions live in ``tests/fidelity/versions.json``. Each environment is a plain
``venv`` of this interpreter under ``.fidelity/<name>/`` (``HFST_FIDELITY_DIR``
moves the folder), filled by ``pip install`` of the table's requirement strings.
An environment is rebuilt only when its table entry (or the interpreter) changes:
a stamp file holds the hash it was built from. Standard library only.

Usage::

    python scripts/fidelity_envs.py              # build what is missing or stale, in parallel
    python scripts/fidelity_envs.py --check      # exit 1 when an environment is missing or stale
    python scripts/fidelity_envs.py train-4.56   # only the named environments
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "tests" / "fidelity" / "versions.json"
STAMP = "hfst-fidelity.stamp"
FREEZE = "pip-freeze.txt"
SCHEMA = 1  # bump when the way an environment is built changes


def env_root() -> Path:
    """Where the environments live (``HFST_FIDELITY_DIR``, default ``.fidelity/`` in the repository)."""
    return Path(os.environ.get("HFST_FIDELITY_DIR") or REPO / ".fidelity")


def load_table(path: Path = TABLE) -> dict[str, dict[str, object]]:
    """The ``envs`` section of the version table."""
    envs: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))["envs"]
    return envs


def env_hash(name: str, entry: dict[str, object]) -> str:
    """What an environment is built from: its table entry, this interpreter's version and the build schema."""
    material = json.dumps(
        {"name": name, "packages": entry["packages"], "python": list(sys.version_info[:3]), "schema": SCHEMA},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def env_python(name: str, root: Path | None = None) -> Path:
    """The interpreter of environment ``name``."""
    return (root or env_root()) / name / "bin" / "python"


def is_current(name: str, entry: dict[str, object], root: Path | None = None) -> bool:
    """Whether ``name`` is built and its stamp matches the table."""
    folder = (root or env_root()) / name
    stamp = folder / STAMP
    return env_python(name, root).is_file() and stamp.is_file() and stamp.read_text().strip() == env_hash(name, entry)


def build(name: str, entry: dict[str, object], root: Path, *, force: bool = False) -> tuple[str, float, bool]:
    """Create ``root/name`` and install its packages; returns (name, seconds, rebuilt)."""
    if not force and is_current(name, entry, root):
        return name, 0.0, False
    started = time.monotonic()
    folder = root / name
    if folder.exists():
        shutil.rmtree(folder)
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    python = str(env_python(name, root))
    packages = [str(p) for p in entry["packages"]]  # type: ignore[attr-defined]
    log = root / f"{name}.build.log"
    with open(log, "w", encoding="utf-8") as handle:
        command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *packages]
        handle.write("$ " + " ".join(command) + "\n")
        handle.flush()
        result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"fidelity env {name}: pip install failed (exit {result.returncode}); see {log}")
    freeze = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    (folder / FREEZE).write_text(freeze, encoding="utf-8")
    (folder / STAMP).write_text(env_hash(name, entry) + "\n", encoding="utf-8")
    return name, time.monotonic() - started, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="environments to build (default: all in the table)")
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if any is missing or stale")
    parser.add_argument("--force", action="store_true", help="rebuild even when the stamp matches")
    parser.add_argument("--jobs", type=int, default=3, help="environments built at once (default 3)")
    args = parser.parse_args(argv)
    table = load_table()
    names = args.names or list(table)
    unknown = sorted(set(names) - set(table))
    if unknown:
        parser.error(f"unknown environments {unknown}; the table has {sorted(table)}")
    root = env_root()
    if args.check:
        stale = [name for name in names if not is_current(name, table[name], root)]
        for name in names:
            print(f"{name}: {'missing or stale' if name in stale else 'current'} ({root / name})")
        return 1 if stale else 0
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda name: build(name, table[name], root, force=args.force), names))
    for name, seconds, rebuilt in results:
        state = f"built in {seconds:.0f} s" if rebuilt else "current (cached)"
        print(f"{name}: {state} -> {root / name}")
    print(f"fidelity envs ready in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
