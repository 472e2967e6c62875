"""Tests of imt_tutor.grading and ``imt-tutor grade``: hostile batches, duplicates,
the same score as ``run`` and ``feedback.grade_case``, byte-identical reruns,
``--jobs``, SIGKILL, item analysis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imt_tutor.answers import CaseIndex
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.errors import EngineError
from imt_tutor.feedback import CaseKey, build_key, grade_case
from imt_tutor.files import rules_dir
from imt_tutor.grading import (
    MIN_STUDENTS,
    PARALLEL_MIN_FILES,
    Batch,
    Hooks,
    ItemAnalysis,
    Reported,
    _can_fork,
    _Grader,
    _Spool,
    _SpoolReader,
    feedback_filename,
    number_text,
    read_submissions,
    stamp,
)
from imt_tutor.models import Case, RuleBase
from imt_tutor.render import gradebook
from imt_tutor.transcript import load_transcript

ROOT = Path(__file__).resolve().parent.parent
LUNG = "lung-cough-alk-positive"


# --------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def batch(base: RuleBase, bundled_cases: tuple[Case, ...]) -> Iterator[Batch]:
    with Batch(base, bundled_cases, rules_path=rules_dir(), engine_factory=lambda: BuiltinEngine(base)) as made:
        made.build_keys()
        yield made


@pytest.fixture(scope="module")
def keys(batch: Batch) -> dict[str, CaseKey]:
    return {case_id: entry[0] for case_id, entry in batch.keys.items()}


def answers_yaml(student: str, case: str, answers: dict[str, list[str]], submitted_at: str | None = None) -> str:
    lines = [f"student: {json.dumps(student)}", f"case: {case}"]
    if submitted_at:
        lines.append(f"submitted_at: {submitted_at}")
    lines.append("answers:" if answers else "answers: {}")
    lines += [f"  {qid}: [{', '.join(picks)}]" for qid, picks in answers.items()]
    return "\n".join(lines) + "\n"


def full_marks(key: CaseKey) -> dict[str, list[str]]:
    return {q.qid: list(q.expected) for q in key.questions}


def write_class(folder: Path, keys: dict[str, CaseKey], count: int, case: str = LUNG) -> None:
    """``count`` answer files: right, partial, shotgun (every option) and a few unanswered."""
    folder.mkdir(parents=True, exist_ok=True)
    key = keys[case]
    for n in range(count):
        answers: dict[str, list[str]] = {}
        for i, q in enumerate(key.questions):
            style = (n + i) % 4
            if style == 0:
                answers[q.qid] = list(q.expected)
            elif style == 1:
                answers[q.qid] = list(q.expected[:1])
            elif style == 2:
                answers[q.qid] = list(q.option_ids)
        (folder / f"s{n:04d}.yaml").write_text(answers_yaml(f"s{n:04d}", case, answers), encoding="utf-8")


def run_grade(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imt_tutor", "--engine", "builtin", "grade", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


# --------------------------------------------------------------------- a hostile batch


@pytest.fixture
def hostile(tmp_path: Path, keys: dict[str, CaseKey]) -> Path:
    folder = tmp_path / "class"
    folder.mkdir()
    key = keys[LUNG]
    (folder / "good-a.yaml").write_text(answers_yaml("a", LUNG, full_marks(key)), encoding="utf-8")
    (folder / "good-b.json").write_text(
        json.dumps({"student": "b", "case": LUNG, "answers": full_marks(key)}), encoding="utf-8"
    )
    (folder / "sub").mkdir()
    (folder / "sub" / "good-c.yml").write_text(answers_yaml("c", LUNG, {}), encoding="utf-8")
    (folder / "alias_bomb.yaml").write_text("a: &a [x, x]\nb: [*a, *a]\n", encoding="utf-8")
    (folder / "duplicate.yaml").write_text("student: a\ncase: x\nstudent: b\n", encoding="utf-8")
    (folder / "python.yaml").write_text("student: !!python/object/apply:os.system [ls]\n", encoding="utf-8")
    (folder / "big.yaml").write_bytes(b"student: " + b"x" * (5 * 1024 * 1024) + b"\n")
    (folder / "latin1.yaml").write_bytes(b"student: Ren\xe9e\n")
    (folder / "list.yaml").write_text("- student: a\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not an answers file, not read\n", encoding="utf-8")
    (folder / ".hidden.yaml").write_text("- hidden files are not read\n", encoding="utf-8")
    if os.name == "posix":
        os.mkfifo(folder / "fifo.yaml")
        (folder / "loop.yaml").symlink_to(folder / "loop.yaml")
        (folder / "sub" / "back").symlink_to(folder)  # a folder loop
    return folder


EXPECTED_PROBLEMS = {
    "alias_bomb.yaml": "1:4: anchors and aliases are not allowed",
    "big.yaml": "1:1: file is too large (5.1 MiB; limit 1 MiB)",
    "duplicate.yaml": "3:1: duplicate key 'student' (first defined at line 1)",
    "latin1.yaml": "1:13: file is not valid UTF-8 (byte 0xe9)",
    "list.yaml": "1:1: expected a mapping at the top level, found a list",
    "python.yaml": "1:10: python tags are not allowed: !!python/object/apply:os.system",
}
POSIX_PROBLEMS = {
    "fifo.yaml": "1:1: cannot read file: it is a named pipe (FIFO), not a regular file",
    "loop.yaml": "1:1: cannot read file: Too many levels of symbolic links (a symbolic link loop?)",
    "sub/back": "1:1: symbolic link loop: this folder contains itself; not walked again",
}


def test_a_hostile_batch_grades_every_good_file_and_locates_every_bad_one(
    hostile: Path, tmp_path: Path, base: RuleBase, bundled_cases: tuple[Case, ...]
) -> None:
    problems: list[Reported] = []
    with Batch(base, bundled_cases, rules_path=rules_dir(), engine_factory=lambda: BuiltinEngine(base)) as made:
        made.collect([hostile], on_problem=problems.append)
        results = list(made.results())
    assert [(r.student, r.points) for r in results] == [("a", 13.0), ("b", 13.0), ("c", 0.0)]
    expected = dict(EXPECTED_PROBLEMS)
    if os.name == "posix":
        expected.update(POSIX_PROBLEMS)
    shown = {os.path.relpath(p.path, hostile): f"{p.line}:{p.column}: {p.message}" for p in problems}
    assert shown == expected
    assert made.files == 3 + len(EXPECTED_PROBLEMS) + (2 if os.name == "posix" else 0)


def test_the_command_reports_each_bad_file_on_one_line_and_writes_the_rest(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "grades.csv"
    result = run_grade([str(hostile), "--out", str(out)], tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    for name, problem in EXPECTED_PROBLEMS.items():
        assert f"{hostile / name}:{problem}" in lines
    assert lines[-1].startswith("grade: 3 graded, ")
    assert out.read_text(encoding="utf-8").count(f",{LUNG},") == 3 * 13


# --------------------------------------------------------------------- two submissions of one student


def test_the_later_submission_is_graded_and_the_other_reported(tmp_path: Path, batch: Batch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    key = batch.keys[LUNG][0]
    (folder / "1.yaml").write_text(answers_yaml("x", LUNG, full_marks(key), "2026-03-02T10:00:00Z"), encoding="utf-8")
    (folder / "2.yaml").write_text(answers_yaml("x", LUNG, {}, "2026-03-02T10:30:00+01:00"), encoding="utf-8")
    (folder / "3.yaml").write_text(answers_yaml("y", LUNG, {}), encoding="utf-8")
    (folder / "4.jsonl").write_text(json.dumps({"student": "y", "case": LUNG, "answers": {}}) + "\n", encoding="utf-8")
    problems: list[Reported] = []
    with Batch(
        batch.base,
        list(batch.index.cases.values()),
        rules_path=rules_dir(),
        engine_factory=lambda: BuiltinEngine(batch.base),
    ) as made:
        made.collect([folder], on_problem=problems.append)
        results = [(r.student, r.points, r.source) for r in made.results()]
        assert made.skipped == 3
    assert results == [("x", 13.0, f"{folder / '1.yaml'}:1:1")]
    assert [str(p) for p in problems] == [
        f"{folder / '2.yaml'}:1:1: student 'x' handed in 2 submissions for case '{LUNG}': the later one "
        f"({folder / '1.yaml'}:1:1, submitted at 2026-03-02T10:00:00Z) is graded, not this one "
        "(submitted at 2026-03-02T10:30:00+01:00)",
        f"{folder / '3.yaml'}:1:1: student 'y' handed in 2 submissions for case '{LUNG}' (without submitted_at "
        f"to tell which is later; also {folder / '4.jsonl'}:1:1): none is graded",
        f"{folder / '4.jsonl'}:1:1: student 'y' handed in 2 submissions for case '{LUNG}' (without submitted_at "
        f"to tell which is later; also {folder / '3.yaml'}:1:1): none is graded",
    ]


# --------------------------------------------------------------------- one score everywhere


def test_every_bundled_key_scores_the_same_in_run_and_in_grade(
    invoke: Any, tmp_path: Path, keys: dict[str, CaseKey]
) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    run_points: dict[tuple[str, str], float] = {}
    for case_id in sorted(keys):
        made = invoke(["--engine", "builtin", "key", case_id])
        assert made.exit_code == 0, made.output
        answers = folder / f"{case_id}.yaml"
        answers.write_text(made.stdout, encoding="utf-8")
        saved = tmp_path / f"{case_id}.json"
        ran = invoke(["--engine", "builtin", "run", case_id, "--answers", str(answers), "--transcript", str(saved)])
        assert ran.exit_code == 0, ran.output
        for record in load_transcript(saved).answers:
            run_points[(case_id, record.question)] = record.points
    out = tmp_path / "grades.jsonl"
    graded = invoke(["--engine", "builtin", "grade", str(folder), "--out", str(out)])
    assert graded.exit_code == 0, graded.output
    grade_points = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        assert item["points"] == item["max_points"]  # the key scores full marks
        for question in item["questions"]:
            grade_points[(item["case"], question["id"])] = question["points"]
    assert grade_points == run_points
    assert set(grade_points.values()) == {1.0}


@st.composite
def answer_sets(draw: st.DrawFn, keys: dict[str, CaseKey]) -> tuple[str, dict[str, list[str]], str]:
    case_id = draw(st.sampled_from(sorted(keys)))
    key = keys[case_id]
    answers: dict[str, list[str]] = {}
    for question in key.questions:
        if draw(st.integers(0, 5)) == 0:
            continue  # unanswered
        picks = draw(st.lists(st.sampled_from(question.option_ids), unique=True, max_size=len(question.option_ids)))
        answers[question.qid] = picks
    style = draw(st.sampled_from(["yaml", "json", "messy"]))
    return case_id, answers, style


def _messy(text: str) -> str:
    """Letter case and spaces a student might add."""
    return f" {text.upper()} "


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_grade_is_feedback_grade_case_for_generated_answer_sets(
    data: st.DataObject, batch: Batch, keys: dict[str, CaseKey], tmp_path: Path
) -> None:
    case_id, answers, style = data.draw(answer_sets(keys))
    if style == "json":
        path = tmp_path / "a.json"
        path.write_text(json.dumps({"student": "s", "case": case_id, "answers": answers}), encoding="utf-8")
    elif style == "messy":
        path = tmp_path / "a.yaml"
        messy = {_messy(q): [json.dumps(_messy(p)) for p in picks] for q, picks in answers.items()}
        path.write_text(
            answers_yaml("s", json.dumps(_messy(case_id)), {json.dumps(q): p for q, p in messy.items()}),
            encoding="utf-8",
        )
    else:
        path = tmp_path / "a.yaml"
        path.write_text(answers_yaml("s", case_id, answers), encoding="utf-8")
    subs, problems = read_submissions(str(path), batch.index)
    assert problems == []
    graded = batch.grade(subs[0])
    expected = grade_case(keys[case_id], {q: tuple(p) for q, p in answers.items()})
    assert graded.graded == expected
    assert graded.points == expected.total.points
    assert graded.max_points == expected.total.max_points


# --------------------------------------------------------------------- reruns, jobs, SIGKILL


def test_reruns_are_byte_identical_and_jobs_2_matches_jobs_1(tmp_path: Path, keys: dict[str, CaseKey]) -> None:
    folder = tmp_path / "class"
    write_class(folder, keys, PARALLEL_MIN_FILES + 50)
    (folder / "broken.yaml").write_text("student: [\n", encoding="utf-8")
    outputs: list[dict[str, bytes]] = []
    for run, jobs in enumerate(["1", "1", "2"]):
        here = tmp_path / f"run{run}"
        here.mkdir()
        result = run_grade(
            [str(folder), "--out", "g.jsonl", "--report", "r.html", "--feedback-dir", "fb", "--jobs", jobs], here
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.count("broken.yaml") == 1
        files = {p.relative_to(here).as_posix(): p.read_bytes() for p in sorted(here.rglob("*")) if p.is_file()}
        outputs.append(files)
    assert len(outputs[0]) == 2 + PARALLEL_MIN_FILES + 50
    assert outputs[0] == outputs[1] == outputs[2]


def _collected(batch: Batch, folder: Path) -> list[tuple[Any, ...]]:
    problems: list[str] = []
    batch.collect([folder], on_problem=lambda p: problems.append(str(p)))
    return [(r.student, r.case, r.points, r.source, r.row) for r in batch.results()] + [tuple(problems)]


@pytest.mark.parametrize("count", [PARALLEL_MIN_FILES - 1, PARALLEL_MIN_FILES])
def test_two_jobs_grade_as_one_below_and_at_the_worker_threshold(
    tmp_path: Path, base: RuleBase, bundled_cases: tuple[Case, ...], keys: dict[str, CaseKey], count: int
) -> None:
    # With --jobs 2 the workers start before the files are counted; below the threshold they are
    # stopped and this process grades every file, as with one job.
    folder = tmp_path / "class"
    write_class(folder, keys, count - 1)
    (folder / "broken.yaml").write_text("student: [\n", encoding="utf-8")
    results = []
    for jobs in (1, 2):
        with Batch(
            base,
            bundled_cases,
            rules_path=rules_dir(),
            engine_factory=lambda: BuiltinEngine(base),
            jobs=jobs,
            hooks=Hooks(row=gradebook.csv_rows),
        ) as made:
            results.append(_collected(made, folder))
            assert made.files == count
    assert results[0] == results[1]
    assert len(results[0]) == count  # every good file's submission, and the one file's problems
    assert "broken.yaml:2:1: invalid YAML" in results[0][-1][0]


class _NoEngine(EngineError):
    pass


def _failing_engine() -> Any:
    raise _NoEngine("this engine cannot start")


@pytest.mark.skipif(not _can_fork(), reason="forked workers open their engine as they start")
def test_an_engine_that_fails_in_the_workers_is_its_own_error(
    tmp_path: Path, base: RuleBase, bundled_cases: tuple[Case, ...], keys: dict[str, CaseKey]
) -> None:
    # Workers open the engine as they start; if that fails, the error is the engine's (raised again
    # by the first key), never a broken pool.
    folder = tmp_path / "class"
    write_class(folder, keys, PARALLEL_MIN_FILES)
    with Batch(base, bundled_cases, rules_path=rules_dir(), engine_factory=_failing_engine, jobs=2) as made:
        with pytest.raises(_NoEngine, match="cannot start"):
            made.collect([folder])


def _a_large_class(tmp_path: Path, keys: dict[str, CaseKey]) -> tuple[Path, Path]:
    """3,000 answer files (grading takes long enough to be stopped midway) and an empty output folder."""
    folder = tmp_path / "class"
    write_class(folder, keys, 3000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    return folder, out_dir


def _wait_for_the_hidden_output(proc: subprocess.Popen[str] | subprocess.Popen[bytes], out_dir: Path) -> None:
    """Until ``grade`` has opened its output (a hidden temporary file, from before the first answer
    file is read until it is complete), or has ended."""
    for _ in range(6000):
        if any(p.name.startswith(".g.csv.") for p in out_dir.iterdir()) or proc.poll() is not None:
            return
        time.sleep(0.01)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_sigkill_mid_run_leaves_no_partial_output(tmp_path: Path, keys: dict[str, CaseKey]) -> None:
    folder, out_dir = _a_large_class(tmp_path, keys)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imt_tutor",
            "--engine",
            "builtin",
            "grade",
            str(folder),
            "--out",
            str(out_dir / "g.csv"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_the_hidden_output(proc, out_dir)
        assert proc.poll() is None, "grade finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (out_dir / "g.csv").exists()
    assert all(p.name.startswith(".g.csv.") and p.name.endswith(".tmp") for p in out_dir.iterdir())


@pytest.mark.skipif(not _can_fork(), reason="forked workers")
def test_workers_leave_ctrl_c_to_the_batch(base: RuleBase, bundled_cases: tuple[Case, ...]) -> None:
    # A worker waiting for work that took Ctrl-C (SIGINT reaches the whole process group) would die
    # printing its own traceback and break the pool; the workers ignore it, and the batch stops them.
    with Batch(base, bundled_cases, rules_path=rules_dir(), engine_factory=lambda: BuiltinEngine(base), jobs=2) as made:
        pool = made._pool()
        try:
            pid = pool.submit(os.getpid).result(timeout=60)
            assert pid != os.getpid()
            os.kill(pid, signal.SIGINT)  # it is idle now, waiting for the next chunk
            for _ in range(20):
                assert pool.submit(os.getpid).result(timeout=60) != os.getpid()  # still a working pool
            os.kill(pid, 0)  # and that worker is alive
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT")
def test_ctrl_c_with_workers_exits_130_with_one_line_and_no_output(tmp_path: Path, keys: dict[str, CaseKey]) -> None:
    # Ctrl-C reaches the whole process group, the workers too (which start before the files are
    # found): the batch stops them itself, says one line and leaves no file, never a traceback.
    folder, out_dir = _a_large_class(tmp_path, keys)
    command = [sys.executable, "-m", "imt_tutor", "--engine", "builtin", "grade", str(folder)]
    proc = subprocess.Popen(
        [*command, "--out", str(out_dir / "g.csv"), "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_the_hidden_output(proc, out_dir)
        assert proc.poll() is None, "grade finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "Interrupted."
    assert list(out_dir.iterdir()) == []


# --------------------------------------------------------------------- usage


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "canvas"], "--format canvas needs --assignment NAME"),
        (["--format", "canvas", "--assignment", "Case 1 Final Score"], "Canvas silently drops every column"),
        (["--format", "csv", "--assignment", "x"], "--roster and --assignment go with"),
        (["--format", "moodle", "--assignment", "x", "--assignment-id", "3"], "--assignment-id goes with"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_usage_errors_exit_2(invoke: Any, tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke(["grade", str(tmp_path), "--out", str(tmp_path / "o.csv"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "o.csv").exists()


def test_all_graded_exits_0(invoke: Any, tmp_path: Path, keys: dict[str, CaseKey]) -> None:
    write_class(tmp_path / "in", keys, 3)
    result = invoke(["--engine", "builtin", "grade", str(tmp_path / "in"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1].startswith("grade: 3 graded, 0 skipped, 0 problems (3 files, 1 case) in ")


def test_grade_shows_at_most_100_problems_of_a_file_then_how_many_more(
    invoke: Any, tmp_path: Path, keys: dict[str, CaseKey]
) -> None:
    folder = tmp_path / "in"
    write_class(folder, keys, 2)
    bad = {"case": "lung-cough-alk-positive", "answers": {"presentation.next-steps": ["nope"]}}
    lines = [json.dumps({"student": f"s{i}", **bad}) for i in range(130)]
    (folder / "a-class.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "b-broken.yaml").write_text("student: x\ncase: [\n", encoding="utf-8")
    result = invoke(["--engine", "builtin", "grade", str(folder), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    shown = [e for e in errors if e.startswith(str(folder / "a-class.jsonl") + ":")]
    assert len(shown) == 101 and shown[-1].endswith(": ... and 30 more problems in this file")
    more = errors.index(shown[-1])
    assert errors[more + 1].startswith(str(folder / "b-broken.yaml") + ":3:1: invalid YAML")  # next file, in order
    assert errors[-1].startswith("grade: 2 graded, 131 skipped, 131 problems")


# --------------------------------------------------------------------- item analysis


def _analyse(batch: Batch, tmp_path: Path, files: dict[str, str]) -> Any:
    folder = tmp_path / "ia"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    with Batch(
        batch.base,
        list(batch.index.cases.values()),
        rules_path=rules_dir(),
        engine_factory=lambda: BuiltinEngine(batch.base),
        analyse=True,
    ) as made:
        made.collect([folder])
        with ItemAnalysis() as analysis:
            for result in made.results():
                analysis.add(result, made.keys[result.case][0])
            return analysis.finish()


def test_item_analysis_figures(batch: Batch, keys: dict[str, CaseKey], tmp_path: Path) -> None:
    key = keys[LUNG]
    q1, q2 = key.questions[0], key.questions[1]
    # Six students: q1 right for the four best, q2 right for the three best; nothing else answered.
    files = {}
    for n in range(6):
        answers = {}
        if n < 4:
            answers[q1.qid] = list(q1.expected)
        if n < 3:
            answers[q2.qid] = list(q2.expected)
        files[f"{n}.yaml"] = answers_yaml(f"s{n}", LUNG, answers)
    result = _analyse(batch, tmp_path, files)
    (case,) = result.cases
    assert case.students == 6
    assert case.mean == pytest.approx((2 * 3 + 1 * 1) / 6)
    assert case.median == 1.5  # totals 0, 0, 1, 2, 2, 2
    assert case.histogram == (3, 3, 0, 0, 0, 0, 0, 0, 0, 0)  # 0, 0 and 1 of 13 points; 2 of 13 is 15 %
    first, second = case.questions[0], case.questions[1]
    assert first.difficulty == pytest.approx(4 / 6)
    assert second.difficulty == pytest.approx(3 / 6)
    # Upper and lower 27 % of 6 students: 2 each (the two best have both, the two worst neither).
    assert first.upper_lower == pytest.approx(1.0)
    # Corrected item-total correlation: q1 against the rest (here q2), by hand.
    x = [1, 1, 1, 1, 0, 0]
    y = [1, 1, 1, 0, 0, 0]
    mx, my = sum(x) / 6, sum(y) / 6
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / 6
    r = cov / ((sum((a - mx) ** 2 for a in x) / 6) ** 0.5 * (sum((b - my) ** 2 for b in y) / 6) ** 0.5)
    assert first.item_total == pytest.approx(r)
    assert case.alpha is not None
    assert first.missed == () and case.questions[2].answered == 0


def test_few_students_give_no_alpha_or_discrimination(batch: Batch, keys: dict[str, CaseKey], tmp_path: Path) -> None:
    key = keys[LUNG]
    files = {f"{n}.yaml": answers_yaml(f"s{n}", LUNG, full_marks(key) if n else {}) for n in range(MIN_STUDENTS - 1)}
    (case,) = _analyse(batch, tmp_path, files).cases
    assert case.alpha is None
    assert all(q.item_total is None and q.upper_lower is None for q in case.questions)


def test_wrong_picks_and_contradicted_rules(batch: Batch, keys: dict[str, CaseKey], tmp_path: Path) -> None:
    key = keys[LUNG]
    contradicted = [
        (q, o)
        for q in key.questions
        for o in q.options
        if o.verdict == "not_expected" and any(g.kind == "contradicted" for g in o.gaps)
    ]
    assert contradicted, "the lung case offers an option its facts rule out"
    question, option = contradicted[0]
    files = {f"{n}.yaml": answers_yaml(f"s{n}", LUNG, {question.qid: [option.option]}) for n in range(3)}
    result = _analyse(batch, tmp_path, files)
    stats = next(q for q in result.cases[0].questions if q.qid == question.qid)
    assert stats.wrong[0].option == option.option and stats.wrong[0].count == 3
    assert stats.wrong[0].kind == "contradicted"
    rules = {r.rule: r.count for r in result.contradicted}
    for gap in option.gaps:
        if gap.kind == "contradicted":
            assert rules[gap.rule] == 3
    assert result.contradicted[0].examples[0] == (question.qid, option.label)


# --------------------------------------------------------------------- small parts


def test_stamp_changes_with_the_case_file_the_rules_the_version_and_the_engine() -> None:
    rules = [("a.yaml", b"rules")]
    first = stamp(rules, b"case", "0.1.0", "builtin evaluator")
    assert first.startswith("sha256:") and len(first) == 7 + 16
    assert stamp(list(reversed(rules)), b"case", "0.1.0", "builtin evaluator") == first
    assert (
        len(
            {
                first,
                stamp(rules, b"case2", "0.1.0", "builtin evaluator"),
                stamp([("a.yaml", b"rule")], b"case", "0.1.0", "builtin evaluator"),
                stamp(rules, b"case", "0.1.1", "builtin evaluator"),
                stamp(rules, b"case", "0.1.0", "durable_rules 2.0.28"),
            }
        )
        == 5
    )


def test_feedback_file_names_are_safe_and_distinct() -> None:
    assert feedback_filename("jdoe", LUNG) == f"jdoe--{LUNG}.md"
    odd = {feedback_filename(s, LUNG) for s in ("a b", "a_b", "../../etc", "a/b", "Ærø", ".hidden")}
    assert len(odd) == 6
    for name in odd:
        assert "/" not in name and not name.startswith(".") and name.endswith(f"--{LUNG}.md")


@pytest.mark.parametrize(
    ("value", "text"), [(12, "12"), (9.5, "9.5"), (0.333, "0.33"), (1000.0, "1000"), (0.005, "0.01"), (0, "0")]
)
def test_number_text(value: float, text: str) -> None:
    assert number_text(value) == text


def test_case_index_questions(bundled_cases: tuple[Case, ...], base: RuleBase) -> None:
    index = CaseIndex(bundled_cases)
    lung = index.questions(LUNG)
    key = build_key(base, BuiltinEngine(base), index.cases[LUNG])
    assert list(lung) == [q.qid for q in key.questions]


def test_a_transcript_of_run_is_graded_from_its_picks(invoke: Any, tmp_path: Path, keys: dict[str, CaseKey]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    answers = tmp_path / "mine.yaml"
    key = keys[LUNG]
    picks = {q.qid: list(q.expected) for q in key.questions[:5]}
    answers.write_text(answers_yaml("ines", LUNG, picks), encoding="utf-8")
    ran = invoke(
        ["--engine", "builtin", "run", LUNG, "--answers", str(answers), "--transcript", str(folder / "t.json")]
    )
    assert ran.exit_code == 0, ran.output
    anonymous = json.loads((folder / "t.json").read_text(encoding="utf-8"))
    anonymous["student"] = None
    (folder / "anonymous.json").write_text(json.dumps(anonymous), encoding="utf-8")
    out = tmp_path / "g.jsonl"
    graded = invoke(["--engine", "builtin", "grade", str(folder), "--out", str(out)])
    assert graded.exit_code == 1
    assert f"{folder / 'anonymous.json'}:1:" in graded.stderr and "the transcript names no student" in graded.stderr
    (item,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert item["student"] == "ines" and item["case"] == LUNG
    saved = {a.question: a.points for a in load_transcript(folder / "t.json").answers}
    assert {q["id"]: q["points"] for q in item["questions"] if q["answered"]} == saved  # the same points as run gave


def _hint_charging_cases(tmp_path: Path, base: RuleBase) -> tuple[Case, ...]:
    """The lung case as a private case that charges 0.25 a hint."""
    from imt_tutor.cases import load_cases
    from imt_tutor.files import cases_dir

    private = tmp_path / "cases"
    private.mkdir()
    text = (cases_dir() / f"{LUNG}.yaml").read_text(encoding="utf-8")
    (private / f"{LUNG}.yaml").write_text(text.replace("fictional: true\n", "fictional: true\nhint_penalty: 0.25\n", 1))
    return load_cases(private, base.vocabulary)


def test_hints_are_charged_as_the_case_says(tmp_path: Path, base: RuleBase, bundled_cases: tuple[Case, ...]) -> None:
    cases = _hint_charging_cases(tmp_path, base)
    folder = tmp_path / "in"
    folder.mkdir()
    with Batch(base, cases, rules_path=rules_dir(), engine_factory=lambda: BuiltinEngine(base)) as made:
        key = made.key(LUNG)[0]
        assert key.hint_penalty == 0.25
        answers = {q.qid: list(q.expected) for q in key.questions}
        hints = {key.questions[0].qid: 2, key.questions[1].qid: 1}
        data = {"student": "h", "case": LUNG, "answers": answers, "hints": hints}
        (folder / "h.json").write_text(json.dumps(data), encoding="utf-8")
        made.collect([folder])
        (result,) = list(made.results())
        expected = grade_case(key, {q: tuple(p) for q, p in answers.items()}, hints)
        assert result.points == expected.total.points == 13 - 0.5 - 0.25


def test_the_same_picks_with_hints_are_their_own_rows(tmp_path: Path, base: RuleBase) -> None:
    # The cells of one answer are remembered; hints change its credit, so they are part of the memo.
    import csv

    from imt_tutor.render import gradebook

    cases = _hint_charging_cases(tmp_path, base)
    folder = tmp_path / "in"
    folder.mkdir()
    hooks = Hooks(row=gradebook.csv_rows)
    with Batch(base, cases, rules_path=rules_dir(), engine_factory=lambda: BuiltinEngine(base), hooks=hooks) as made:
        key = made.key(LUNG)[0]
        first = key.questions[0]
        answers = {q.qid: list(q.expected) for q in key.questions}
        for student, hints in (("a", {}), ("b", {first.qid: 2}), ("c", {})):
            data = {"student": student, "case": LUNG, "answers": answers, "hints": hints}
            (folder / f"{student}.json").write_text(json.dumps(data), encoding="utf-8")
        made.collect([folder])
        credits = {}
        for result in made.results():
            assert result.row is not None
            rows = [dict(zip(gradebook.CSV_COLUMNS, r, strict=True)) for r in csv.reader(result.row.splitlines())]
            credits[result.student] = next(r["credit"] for r in rows if r["question"] == first.qid)
        assert credits == {"a": "1", "b": "0.5", "c": "1"}


@given(st.lists(st.tuples(st.none() | st.text(), st.none() | st.text(), st.none() | st.text()), max_size=20))
def test_the_text_spool_gives_back_what_it_was_given(records: list[tuple[str | None, str | None, str | None]]) -> None:
    # Rows, feedback and notes wait in spool files per process; lone surrogates and empty texts included.
    with tempfile.TemporaryDirectory() as folder:
        spool = _Spool(folder)
        where = [spool.put(row, others) for row, *others in records]
        spool.flush()
        reader = _SpoolReader(folder)
        try:
            back = [
                (reader.row(spool.name, a, n), *reader.others(spool.name, b, lengths)) for a, n, b, lengths in where
            ]
            assert back == records
        finally:
            reader.close()
            spool.close()


def test_a_forked_worker_writes_its_own_spool(tmp_path: Path) -> None:
    # A worker inherits the parent's grader; its texts go to files of its own, never the parent's.
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    grader = _Grader(CaseIndex(()), {}, Hooks(), analyse=False)
    grader.spool_folder = str(tmp_path)
    parent = grader.spool
    parent.put("parent", ())
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            child = grader.spool
            child.put("child", ())
            child.flush()
            os._exit(0 if child.name != parent.name else 3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    parent.flush()
    assert os.waitstatus_to_exitcode(status) == 0
    rows = sorted(p.name for p in tmp_path.glob("rows-*.bin"))
    assert len(rows) == 2 and len(list(tmp_path.glob("texts-*.bin"))) == 2
    reader = _SpoolReader(str(tmp_path))
    try:
        names = [name.removeprefix("rows-").removesuffix(".bin") for name in rows]
        texts = {reader.row(name, 0, 6 if name == parent.name else 5) for name in names}
    finally:
        reader.close()
    assert texts == {"parent", "child"}


def _row_with_a_surrogate(item: Any) -> str:
    return f"{item.student},\udcff\r\n"


@pytest.mark.parametrize("surrogate", [False, True])
def test_rows_are_copied_as_stored_in_sorted_order(
    tmp_path: Path, base: RuleBase, bundled_cases: tuple[Case, ...], keys: dict[str, CaseKey], surrogate: bool
) -> None:
    # write_rows copies the stored bytes, in runs where rows follow each other; the order is the
    # students' (files read in another order are gathered row by row); a row UTF-8 cannot encode
    # still fails as the text layer fails (one located error at the CLI, never a broken file).
    folder = tmp_path / "in"
    write_class(folder, keys, 6)
    (folder / "s0002.yaml").rename(folder / "z.yaml")  # read last, sorted third
    hook = _row_with_a_surrogate if surrogate else (lambda item: f"{item.student},{item.points}\r\n")
    with Batch(
        base, bundled_cases, rules_path=rules_dir(), engine_factory=lambda: BuiltinEngine(base), hooks=Hooks(row=hook)
    ) as made:
        made.collect([folder])
        seen: list[str] = []
        out = tmp_path / "rows.csv"
        with open(out, "w", encoding="utf-8", newline="") as handle:
            handle.write("head\r\n")
            if surrogate:
                with pytest.raises(UnicodeEncodeError):
                    made.write_rows(handle, lambda result: seen.append(result.student))
                return
            made.write_rows(handle, lambda result: seen.append(result.student))
        alone = tmp_path / "alone.csv"  # with nothing to pass the results to: the same bytes
        with open(alone, "w", encoding="utf-8", newline="") as handle:
            handle.write("head\r\n")
            made.write_rows(handle)
        expected = [f"{r.student},{r.points}\r\n" for r in made.results()]
    assert seen == [f"s{n:04d}" for n in range(6)]
    assert out.read_bytes() == ("head\r\n" + "".join(expected)).encode("utf-8")
    assert alone.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(("first", "second"), [("a.yaml", "z/x.yaml"), ("z.yaml", "a/x.yaml")])
def test_a_file_reached_twice_is_read_once_at_its_first_place_in_sorted_order(
    tmp_path: Path, keys: dict[str, CaseKey], batch: Batch, first: str, second: str
) -> None:
    # A hard link (or a file given twice) is one file: read once, from the place that sorts first,
    # whatever order the file system lists the folder in.
    folder = tmp_path / "in"
    (folder / second).parent.mkdir(parents=True)
    (folder / second).write_text(answers_yaml("ana", LUNG, full_marks(keys[LUNG])), encoding="utf-8")
    os.link(folder / second, folder / first)
    with Batch(
        batch.base, list(batch.index.cases.values()), rules_path=rules_dir(), engine_factory=batch.engine_factory
    ) as made:
        made.collect([folder, folder / second])
        sources = [r.source for r in made.results()]
    assert made.files == 1
    assert sources == [f"{folder / min(first, second)}:1:1"]
