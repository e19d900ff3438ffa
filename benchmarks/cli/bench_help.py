"""``hfst --help`` start-up time against the floor it cannot beat (``python -c "import typer, rich"``).

Both run as fresh processes, interleaved, ``--runs`` times each; prints the medians and their
ratio, and the machine it ran on. The goal: ``hfst --help`` under 0.3 s on a 2-core machine.

    .venv/bin/python benchmarks/cli/bench_help.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HFST = Path(sys.executable).with_name("hfst")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    hfst = [str(HFST)] if HFST.is_file() else [shutil.which("hfst") or "hfst"]
    floor_cmd = [sys.executable, "-c", "import typer, rich"]
    ours, floor = [], []
    for _ in range(args.runs):
        ours.append(timed([*hfst, "--help"]))
        floor.append(timed(floor_cmd))
    a, b = statistics.median(ours), statistics.median(floor)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"hfst --help:                median {a:.3f} s over {args.runs} runs")
    print(f"python -c 'import typer, rich': median {b:.3f} s")
    print(f"ratio: {a / b:.2f}x the floor (goal: hfst --help < 0.300 s)")


if __name__ == "__main__":
    main()
