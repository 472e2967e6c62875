"""Start-up time of ``imt-tutor --version`` against ``python -c "import click, yaml"``.

Usage: ``python benchmarks/startup.py [--runs N]``

Each command runs N times (default 20) in a fresh process of this Python, the
two interleaved so that a busy moment of the machine hits both; the medians are
compared. Goal: ``--version`` within 1.3x of importing its two dependencies,
which holds only while ``--version`` imports neither durable_rules nor the
renderers nor any command module (``tests/test_imports.py`` checks that part;
nothing asserts a time). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL = 1.3
ROOT = Path(__file__).resolve().parent.parent


def once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"})
    return time.perf_counter() - start


def commands() -> dict[str, list[str]]:
    found = {
        "python -c 'import click, yaml'": [sys.executable, "-c", "import click, yaml"],
        "python -m imt_tutor --version": [sys.executable, "-m", "imt_tutor", "--version"],
    }
    script = Path(sys.executable).parent / "imt-tutor"
    script_path = str(script) if script.exists() else shutil.which("imt-tutor")
    if script_path:
        found["imt-tutor --version"] = [script_path, "--version"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (default 20)")
    args = parser.parse_args()
    todo = commands()
    for command in todo.values():  # warm the file cache and the bytecode
        once(command)
    times: dict[str, list[float]] = {name: [] for name in todo}
    for _ in range(args.runs):
        for name, command in todo.items():
            times[name].append(once(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline_name = next(iter(todo))
    baseline = medians[baseline_name]
    width = max(len(name) for name in todo)
    print(f"median of {args.runs} runs each (Python {sys.version.split()[0]}):")
    for name, value in medians.items():
        ratio = "" if name == baseline_name else f"  {value / baseline:.2f}x"
        print(f"  {name:<{width}}  {value * 1000:7.1f} ms{ratio}")
    worst = max(value / baseline for name, value in medians.items() if name != baseline_name)
    verdict = "within" if worst <= GOAL else "OVER"
    print(f"--version / import click, yaml: {worst:.2f}x ({verdict} the goal of {GOAL}x)")


if __name__ == "__main__":
    main()
