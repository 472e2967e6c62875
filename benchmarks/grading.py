"""How fast ``imt-tutor grade`` is, against a parse-only floor, and how its
memory grows with the number of files.

Usage: ``python benchmarks/grading.py [--files N] [--big N] [--engine E]``

It generates N synthetic answer files (default 10,000) for three bundled
cases -- right, partial, shotgun (every option) and broken, nine in ten YAML
and one in ten JSON -- then times, each as its own process:

* the floor: one Python process that reads every file and parses it with
  PyYAML's ``CSafeLoader`` (nothing else);
* ``imt-tutor grade FOLDER --out grades.csv`` with ``--jobs 1`` and ``--jobs 2``;

and prints the ratios, then the peak memory (the process's maximum resident
set) of ``grade`` at 1,000 files and at ``--big`` files (default 100,000).

Goals (issue 10; printed, never asserted in tests/): 1 job within 1.25x the
floor, 2 jobs within 0.7x, peak memory at 100,000 files within 1.1x that at
1,000.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imt_tutor.cases import load_cases  # noqa: E402
from imt_tutor.engines.builtin import BuiltinEngine  # noqa: E402
from imt_tutor.feedback import build_key  # noqa: E402
from imt_tutor.files import cases_dir, rules_dir  # noqa: E402
from imt_tutor.rulebase import load_rulebase  # noqa: E402

CASES = ("lung-cough-alk-positive", "abdomen-bloating-alk-negative-ros1", "pelvis-incidental-alk-negative")

FLOOR = """
import os, sys, yaml
loader = yaml.CSafeLoader
for folder, _, names in os.walk(sys.argv[1]):
    for name in sorted(names):
        with open(os.path.join(folder, name), "rb") as handle:
            data = handle.read()
        try:
            yaml.load(data, Loader=loader)
        except yaml.YAMLError:
            pass
"""

PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def keys() -> dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]]:
    """Per case: (question, expected, options) of each question."""
    base = load_rulebase(rules_dir())
    by_id = {c.id: c for c in load_cases(cases_dir(), base.vocabulary)}
    engine = BuiltinEngine(base)
    out = {}
    for case_id in CASES:
        key = build_key(base, engine, by_id[case_id])
        out[case_id] = [(q.qid, q.expected, q.option_ids) for q in key.questions]
    return out


def generate(folder: Path, count: int, seed: int = 10) -> None:
    """``count`` answer files, 100 a folder: right, partial, shotgun and broken."""
    rng = random.Random(seed)
    questions = keys()
    for n in range(count):
        case_id = CASES[n % len(CASES)]
        kind = ("right", "partial", "shotgun", "broken")[rng.randrange(4) if n % 20 else 3]
        answers: dict[str, list[str]] = {}
        for qid, expected, options in questions[case_id]:
            if kind == "right":
                answers[qid] = list(expected)
            elif kind == "shotgun":
                answers[qid] = list(options)
            elif rng.random() < 0.85:
                answers[qid] = rng.sample(list(options), rng.randint(0, min(3, len(options))))
        sub = folder / f"{n // 100:04d}"
        sub.mkdir(exist_ok=True)
        student = f"student-{n:06d}"
        if n % 10 == 9:
            data = {"student": student, "case": case_id, "answers": answers}
            (sub / f"{student}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
            continue
        lines = [f"student: {student}", f"case: {case_id}", "answers:"]
        lines += [f"  {qid}: [{', '.join(picks)}]" for qid, picks in answers.items()]
        text = "\n".join(lines) + "\n"
        if kind == "broken":
            text = text.replace("answers:", "answers:\n  - [", 1)  # a syntax error
        (sub / f"{student}.yaml").write_text(text, encoding="utf-8")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def grade_command(folder: Path, out: Path, jobs: int, engine: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "imt_tutor",
        "--engine",
        engine,
        "grade",
        str(folder),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
    ]


def peak_kib(command: list[str]) -> int:
    result = subprocess.run([sys.executable, "-c", PEAK, *command], capture_output=True, text=True, check=True)
    return int(result.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000, help="files for the second memory figure (0: skip)")
    parser.add_argument("--runs", type=int, default=5, help="timings are the best of this many runs")
    parser.add_argument("--engine", default="auto")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="imt-tutor-bench-"))
    try:
        folder = work / "answers"
        folder.mkdir()
        generate(folder, args.files)
        out = work / "grades.csv"
        # Bytecode as an installed package has it (pip compiles it; an editable install, or
        # PYTHONDONTWRITEBYTECODE, would have every run compile the sources again).
        compileall.compile_dir(str(ROOT / "imt_tutor"), quiet=1)
        commands = {
            "floor": [sys.executable, "-c", FLOOR, str(folder)],
            "one": grade_command(folder, out, 1, args.engine),
            "two": grade_command(folder, out, 2, args.engine),
        }
        # Interleaved, best of --runs each: a shared machine's speed drifts over seconds, and the
        # ratios compare runs made close together.
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(timed(command))
        floor, one, two = (min(times[name]) for name in ("floor", "one", "two"))
        print(f"{args.files} answer files ({', '.join(CASES)}); engine {args.engine}; cpus {os.cpu_count()}")
        print(f"parse-only floor (CSafeLoader, one process): {floor:6.2f} s")
        print(f"grade --jobs 1: {one:6.2f} s  = {one / floor:.2f}x the floor (goal <= 1.25x)")
        print(f"grade --jobs 2: {two:6.2f} s  = {two / floor:.2f}x the floor (goal <= 0.7x)")

        small = work / "small"
        small.mkdir()
        generate(small, 1_000)
        low = peak_kib(grade_command(small, work / "small.csv", 1, args.engine))
        print(f"peak memory, 1,000 files: {low / 1024:6.1f} MiB")
        if args.big:
            shutil.rmtree(folder)
            big = work / "big"
            big.mkdir()
            generate(big, args.big)
            start = time.perf_counter()
            high = peak_kib(grade_command(big, work / "big.csv", 1, args.engine))
            took = time.perf_counter() - start
            print(
                f"peak memory, {args.big:,} files: {high / 1024:6.1f} MiB = {high / low:.2f}x (goal <= 1.1x); "
                f"graded in {took:.1f} s"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
