"""transcript.py and the run's use of it: one size limit, numbers out of range,
one run per transcript, a path that can be written before the first question."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from imt_tutor import transcript as transcript_module
from imt_tutor.cli import main
from imt_tutor.errors import DataError
from imt_tutor.transcript import (
    AnswerRecord,
    Transcript,
    load_transcript,
    lock_transcript,
    save_transcript,
    transcript_json,
    transcript_text,
)

LUNG = "lung-cough-alk-positive"


def invoke(args: list[str], tmp_path: Path, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        main, args, input=input, env={"NO_COLOR": "1", "XDG_DATA_HOME": str(tmp_path), **(env or {})}
    )


def _transcript(**answer: object) -> dict[str, object]:
    return {
        "format": "imt-tutor-transcript",
        "format_version": 1,
        "case": LUNG,
        "case_file": "x.yaml",
        "questions": [{"id": "presentation.next-steps", "options": ["biopsy"]}],
        "answers": [{"question": "presentation.next-steps", "picks": ["biopsy"], "points": 1, **answer}],
    }


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"points": "9" * 5000}, "number is too long"),
        ({"help": {"hints": 10**40}}, "whole number of hints"),
        ({"points": 10**40}, "a number from 0 to 1"),
    ],
)
def test_numbers_out_of_range_are_one_line_data_errors(tmp_path: Path, answer: dict[str, object], words: str) -> None:
    path = tmp_path / "t.json"
    text = json.dumps(_transcript(**answer))
    if isinstance(answer.get("points"), str):
        text = text.replace(f'"{answer["points"]}"', str(answer["points"]))
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_transcript(path)
    assert words in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
    assert str(caught.value).startswith(f"{path}:1:")


def test_a_transcript_over_the_limit_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcript_module, "MAX_BYTES", 2000)
    path = tmp_path / "t.json"
    small = Transcript(LUNG, "x.yaml", (("q", ("a",)),))
    save_transcript(path, small)
    assert load_transcript(path) == small
    big = Transcript(LUNG, "x.yaml", tuple((f"q{i}", ("a",)) for i in range(200)))
    with pytest.raises(DataError) as caught:
        save_transcript(path, big)
    assert "cannot save transcript: it would be too large" in str(caught.value)
    assert load_transcript(path) == small  # the old one is left as it was


def test_a_second_run_on_the_same_transcript_refuses(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    with lock_transcript(path):
        result = invoke(["run", LUNG, "--transcript", str(path)], tmp_path, input="1\n")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}: this transcript is in use by another run (by process {os.getpid()}); "
        "wait for it to finish, or choose another --transcript PATH"
    ]
    assert not path.exists()


def test_a_stale_lock_is_taken_over_by_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    (tmp_path / "t.json.lock").write_text("999999999\n", encoding="ascii")
    result = invoke(["run", LUNG, "--transcript", str(path)], tmp_path, input="1\nq\n")
    assert result.exit_code == 0, result.output
    assert path.exists() and not (tmp_path / "t.json.lock").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("restart", [[], ["--restart"]])
def test_a_fifo_or_a_device_as_transcript_is_refused_before_any_question(tmp_path: Path, restart: list[str]) -> None:
    fifo = tmp_path / "t.json"
    os.mkfifo(fifo)
    for path in (fifo, Path(os.devnull)):
        result = invoke(["run", LUNG, "--transcript", str(path), *restart], tmp_path, input="1\n")
        assert result.exit_code == 1
        assert result.output.splitlines() == [
            f"{path}: cannot save transcript: "
            + (
                "it is a named pipe (FIFO), not a regular file"
                if path == fifo
                else "it is a character device, not a regular file"
            )
        ]
    assert Path(os.devnull).is_char_device()


def test_a_folder_that_takes_no_file_is_refused_before_any_question(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    blocker = folder / "sub"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    result = invoke(["run", LUNG, "--transcript", str(blocker / "t.json")], tmp_path, input="1\n")
    assert result.exit_code == 1
    assert "cannot save transcript" in result.output
    assert "Question 1" not in result.output


def test_no_home_folder_is_one_line_naming_the_ways_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    result = CliRunner().invoke(main, ["run", LUNG], input="1\n", env={"NO_COLOR": "1", "XDG_DATA_HOME": None})
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "there is no home folder to keep the user's data in; pass --transcript PATH, or set XDG_DATA_HOME"
    ]


def _as_json_dumps(t: Transcript) -> str:
    return json.dumps(transcript_json(t), indent=2, ensure_ascii=False) + "\n"


def test_the_saved_text_is_json_dumps_of_the_transcript(tmp_path: Path) -> None:
    questions = (("a.q", ("x", "y")), ("b.q", ()), ("c.q", ("z",)))
    t = Transcript("case", "cases/case.yaml", questions, student="Zoë")
    assert transcript_text(t) == _as_json_dumps(t)  # no answers yet
    assert transcript_text(Transcript("case", "f", ())) == _as_json_dumps(Transcript("case", "f", ()))
    answers = [
        AnswerRecord("a.q", ("x", "y"), 0.91, "2026-01-01T00:00:00+00:00", {"hints": 2, "why_not": ["y"], "how": True}),
        AnswerRecord("b.q", (), 1.0, "2026-01-01T00:01:00+00:00"),
        AnswerRecord("c.q", ("z",), 0.0, "2026-01-01T00:02:00+00:00", {"nested": {"deep": [1, {"x": "é"}]}}),
    ]
    for record in answers:
        t = t.with_answer(record)
        assert transcript_text(t) == _as_json_dumps(t)
    t = t.with_answer(AnswerRecord("a.q", ("y",), 0.5, "2026-01-01T00:03:00+00:00"))  # answered again
    assert transcript_text(t) == _as_json_dumps(t)
    path = tmp_path / "t.json"
    save_transcript(path, t)
    assert path.read_text(encoding="utf-8") == _as_json_dumps(t)
    assert load_transcript(path) == t


def test_a_transcript_of_thousands_of_answers_round_trips(tmp_path: Path) -> None:
    questions = tuple((f"s{i}.q", ("a", "b")) for i in range(5000))
    t = Transcript("case", "f", questions)
    for i in range(5000):
        t = t.with_answer(AnswerRecord(f"s{i}.q", ("a",), 1.0, "2026-01-01T00:00:00+00:00"))
        if i % 1000 == 999:
            assert transcript_text(t) == _as_json_dumps(t)
    path = tmp_path / "t.json"
    save_transcript(path, t)
    loaded = load_transcript(path)
    assert len(loaded.answers) == 5000 and loaded == t
    dup = path.read_text(encoding="utf-8").replace('"id": "s4999.q"', '"id": "s0.q"')
    path.write_text(dup, encoding="utf-8")
    with pytest.raises(DataError, match=r"questions\[4999\]: question 's0.q' is listed twice"):
        load_transcript(path)


def test_a_weighted_question_counts_its_weight_in_the_saved_score(tmp_path: Path) -> None:
    questions = (("a.q", ("x", "y")), ("b.q", ("z",)))
    t = Transcript("case", "f", questions, weights=(("b.q", 3),))
    t = t.with_answer(AnswerRecord("a.q", ("x",), 0.5, "2026-01-01T00:00:00+00:00"))
    t = t.with_answer(AnswerRecord("b.q", ("z",), 0.33, "2026-01-01T00:01:00+00:00"))
    assert transcript_json(t)["score"] == {"points": 1.49, "max_points": 4, "answered": 2, "questions": 2}
    assert [q.get("weight") for q in transcript_json(t)["questions"]] == [None, 3]
    assert transcript_text(t) == _as_json_dumps(t)
    path = tmp_path / "t.json"
    save_transcript(path, t)
    assert load_transcript(path) == t and dict(load_transcript(path).weights) == {"b.q": 3}


@pytest.mark.parametrize("weight", [0, 101, 1.5, True, "2"])
def test_a_bad_weight_in_a_transcript_is_one_located_error(tmp_path: Path, weight: object) -> None:
    data = _transcript()
    data["questions"][0]["weight"] = weight  # type: ignore[index]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        load_transcript(path)
    assert "'weight' of questions[0] must be a whole number from 1 to 100" in str(excinfo.value)
    assert excinfo.value.location is not None and excinfo.value.location.line == 1


def test_run_saves_the_weighted_score_of_a_weighted_case(tmp_path: Path) -> None:
    case = "liver-unresectable-alk-positive"
    key = tmp_path / "key.json"
    key.write_text(invoke(["key", case, "--format", "json"], tmp_path).output, encoding="utf-8")
    saved = tmp_path / "t.json"
    result = invoke(["run", case, "--answers", str(key), "--transcript", str(saved)], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(saved.read_text(encoding="utf-8"))
    weights = json.loads(key.read_text(encoding="utf-8"))["weights"]
    assert [(q["id"], q["weight"]) for q in data["questions"] if "weight" in q] == list(weights.items())
    assert data["score"]["max_points"] == len(data["questions"]) + sum(w - 1 for w in weights.values())
    assert data["score"]["points"] == data["score"]["max_points"]  # the key's own answers: full marks
