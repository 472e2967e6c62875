"""The case runner: every bundled case end to end, feedback, transcripts, resume."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from imt_tutor import DISCLAIMER
from imt_tutor import runner as runner_module
from imt_tutor import transcript as transcript_module
from imt_tutor.answers import check_answers, load_answers
from imt_tutor.cases import load_cases
from imt_tutor.cli import console, main
from imt_tutor.cli.console import ClickConsole, colour_allowed
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.errors import DataError
from imt_tutor.files import cases_dir, rules_dir
from imt_tutor.graph import producers
from imt_tutor.loading import load_yaml_file
from imt_tutor.models import Case, RuleBase
from imt_tutor.rulebase import load_rulebase
from imt_tutor.runner import CaseRun, Feedback, Item, PickError, play
from imt_tutor.transcript import Transcript, data_dir, default_transcript_path, load_transcript, save_transcript

BASE = load_rulebase(rules_dir())
CASES = load_cases(cases_dir(), BASE.vocabulary)
CASE_IDS = [c.id for c in CASES]
LUNG = "lung-cough-alk-positive"
DATA = Path(__file__).parent / "data" / "transcripts"


def one_command(text: str) -> str:
    """The resume command as one line: the CLI prints it indented and continued with a backslash."""
    return text.replace("Continue with:\n  ", "Continue with: ").replace(" \\\n    ", " ")


def case_named(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


def new_run(case_id: str, base: RuleBase = BASE) -> CaseRun:
    return CaseRun(base, BuiltinEngine(base), case_named(case_id))


def invoke(args: list[str], tmp_path: Path, input: str | None = None) -> Result:
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1"}
    return CliRunner().invoke(main, args, input=input, env=env)


def key_lines(case_id: str) -> list[str]:
    """One answer line per question: the expected option IDs (or '-')."""
    run = new_run(case_id)
    return [",".join(run.expected(item.qid)) or "-" for item in run.items]


def section_text(feedback: Feedback, title_start: str) -> str:
    return "\n".join("\n".join((s.title, *s.lines)) for s in feedback.sections if s.title.startswith(title_start))


class FakeConsole:
    """A console fed from a list of lines (an exception instance is raised)."""

    def __init__(self, lines: list[Any]) -> None:
        self.lines = list(lines)
        self.out: list[str] = []
        self.prompts: list[str] = []
        self.line_number = 0

    def show(self, text: str = "", tone: str = "plain") -> None:
        self.out.append(text)

    def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        self.out.append(prompt)
        if not self.lines:
            raise EOFError
        line = self.lines.pop(0)
        self.line_number += 1
        if isinstance(line, BaseException):
            raise line
        return str(line)

    @property
    def text(self) -> str:
        return "\n".join(self.out)


# --------------------------------------------------------------------- the key scores full marks


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_the_key_scores_full_marks_in_the_core(case_id: str) -> None:
    run = new_run(case_id)
    assert run.items, "every case asks something"
    for item in run.items:
        feedback = run.answer(item.qid, run.expected(item.qid))
        assert feedback.score.points == 1.0, feedback.text()
        assert feedback.score.deductions == ()
        assert feedback.text().startswith("Score: 1.00 / 1")
        assert "What the rules now conclude:" in "\n".join(run.recap(item.stage_index, force=True))
    total = run.case_score()
    worth = sum(item.question.weight for item in run.items)  # each question's weight, default 1
    assert (total.points, total.max_points, total.percent) == (worth, worth, 100.0)
    assert run.next_item() is None


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_the_key_file_scores_full_marks_through_the_cli(case_id: str, tmp_path: Path) -> None:
    result = invoke(["key", case_id], tmp_path)
    assert result.exit_code == 0, result.output
    key_file = tmp_path / "key.yaml"
    key_file.write_text(result.stdout, encoding="utf-8")
    sheet = load_answers(key_file, BASE.vocabulary)
    check_answers(sheet, case_named(case_id))
    assert sheet.student == "key"

    t = tmp_path / "t.json"
    result = invoke(["run", case_id, "--answers", str(key_file), "--transcript", str(t)], tmp_path)
    assert result.exit_code == 0, result.output
    n = len(new_run(case_id).items)
    worth = sum(item.question.weight for item in new_run(case_id).items)
    assert f"Total: {worth}.00 / {worth}.00 (100.0%)" in result.stdout
    saved = json.loads(t.read_text(encoding="utf-8"))
    assert saved["case"] == case_id
    assert saved["student"] == "key"
    assert saved["disclaimer"] == DISCLAIMER
    assert [a["points"] for a in saved["answers"]] == [1.0] * n
    assert saved["score"] == {"points": worth, "max_points": worth, "answered": n, "questions": n}
    assert all(len(line) <= 80 for line in result.stdout.splitlines() if str(tmp_path) not in line)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_piped_key_lines_score_full_marks(case_id: str, tmp_path: Path) -> None:
    lines = key_lines(case_id)
    result = invoke(["run", case_id, "--transcript", str(tmp_path / "t.json")], tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    worth = sum(item.question.weight for item in new_run(case_id).items)
    assert len(lines) == len(new_run(case_id).items)
    assert f"Total: {worth}.00 / {worth}.00 (100.0%)" in result.stdout
    assert "Your answer (" not in result.output  # no prompts without a terminal


def test_key_yaml_names_the_rules_and_json_has_because(tmp_path: Path) -> None:
    text = invoke(["key", LUNG], tmp_path).stdout
    assert "#   because: mass-needs-biopsy\n  imaging.next-steps: [biopsy]" in text
    assert "TEACHING AID ONLY" in text
    result = invoke(["key", LUNG, "--format", "json"], tmp_path)
    doc = json.loads(result.stdout)
    assert doc["student"] == "key" and doc["case"] == LUNG
    assert doc["answers"]["imaging.next-steps"] == ["biopsy"]
    assert doc["because"]["imaging.next-steps"] == ["mass-needs-biopsy"]
    assert set(doc["answers"]) == set(doc["because"])
    assert doc["disclaimer"] == DISCLAIMER
    # The JSON key is a valid answers file too: it scores full marks.
    key_file = tmp_path / "key.json"
    key_file.write_text(result.stdout, encoding="utf-8")
    graded = invoke(["run", LUNG, "--answers", str(key_file), "--transcript", str(tmp_path / "j.json")], tmp_path)
    assert graded.exit_code == 0, graded.output
    n = len(doc["answers"])
    assert f"Total: {n}.00 / {n}.00 (100.0%)" in graded.stdout


# --------------------------------------------------------------------- wrong answers


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_wrong_next_steps_name_the_rule_that_would_suggest_them(case_id: str) -> None:
    run = new_run(case_id)
    checked = 0
    for item in run.items:
        if item.question.kind != "next_steps":
            continue
        expected = run.expected(item.qid)
        accepted = run.accepted(item.qid)
        for option in accepted:
            assert run.answer(item.qid, [*expected, option]).score.points == 1.0
        for wrong in [o for o in item.question.options if o not in expected and o not in accepted]:
            feedback = run.answer(item.qid, [wrong])
            assert feedback.score.points < 1.0
            assert "Not expected:" in feedback.text()  # one line, by the kind of its gap
            text = "\n".join(run.why_not_command(item.qid, wrong))  # after the answer: the full WHY-NOT
            makers = [r.id for r in BASE.rules if wrong in r.suggest]
            if makers:
                for rule_id in makers:
                    assert rule_id in text, (item.qid, wrong, text)
            else:
                assert "no rule supports this step here" in text
            checked += 1
    assert checked


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_wrong_conclusions_name_the_rules_that_would_conclude_them(case_id: str) -> None:
    run = new_run(case_id)
    for item in run.items:
        if item.question.kind != "conclusion":
            continue
        expected = run.expected(item.qid)
        for wrong in [o for o in item.question.options if o not in expected]:
            run.answer(item.qid, [wrong])
            text = "\n".join(run.why_not_command(item.qid, wrong))
            if run.because(item, wrong):
                assert "IS concluded here" in text
                continue
            makers = [r.id for r in producers(BASE.rules, item.question.key or "", (wrong,))]
            assert makers, "every conclusion value has a rule (rule-base check)"
            for rule_id in makers:
                assert rule_id in text, (item.qid, wrong, text)


def test_missed_and_right_picks_get_one_sentence_and_how_gives_the_chain() -> None:
    run = new_run(LUNG)
    feedback = run.answer("imaging.next-steps", [])
    assert "Missed: Biopsy (-1.00). A definitive diagnosis is usually made through a biopsy" in " ".join(
        feedback.text().split()
    )
    assert "[How are IMTs Diagnosed?]" in " ".join(feedback.text().split())
    assert "mass-needs-biopsy" not in feedback.text()  # rule IDs only with --show-rules
    assert feedback.score.points == 0.0
    how = "\n".join(run.how("imaging.next-steps"))
    assert "imaging-shows-mass" in how and "mass-needs-biopsy" in how
    assert "matched: Imaging finding: Mass" in how
    # the working diagnosis is asked next: the chain does not give it away
    assert "Working diagnosis: (you are asked about it later)" in how
    shown = CaseRun(BASE, BuiltinEngine(BASE), case_named(LUNG), show_rules=True)
    shown_text = " ".join(shown.answer("imaging.next-steps", ["biopsy"]).text().split())
    assert "[mass-needs-biopsy; How are IMTs Diagnosed?]" in shown_text


def test_the_recap_shows_conclusions_once_their_question_is_answered() -> None:
    run = new_run(LUNG)
    before = "\n".join(run.recap(1, force=True))
    assert "Mass under investigation" not in before and "(you are asked about it later)" in before
    run.answer("imaging.working-diagnosis", ["mass_under_investigation"])
    run.answer("imaging.differential", ["imt_vs_malignant_tumour"])
    text = "\n".join(run.recap(1, force=True))
    assert "Working diagnosis: Mass under investigation" in text
    assert "Still in the differential:\n  Open: an IMT or the malignant tumour it can mimic" in text
    assert run.recap(1) == []  # unchanged: not shown again


def test_a_less_specific_option_is_not_shown_before_its_question() -> None:
    """Before "the most specific working diagnosis?", the recap does not say the rules' less specific one."""
    run = new_run("liver-unresectable-alk-positive")
    for item in run.items[:5]:
        run.answer(item.qid, run.expected(item.qid))
    assert run.next_item() is not None and run.next_item().qid == "biopsy-and-stain.working-diagnosis"
    before = "\n".join(run.recap(2, force=True))
    assert "Working diagnosis:" not in before and "Consistent with IMT" not in before
    run.answer("biopsy-and-stain.working-diagnosis", ["alk_rearranged_imt"])
    after = "\n".join(run.recap(2, force=True))
    assert "Working diagnosis: Mass under investigation -> Consistent with IMT -> ALK-rearranged IMT" in after


# --------------------------------------------------------------------- answers and prompt commands


def test_parse_picks_numbers_ids_and_nothing() -> None:
    run = new_run(LUNG)
    qid = "imaging.next-steps"
    assert run.parse_picks(qid, "2") == ("biopsy",)
    assert run.parse_picks(qid, "Biopsy, 8 , nsaids") == ("biopsy", "nsaids")
    assert run.parse_picks(qid, "2 8") == ("biopsy", "nsaids")
    assert run.parse_picks(qid, "") == ()
    assert run.parse_picks(qid, "-") == ()
    with pytest.raises(PickError, match=r"there is no option 42: choose from 1 to 10"):
        run.parse_picks(qid, "42")
    with pytest.raises(PickError, match=r"'biopsi' is not an option here \(did you mean 'biopsy'\?\)"):
        run.parse_picks(qid, "biopsi")


def test_answer_rejects_unknown_questions_and_options() -> None:
    run = new_run(LUNG)
    with pytest.raises(DataError, match=r"unknown question 'imaging\.nope'"):
        run.answer("imaging.nope", [])
    with pytest.raises(DataError, match="'fever' is not an option"):
        run.answer("imaging.next-steps", ["fever"])


def test_why_hint_and_why_not_at_the_prompt() -> None:
    run = new_run(LUNG)
    why = "\n".join(run.why("imaging.next-steps"))
    assert "decides which next steps" in why
    assert "Imaging finding (known)" in why and "Biopsy histology (not known yet)" in why
    hint = run.hint("imaging.next-steps")
    assert hint.startswith("Hint 1 of 3:") and "Imaging finding" in hint
    assert "biopsy" not in hint.lower()
    assert run.hint("imaging.next-steps", 1).startswith("Hint 2 of 3:")
    before = "\n".join(run.why_not_command("presentation.next-steps", "2"))
    assert "'Biopsy' follows when" in before and "IS suggested" not in before
    run.answer("imaging.next-steps", ["biopsy"])
    assert "IS suggested" in "\n".join(run.why_not_command("imaging.next-steps", "biopsy"))
    run.answer("presentation.pattern", ["lung_symptoms"])
    assert "not concluded" in "\n".join(run.why_not_command("presentation.pattern", "abdominal_symptoms"))
    with pytest.raises(PickError, match="not a next step"):
        run.why_not_command("imaging.next-steps", "xray")


def test_the_interactive_loop_asks_again_confirms_nothing_and_handles_commands() -> None:
    run = new_run(LUNG)
    lines = ["help", "why", "hint", "why-not 2", "facts", "42", "biopsi", "", "n", "1", "", "y", "quit"]
    console = FakeConsole(lines)
    saved: list[str] = []
    finished = play(run, console, interactive=True, save=lambda item, fb: saved.append(item.qid))
    assert finished is False
    text = console.text
    assert "TEACHING AID ONLY" in text
    assert "why-not N" in text  # help
    assert "This question decides" in text
    assert "Hint 1 of 3:" in text
    assert "Sorry: there is no option 42: choose from 1 to 10. Please try again" in text
    assert "Sorry: 'biopsi' is not an option here (did you mean 'biopsy'?)" in text
    assert console.prompts.count("Pick nothing? [y/N] ") == 2
    assert saved == ["presentation.next-steps", "presentation.pattern"]
    assert run.answers == {"presentation.next-steps": ("cross_sectional_imaging",), "presentation.pattern": ()}


def test_the_piped_loop_rejects_a_bad_line_with_its_number() -> None:
    run = new_run(LUNG)
    console = FakeConsole(["1", "hint", "fever"])
    with pytest.raises(DataError) as info:
        play(run, console, interactive=False, save=lambda item, fb: None)
    assert str(info.value) == "<stdin>:3:1: 'fever' is not an option here."


def test_keyboard_interrupt_and_eof_propagate_from_the_loop() -> None:
    with pytest.raises(KeyboardInterrupt):
        play(new_run(LUNG), FakeConsole(["1", KeyboardInterrupt()]), interactive=True, save=lambda i, f: None)
    with pytest.raises(EOFError):
        play(new_run(LUNG), FakeConsole(["1"]), interactive=True, save=lambda i, f: None)


def test_stages_show_facts_and_teaching_points() -> None:
    run = new_run(LUNG)
    console = FakeConsole(key_lines(LUNG)[:2])
    with pytest.raises(EOFError):
        play(run, console, interactive=False, save=lambda i, f: None)
    text = console.text
    assert "== Stage 1 of 6: presentation ==" in text
    assert "- Site: Lung  (new)" in text
    assert "Teaching points:" in text
    assert text.index("Teaching points:") > text.index("Question 2 of 13")
    assert "== Stage 2 of 6: imaging ==" in text


# --------------------------------------------------------------------- colour and width


def test_no_color_and_colour() -> None:
    assert colour_allowed({"NO_COLOR": "1"}) is False
    assert colour_allowed({}) is None

    @click.command()
    def show() -> None:
        ClickConsole(color=True).show("hello", "good")
        ClickConsole(color=False).show("plain", "good")

    for color in (True, False):
        out = CliRunner().invoke(show, color=color).output.splitlines()
        assert "\x1b[32m" in out[0]
        assert out[1] == "plain"


def test_run_output_fits_80_columns_and_has_no_colour_in_a_pipe(tmp_path: Path) -> None:
    lines = ["2,8,10", "why", "1,2,3,4", "why-not 5"] + ["-"] * 20
    result = CliRunner().invoke(
        main,
        ["run", LUNG, "--transcript", str(tmp_path / "t.json")],
        input="\n".join(lines) + "\n",
        env={"XDG_DATA_HOME": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output
    # a file path is never broken; every other line fits
    assert max(len(line) for line in result.stdout.splitlines() if str(tmp_path) not in line) <= 80


# --------------------------------------------------------------------- transcripts


def test_transcript_is_written_after_every_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imt_tutor.cli.run as cli

    t = tmp_path / "t.json"
    counts: list[int] = []
    real = cli.save_transcript

    def spy(path: Any, transcript: Transcript) -> None:
        real(path, transcript)
        counts.append(len(json.loads(Path(path).read_text(encoding="utf-8"))["answers"]))

    monkeypatch.setattr(cli, "save_transcript", spy)
    result = invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "1\n3\n2\n")
    assert result.exit_code == 1, result.output  # end of input before the last question
    assert counts == [1, 2, 3]
    saved = load_transcript(t)
    assert [a.question for a in saved.answers] == [
        "presentation.next-steps",
        "presentation.pattern",
        "imaging.next-steps",
    ]
    assert saved.answers[0].picks == ("cross_sectional_imaging",)
    assert saved.answers[0].points == 1.0 and saved.answers[0].picks
    assert saved.case_file.endswith(f"{LUNG}.yaml")
    doc = json.loads(t.read_text(encoding="utf-8"))
    assert doc["version"] and doc["updated_at"] and doc["score"]["answered"] == 3
    assert "End of input before the last question." in result.stderr
    assert f"Continue with: imt-tutor run {LUNG} --resume --transcript {t}" in one_command(result.stderr)
    assert "Traceback" not in result.output


def test_a_crash_while_saving_leaves_the_old_transcript_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = tmp_path / "t.json"
    assert invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "1\n").exit_code == 1
    before = t.read_bytes()

    def boom(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    result = invoke(["run", LUNG, "--resume", "--transcript", str(t)], tmp_path, "3\n")
    assert result.exit_code == 1
    assert f"{t}: cannot save transcript: No space left on device" in result.stderr
    assert f"Your 1 answer so far is saved in {t}" in result.stderr  # the old file, still intact
    assert t.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg") == ["t.json"]  # no temp file left


def test_save_transcript_replaces_atomically(tmp_path: Path) -> None:
    t = tmp_path / "deep" / "t.json"
    run = new_run(LUNG)
    first = Transcript(LUNG, "x.yaml", run.signature())
    save_transcript(t, first)
    assert load_transcript(t).answers == ()
    assert [p.name for p in t.parent.iterdir()] == ["t.json"]


def test_resume_continues_at_the_first_unanswered_question(tmp_path: Path) -> None:
    t = tmp_path / "t.json"
    lines = key_lines(LUNG)
    first = invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "\n".join(lines[:3]) + "\n")
    assert first.exit_code == 1
    result = invoke(["run", LUNG, "--resume", "--transcript", str(t)], tmp_path, "\n".join(lines[3:]) + "\n")
    assert result.exit_code == 0, result.output
    assert "Resuming at question 4 of 13." in result.stdout
    questions = re.findall(r"^Question (\d+) of 13", result.stdout, re.M)
    assert questions[0] == "4" and "1" not in questions
    assert "Total: 13.00 / 13.00 (100.0%)" in result.stdout
    assert len(load_transcript(t).answers) == 13
    again = invoke(["run", LUNG, "--resume", "--transcript", str(t)], tmp_path, "")
    assert again.exit_code == 0
    assert "You have answered every question of this case already." in again.stdout


def test_resume_uses_the_default_transcript_in_the_data_folder(tmp_path: Path) -> None:
    assert invoke(["run", LUNG], tmp_path, "1\n").exit_code == 1
    default = tmp_path / "xdg" / "imt-tutor" / "transcripts" / f"{LUNG}.json"
    assert len(load_transcript(default).answers) == 1
    result = invoke(["run", LUNG, "--resume"], tmp_path, "quit\n")
    assert result.exit_code == 0
    assert "Resuming at question 2 of 13." in result.stdout
    assert f"Continue with: imt-tutor run {LUNG} --resume\n" in one_command(result.stderr)


def test_an_existing_transcript_is_never_overwritten_silently(tmp_path: Path) -> None:
    t = tmp_path / "t.json"
    assert invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "1\n").exit_code == 1
    result = invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "1\n")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{t}: a saved run of a case is already here: continue it with --resume")
    assert invoke(["run", LUNG, "--restart", "--transcript", str(t)], tmp_path, "2\n").exit_code == 1
    assert load_transcript(t).answers[0].picks == ("biopsy",)


def test_resume_refuses_another_case_or_changed_questions(tmp_path: Path) -> None:
    t = tmp_path / "t.json"
    assert invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "1\n").exit_code == 1
    other = CASE_IDS[0] if CASE_IDS[0] != LUNG else CASE_IDS[1]
    result = invoke(["run", other, "--resume", "--transcript", str(t)], tmp_path, "")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{t}: this transcript is for case '{LUNG}', not '{other}'"

    doc = json.loads(t.read_text(encoding="utf-8"))
    doc["questions"][1]["options"] = doc["questions"][1]["options"][:2]
    t.write_text(json.dumps(doc), encoding="utf-8")
    result = invoke(["run", LUNG, "--resume", "--transcript", str(t)], tmp_path, "")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{t}: the questions of case '{LUNG}' have changed since this transcript was saved; start over with --restart"
    )

    result = invoke(["run", LUNG, "--resume", "--transcript", str(tmp_path / "none.json")], tmp_path, "")
    assert result.exit_code == 1
    assert "no saved run to resume here" in result.stderr


CORRUPT = {
    "answers_not_a_list.json": "'answers' must be a list",
    "bad_json.json": "2:23: invalid JSON: Expecting property name enclosed in double quotes",
    "case_not_text.json": "'case' of the transcript must be text",
    "duplicate_key.json": "duplicate key 'format'",
    "empty.json": "transcript is empty",
    "nan_points.json": "invalid JSON: NaN is not allowed",
    "newer_version.json": "transcript format 9 is newer than this imt-tutor reads (1)",
    "not_an_object.json": "not a transcript: expected a JSON object at the top level",
    "not_utf8.json": "transcript is not valid UTF-8 (byte 0xe9)",
    "pick_not_an_option.json": "answers[0]: 'nsaids' is not an option of question 'presentation.next-steps'",
    "points_out_of_range.json": "'points' of answers[0] must be a number from 0 to 1",
    "too_deep.json": "transcript is nested too deeply",
    "truncated.json": "4:1: invalid JSON: Expecting value",
    "unknown_question.json": "answers[0]: unknown question 'presentation.nope'",
    "wrong_format.json": "not a transcript: 'format' must be 'imt-tutor-transcript'",
}


def test_every_corrupt_transcript_file_is_covered() -> None:
    assert sorted(p.name for p in DATA.iterdir()) == sorted(CORRUPT)


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_transcripts_give_one_line_errors(name: str, tmp_path: Path) -> None:
    path = DATA / name
    result = invoke(["run", LUNG, "--resume", "--transcript", str(path)], tmp_path, "")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{path}:")
    assert lines[0].endswith(CORRUPT[name])
    assert "Traceback" not in result.output


# --------------------------------------------------------------------- Ctrl-C, EOF and quit in the CLI


def test_ctrl_c_saves_and_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    real = console.StreamConsole.ask

    def ask(self: console.StreamConsole, prompt: str) -> str:
        if self.line_number == 2:
            raise KeyboardInterrupt
        return real(self, prompt)

    monkeypatch.setattr(console.StreamConsole, "ask", ask)
    t = tmp_path / "t.json"
    result = invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "1\n3\n2\n")
    assert result.exit_code == 130
    assert "Interrupted." in result.stderr
    assert f"Your 2 answers so far are saved in {t}" in result.stderr
    assert "Traceback" not in result.output
    assert len(load_transcript(t).answers) == 2


def test_ctrl_c_before_any_answer_saves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    def ask(self: console.StreamConsole, prompt: str) -> str:
        raise click.Abort

    monkeypatch.setattr(console.StreamConsole, "ask", ask)
    t = tmp_path / "t.json"
    result = invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "1\n")
    assert result.exit_code == 130
    assert "nothing to resume" in result.stderr
    assert not t.exists()


def test_quit_saves_and_says_how_to_resume(tmp_path: Path) -> None:
    t = tmp_path / "t.json"
    result = invoke(["--engine", "builtin", "run", LUNG, "--transcript", str(t)], tmp_path, "1\nquit\n")
    assert result.exit_code == 0
    assert f"Continue with: imt-tutor --engine builtin run {LUNG} --resume --transcript {t}" in one_command(
        result.stderr
    )


def test_a_bad_piped_line_is_an_error_with_its_line_number(tmp_path: Path) -> None:
    t = tmp_path / "t.json"
    result = invoke(["run", LUNG, "--transcript", str(t)], tmp_path, "1\nfacts\nlung_symptom\n")
    assert result.exit_code == 1
    assert "<stdin>:3:1: 'lung_symptom' is not an option here (did you mean 'lung_symptoms'?)" in result.stderr
    assert len(load_transcript(t).answers) == 1


def test_answers_file_with_missing_answers_scores_them_zero(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text(f"student: Ann\ncase: {LUNG}\nanswers:\n  imaging.next-steps: [biopsy]\n", encoding="utf-8")
    result = invoke(["run", LUNG, "--answers", str(answers), "--transcript", str(tmp_path / "t.json")], tmp_path)
    assert result.exit_code == 0, result.output
    assert "(not answered in the answers file: 0 points)" in result.stdout
    assert "Total:" in result.stdout


def test_bad_answers_files_are_located(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text(f"student: Ann\ncase: {LUNG}\nanswers:\n  imaging.next-steps: [biopsi]\n", encoding="utf-8")
    result = invoke(["run", LUNG, "--answers", str(answers)], tmp_path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"{answers}:4:24: 'biopsi' is not an option of question 'imaging.next-steps' (did you mean 'biopsy'?)\n"
    )
    other = CASE_IDS[0] if CASE_IDS[0] != LUNG else CASE_IDS[1]
    answers.write_text(f"student: Ann\ncase: {other}\nanswers: {{}}\n", encoding="utf-8")
    result = invoke(["run", LUNG, "--answers", str(answers)], tmp_path)
    assert result.exit_code == 1
    assert f"{answers}:2:7: this answer file is for case '{other}', not '{LUNG}'" in result.stderr


# --------------------------------------------------------------------- where transcripts live


def test_data_dir_per_platform(tmp_path: Path) -> None:
    home = Path("/home/ann")
    assert data_dir({"XDG_DATA_HOME": "/x"}, "linux", home) == Path("/x/imt-tutor")
    assert data_dir({"XDG_DATA_HOME": "rel"}, "linux", home) == home / ".local/share/imt-tutor"
    assert data_dir({}, "linux", home) == home / ".local/share/imt-tutor"
    assert data_dir({}, "darwin", home) == home / "Library/Application Support/imt-tutor"
    assert data_dir({"LOCALAPPDATA": "C:/L", "APPDATA": "C:/R"}, "win32", home) == Path("C:/L/imt-tutor")
    assert data_dir({"APPDATA": "C:/R"}, "win32", home) == Path("C:/R/imt-tutor")
    assert data_dir({}, "win32", home) == home / "AppData/Local/imt-tutor"
    assert default_transcript_path("c", {"XDG_DATA_HOME": str(tmp_path)}).parent == tmp_path / "imt-tutor/transcripts"


def test_transcript_module_loads_what_it_saves(tmp_path: Path) -> None:
    run = new_run(LUNG)
    feedback = run.answer("presentation.next-steps", ["biopsy"])
    record = transcript_module.AnswerRecord(
        "presentation.next-steps", ("biopsy",), feedback.score.points, transcript_module.now()
    )
    t = Transcript(LUNG, "x.yaml", run.signature(), student="Ann").with_answer(record)
    save_transcript(tmp_path / "t.json", t)
    assert load_transcript(tmp_path / "t.json") == t
    saved = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert set(saved["answers"][0]) == {"question", "picks", "points", "answered_at"}  # data, no rendered text


def test_a_transcript_with_feedback_text_is_still_read(tmp_path: Path) -> None:
    run = new_run(LUNG)
    old = {
        "format": "imt-tutor-transcript",
        "format_version": 1,
        "version": "0.1.0",
        "case": LUNG,
        "case_file": "x.yaml",
        "student": None,
        "started_at": "2026-01-01T00:00:00+00:00",
        "updated_at": "2026-01-01T00:00:00+00:00",
        "questions": [{"id": q, "options": list(o)} for q, o in run.signature()],
        "answers": [
            {
                "question": "presentation.next-steps",
                "picks": ["cross_sectional_imaging"],
                "points": 1.0,
                "feedback": "Score: 1.00 / 1\n  Your answer: Cross-sectional imaging (CT or MRI)",
                "answered_at": "2026-01-01T00:00:01+00:00",
            }
        ],
        "score": {"points": 1.0, "answered": 1, "questions": len(run.signature())},
        "disclaimer": "x",
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    loaded = load_transcript(path)
    assert loaded.answered() == {"presentation.next-steps": ("cross_sectional_imaging",)}


# --------------------------------------------------------------------- terminal lines


def test_terminal_lines_splits_what_is_typed(tmp_path: Path) -> None:
    read, write = os.pipe()
    try:
        os.write(write, b"1,2\r\nbiopsy\nnsa")
        lines = console.TerminalLines(read, poll=0.01)
        assert lines.readline() == "1,2"
        assert lines.readline() == "biopsy"
        os.write(write, "ïds\n".encode())
        assert lines.readline() == "nsaïds"
        os.close(write)
        write = -1
        with pytest.raises(EOFError):
            lines.readline()
    finally:
        os.close(read)
        if write != -1:
            os.close(write)


# --------------------------------------------------------------------- the student's session (issue 9)


class Recorder:
    """A console that records (line, tone) and answers from a list."""

    def __init__(self, answers: list[str] | None = None) -> None:
        self.lines: list[tuple[str, str]] = []
        self.answers = list(answers or [])
        self.line_number = 0

    def show(self, text: str = "", tone: str = "plain") -> None:
        self.lines.append((text, tone))

    def ask(self, prompt: str) -> str:
        if not self.answers:
            raise EOFError
        self.line_number += 1
        return self.answers.pop(0)

    def text(self) -> str:
        return "\n".join(line for line, _ in self.lines)


def _walk_with_key(case_id: str) -> tuple[CaseRun, Recorder, dict[str, int]]:
    """Play a bundled case with its key; note where each question starts in the output."""
    run = new_run(case_id)
    console = Recorder()
    starts: dict[str, int] = {}

    def from_key(item: Item) -> tuple[str, ...]:
        return run.expected(item.qid)

    def save(item: Item, feedback: Feedback) -> None:
        pass

    original = runner_module.show_question

    def marking(run_: CaseRun, item: Item, console_: Recorder, width: int = 80) -> None:
        starts[item.qid] = len(console_.lines)
        original(run_, item, console_, width)

    runner_module.show_question = marking  # type: ignore[assignment]
    try:
        assert play(run, console, interactive=False, save=save, answers=from_key)
    finally:
        runner_module.show_question = original  # type: ignore[assignment]
    return run, console, starts


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_conclusion_is_shown_before_its_question(case_id: str) -> None:
    run, console, starts = _walk_with_key(case_id)
    checked = 0
    answered: set[tuple[str | None, str]] = set()  # values the student has already been asked and told
    for item in run.items:
        if item.question.kind != "conclusion":
            continue
        before = " ".join(
            " ".join(line for line, tone in console.lines[: starts[item.qid]] if tone != "option").split()
        )
        # The source's own sentences (rule explanations, teaching points) may name a concept;
        # what must not appear is the tool stating the conclusion before it is asked.
        for text in [r.explanation for r in BASE.rules] + [p for st in run.case.stages for p in st.teaching_points]:
            before = before.replace(" ".join(text.split()), "")
        for value in run.expected(item.qid):
            if (item.question.key, value) in answered:
                continue
            label = run.label(item, value)
            assert label not in before, (item.qid, label)
            checked += 1
        answered |= {(item.question.key, v) for v in run.expected(item.qid)}
    assert checked or not any(i.question.kind == "conclusion" for i in run.items)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_feedback_on_a_right_answer_is_at_most_8_lines(case_id: str) -> None:
    run = new_run(case_id)
    for item in run.items:
        feedback = run.answer(item.qid, run.expected(item.qid))
        lines = feedback.text().splitlines()
        assert feedback.score.points == 1.0
        assert len(lines) <= 8, (item.qid, feedback.text())


NEVER_BEFORE = ("IS suggested", "IS concluded", "but it is", "have not concluded", "is not suggested")


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_why_not_before_answering_says_what_an_option_needs_not_whether_it_holds(case_id: str) -> None:
    run = new_run(case_id)
    for item in run.items:
        for n in range(1, len(item.question.options) + 1):
            text = "\n".join(run.why_not_command(item.qid, str(n)))
            assert not any(word in text for word in NEVER_BEFORE), (item.qid, text)
            assert "follows when" in text or "No rule ever gives" in text
        run.answer(item.qid, run.expected(item.qid))
        after = "\n".join(run.why_not_command(item.qid, "1"))
        assert after  # after the answer: the full explanation


def test_hints_are_tiered_and_recorded() -> None:
    run = new_run(LUNG)
    qid = "imaging.next-steps"
    hints = [run.hint(qid) for _ in range(4)]
    assert hints[0].startswith("Hint 1 of 3") and "Biopsy" not in hints[0]
    assert hints[1].startswith("Hint 2 of 3") and "How are IMTs Diagnosed?" in hints[1]
    assert hints[2].startswith("Hint 3 of 3") and "1 option expected" in hints[2]
    assert hints[3].startswith("No more hints")
    assert run.help[qid].hints == 4
    feedback = run.answer(qid, ["biopsy"])
    assert feedback.score.points == 1.0  # no penalty unless the case sets one
    assert "hint" in "\n".join(run.review_lines()).lower()


def test_a_less_specific_diagnosis_says_so_and_earns_half() -> None:
    run = new_run(LUNG)
    feedback = run.answer("biopsy.working-diagnosis", ["mass_under_investigation"])
    assert feedback.score.points == 0.5
    assert "true, but less specific than Consistent with IMT" in " ".join(feedback.text().split())


def test_wrong_picks_are_grouped_by_kind_in_one_line() -> None:
    run = new_run(LUNG)
    feedback = run.answer("presentation.next-steps", ["alk_immunohistochemistry", "surgical_resection", "nsaids"])
    text = " ".join(feedback.text().split())
    assert text.count("premature") == 1
    assert "Not expected: ALK immunohistochemistry, Surgical resection, NSAIDs (-0.09 each): premature" in text
    assert "Missed: Cross-sectional imaging (CT or MRI) (-1.00)." in text


def test_yes_no_questions_take_yes_and_no() -> None:
    run = new_run(LUNG)
    item = run.item("imaging.differential")
    assert run.yes_no(item)
    assert run.parse_picks(item.qid, "yes") == ("imt_vs_malignant_tumour",)
    assert run.parse_picks(item.qid, "No") == ()


def test_working_diagnosis_takes_one_answer() -> None:
    run = new_run(LUNG)
    with pytest.raises(PickError, match="one answer"):
        run.parse_picks("imaging.working-diagnosis", "1,2")


@pytest.mark.parametrize("text", ["²", "①", "1" * 5000, "\x1b[2J", "9" * 10])
def test_odd_numbers_are_asked_again(text: str) -> None:
    run = new_run(LUNG)
    with pytest.raises(PickError):
        run.parse_picks("presentation.next-steps", text)


def test_commas_alone_mean_nothing_and_are_confirmed() -> None:
    run = new_run(LUNG)
    item = run.item("presentation.next-steps")
    console = Recorder([",,", "n", ",,", "y"])
    assert runner_module.ask_answer(run, item, console, interactive=True) == ()
    assert console.answers == []


@pytest.mark.parametrize("word", ["quit", "q", "exit"])
def test_q_and_exit_quit(word: str) -> None:
    run = new_run(LUNG)
    console = Recorder([word])
    assert runner_module.ask_answer(run, run.items[0], console, interactive=True) is None


def test_back_changes_the_previous_answer_of_the_stage() -> None:
    run = new_run(LUNG)
    console = Recorder(["2", "back", "1", "general_symptoms,lung_symptoms", "quit"])
    saved: list[str] = []
    assert not play(run, console, interactive=True, save=lambda item, fb: saved.append(item.qid))
    assert run.answers["presentation.next-steps"] == ("cross_sectional_imaging",)
    assert saved == ["presentation.next-steps", "presentation.next-steps", "presentation.pattern"]


def test_the_summary_says_what_to_review() -> None:
    run = new_run(LUNG)
    for item in run.items:
        run.answer(item.qid, run.expected(item.qid))
    run.answer("surgery.recurrence-risk", ["higher"])
    review = "\n".join(run.review_lines())
    assert "surgery.recurrence-risk: you said Higher (complete excision not possible); expected Reduced" in review
    assert "Reread: What are the Treatment Options for IMTs?" in review
    assert "Teaching points of the stages where you lost points:" in review


def test_an_unanswered_question_in_an_answers_file_scores_zero(tmp_path: Path) -> None:
    answers = tmp_path / "one.yaml"
    answers.write_text(
        f"student: s\ncase: {LUNG}\nanswers:\n  presentation.next-steps: [cross_sectional_imaging]\n", encoding="utf-8"
    )
    result = invoke(["run", LUNG, "--answers", str(answers), "--transcript", str(tmp_path / "t.json")], tmp_path)
    assert result.exit_code == 0, result.output
    n = len(new_run(LUNG).items)
    assert f"Total: 1.00 / {n}.00 (" in result.stdout
    summary = invoke(
        ["run", LUNG, "--answers", str(answers), "--transcript", str(tmp_path / "t2.json"), "--summary"], tmp_path
    )
    assert summary.stdout.lstrip().startswith("Scores:"), summary.stdout
    assert "Question 1 of" not in summary.stdout


def test_save_answers_writes_what_grade_reads(tmp_path: Path) -> None:
    out = tmp_path / "mine.yaml"
    result = invoke(
        ["run", LUNG, "--transcript", str(tmp_path / "t.json"), "--student", "A. Student", "--save-answers", str(out)],
        tmp_path,
        "1\nquit\n",
    )
    assert out.exists(), result.output
    data = load_yaml_file(out)
    assert data["student"] == "A. Student" and data["case"] == LUNG
    assert data["answers"] == {"presentation.next-steps": ["cross_sectional_imaging"]}
    again = invoke(["run", LUNG, "--answers", str(out), "--transcript", str(tmp_path / "t2.json")], tmp_path)
    assert again.exit_code == 0, again.output


def test_a_finished_case_says_so_and_how_to_restart(tmp_path: Path) -> None:
    key = invoke(["key", LUNG], tmp_path)
    answers = tmp_path / "k.yaml"
    answers.write_text(key.stdout, encoding="utf-8")
    t = tmp_path / "t.json"
    assert invoke(["run", LUNG, "--answers", str(answers), "--transcript", str(t)], tmp_path).exit_code == 0
    again = invoke(["run", LUNG, "--resume", "--transcript", str(t)], tmp_path, "")
    assert "You have answered every question of this case already." in again.stdout
    assert f"imt-tutor run {LUNG} --restart" in again.stdout


def test_what_if_at_the_prompt_hides_what_is_still_to_be_asked() -> None:
    run = new_run(LUNG)
    before = "\n".join(run.what_if_command("imaging.next-steps", "imaging_finding=no_mass"))
    assert "No tumour located would be concluded" in before
    assert "Biopsy" not in before and "left out" in before  # the next-steps question is open
    run.answer("imaging.next-steps", ["biopsy"])
    after = "\n".join(run.what_if_command("imaging.working-diagnosis", "imaging_finding=no_mass"))
    assert "Biopsy would no longer be suggested" in after
    assert "Mass under investigation" not in after  # asked next
    with pytest.raises(PickError, match="unknown value 'nomass'"):
        run.what_if_command("imaging.next-steps", "imaging_finding=nomass")


# --------------------------------------------------------------------- anything typed at the prompt (hardening)

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as hs  # noqa: E402

_TYPED = (
    hs.text()
    | hs.binary(max_size=64).map(lambda b: b.decode("utf-8", "surrogateescape"))
    | hs.sampled_from(
        ["²", "①", "٣", "9" * 5000, "1," * 3000, "\x00", "\x1b[2J", "why-not ²", "what-if =", "what-if a=b=c"]
    )
    | hs.builds(
        lambda word, text: f"{word} {text}", hs.sampled_from(["why-not", "what-if", "hint", "how", "back"]), hs.text()
    )
)
_LONG = "x" * (10 * 1024 * 1024)


def _qids() -> list[str]:
    run = new_run(LUNG)
    kinds: dict[str, str] = {}
    for item in run.items:
        kinds.setdefault(item.question.kind, item.qid)
    return list(kinds.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TYPED, answered=hs.booleans())
@example(text=_LONG, answered=False)
@example(text="why-not " + _LONG, answered=True)
@example(text="what-if " + _LONG + "=x", answered=False)
def test_anything_typed_is_a_pick_error_a_data_error_or_a_result(text: str, answered: bool) -> None:
    for qid in _qids():
        run = new_run(LUNG)
        if answered:
            run.answer(qid, ())
        for call in (run.parse_picks, run.why_not_command, run.what_if_command):
            try:
                call(qid, text)
            except (PickError, DataError):
                pass
        for interactive in (True, False):
            console = FakeConsole([text])
            try:
                runner_module.ask_answer(run, run.item(qid), console, interactive=interactive)
            except (PickError, DataError, EOFError, runner_module.Back):
                pass
            assert all("\x1b" not in line for line in console.out if "\x1b" in text)
