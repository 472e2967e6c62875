"""Every command of the CLI: exit codes and messages (CliRunner)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from imt_tutor import DISCLAIMER, __version__
from imt_tutor.cases import load_cases
from imt_tutor.cli import main
from imt_tutor.engines import default_engine_name, engine_label
from imt_tutor.files import cases_dir, examples_dir, rules_dir
from imt_tutor.rulebase import load_rulebase

ROOT = Path(__file__).resolve().parent.parent
YAML_DATA = Path(__file__).parent / "data" / "yaml"
LUNG = "lung-cough-alk-positive"
EXAMPLE = str(examples_dir() / "lung-mass.yaml")
COMMANDS = ["infer", "rules", "cases", "run", "key", "check", "vocab", "new-case", "graph", "grade", "export"]


def invoke(args: list[str], input: str | None = None, tmp_path: Path | None = None) -> Result:
    env = {"NO_COLOR": "1"}
    if tmp_path is not None:
        env["XDG_DATA_HOME"] = str(tmp_path)
    return CliRunner().invoke(main, args, input=input, env=env)


# --------------------------------------------------------------------- help and version


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help_has_the_disclaimer_and_an_example(command: list[str]) -> None:
    result = invoke([*command, "--help"])
    assert result.exit_code == 0
    assert DISCLAIMER in result.output
    assert "Example" in result.output
    assert "imt-tutor " in result.output.split("Example", 1)[1]


@pytest.mark.parametrize("command", COMMANDS)
def test_short_help_option(command: str) -> None:
    assert invoke([command, "-h"]).exit_code == 0


def test_version_names_the_engine() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    first = result.output.splitlines()[0]
    assert first == f"imt-tutor {__version__} (engine: {engine_label(default_engine_name())})"
    assert any(name in first for name in ("durable_rules", "builtin evaluator"))
    assert DISCLAIMER in result.output


def test_unknown_command_and_option_are_usage_errors() -> None:
    result = invoke(["diagnose"])
    assert result.exit_code == 2
    assert "No such command 'diagnose'" in result.output
    result = invoke(["infer", "--facts", "site=lung"])
    assert result.exit_code == 2
    assert "No such option" in result.output and "--facts" in result.output


# --------------------------------------------------------------------- infer


def test_infer_explains_with_citations() -> None:
    result = invoke(["infer", EXAMPLE])
    assert result.exit_code == 0, result.output
    assert f"*** {DISCLAIMER}" in result.output.replace("\n    ", " ")
    assert "mass-needs-biopsy  [How are IMTs Diagnosed?]" in result.output
    assert "  - Biopsy  (because: mass-needs-biopsy)" in result.output


def test_infer_unknown_fact_value_is_a_data_error() -> None:
    result = invoke(["infer", "--fact", "site=lungs"])
    assert result.exit_code == 1
    assert result.output.splitlines() == ["--fact site: unknown value 'lungs' for 'site' (did you mean 'lung'?)"]


def test_infer_unknown_fact_key() -> None:
    result = invoke(["infer", "--fact", "sight=lung"])
    assert result.exit_code == 1
    assert "--fact sight: unknown fact 'sight' (did you mean 'site'?)" in result.output


def test_infer_needs_facts() -> None:
    result = invoke(["infer"])
    assert result.exit_code == 2
    assert "Error: nothing to infer from: give FACTS_FILE, '-' or --fact KEY=VALUE" in result.output


def test_infer_unknown_why_not_step_is_a_usage_error() -> None:
    result = invoke(["infer", "--fact", "site=lung", "--why-not", "biopsi"])
    assert result.exit_code == 2
    assert "unknown next step 'biopsi' (did you mean 'biopsy'?)" in result.output


def test_infer_why_not_and_json() -> None:
    result = invoke(
        ["infer", "--fact", "site=lung", "--fact", "symptoms=cough", "--why-not", "biopsy", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["disclaimer"] == DISCLAIMER
    assert [s["id"] for s in doc["suggestions"]] == ["cross_sectional_imaging"]
    assert doc["why_not"][0]["step"] == "biopsy"
    assert doc["why_not"][0]["rules"][0]["rule"] == "mass-needs-biopsy"


def test_infer_reads_standard_input() -> None:
    result = invoke(["infer", "-"], input="site: abdomen\nsymptoms: [bloating]\n")
    assert result.exit_code == 0, result.output
    assert "abdominal-site-digestive-symptoms" in result.output


def test_infer_bad_yaml_is_located() -> None:
    path = str(YAML_DATA / "syntax_error.yaml")
    result = invoke(["infer", path])
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}:3:5: invalid YAML:")
    assert "Traceback" not in result.output


def test_infer_missing_file() -> None:
    result = invoke(["infer", "/no/such/facts.yaml"])
    assert result.exit_code == 1
    assert result.output.strip() == "/no/such/facts.yaml: cannot read file: No such file or directory"


def test_builtin_engine_option() -> None:
    result = invoke(["--engine", "builtin", "infer", EXAMPLE])
    assert result.exit_code == 0
    assert "engine: builtin evaluator" in result.output
    assert invoke(["--engine", "prolog", "infer", EXAMPLE]).exit_code == 2


# --------------------------------------------------------------------- rules


def test_rules_lists_every_rule() -> None:
    base = load_rulebase(rules_dir())
    result = invoke(["rules"])
    assert result.exit_code == 0
    assert f"{len(base.rules)} rules" in result.output
    for rule in base.rules:
        assert rule.id in result.output


def test_rules_shows_one_rule() -> None:
    result = invoke(["rules", "mass-needs-biopsy"])
    assert result.exit_code == 0
    assert "mass-needs-biopsy  [How are IMTs Diagnosed?]" in result.output
    assert "  suggests: Biopsy" in result.output


def test_rules_unknown_rule_is_a_usage_error() -> None:
    result = invoke(["rules", "mass-need-biopsy"])
    assert result.exit_code == 2
    assert "no rule 'mass-need-biopsy' (did you mean 'mass-needs-biopsy'?)" in result.output


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_rules_formats(fmt: str) -> None:
    result = invoke(["rules", "--format", fmt])
    assert result.exit_code == 0
    if fmt == "json":
        assert json.loads(result.output)["disclaimer"] == DISCLAIMER
    else:
        assert result.output.startswith(f"_{DISCLAIMER}_")


def test_missing_rules_folder(tmp_path: Path) -> None:
    result = invoke(["--rules-dir", str(tmp_path / "none"), "rules"])
    assert result.exit_code == 1
    assert result.output.strip() == f"{tmp_path / 'none'}: rules folder not found"


def test_broken_rules_folder_is_located(tmp_path: Path) -> None:
    shutil.copytree(rules_dir(), tmp_path / "rules")
    (tmp_path / "rules" / "extra.yaml").write_text("rules:\n  - id: Bad_Id\n", encoding="utf-8")
    result = invoke(["--rules-dir", str(tmp_path / "rules"), "rules"])
    assert result.exit_code == 1
    assert str(tmp_path / "rules" / "extra.yaml") + ":" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------- cases


def test_cases_lists_every_case() -> None:
    vocab = load_rulebase(rules_dir()).vocabulary
    cases = load_cases(cases_dir(), vocab)
    result = invoke(["cases"])
    assert result.exit_code == 0
    assert DISCLAIMER.split(" - ")[0] in result.output
    for case in cases:
        assert f"{case.id}  ({len(case.stages)} stages)" in result.output
        assert f"  {case.title}" in result.output


def test_cases_json() -> None:
    result = invoke(["cases", "--format", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    lung = next(c for c in doc["cases"] if c["id"] == LUNG)
    case = next(c for c in load_cases(cases_dir(), load_rulebase(rules_dir()).vocabulary) if c.id == LUNG)
    assert lung["stages"] == len(case.stages) and lung["questions"] == sum(len(s.questions) for s in case.stages)
    assert lung["title"] and lung["teaser"] and "summary" not in lung
    assert doc["disclaimer"] == DISCLAIMER


def test_cases_dir_option(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    shutil.copy(cases_dir() / f"{LUNG}.yaml", tmp_path / "c")
    result = invoke(["cases", "--format", "json", "--cases-dir", str(tmp_path / "c")])
    assert result.exit_code == 0
    assert [c["id"] for c in json.loads(result.output)["cases"]] == [LUNG]


def test_cases_missing_folder_and_bad_case(tmp_path: Path) -> None:
    result = invoke(["cases", "--cases-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.output.strip() == f"{tmp_path / 'none'}: cases folder not found"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("id: x\ntitle: X\n", encoding="utf-8")
    result = invoke(["cases", "--cases-dir", str(bad)])
    assert result.exit_code == 1
    # The good cases are listed (none here); the bad file is reported on standard error.
    assert "0 fictional cases" in result.stdout
    assert result.stderr.startswith(f"{bad / 'x.yaml'}:")
    assert "Traceback" not in result.output


def test_cases_bad_format_is_a_usage_error() -> None:
    assert invoke(["cases", "--format", "yaml"]).exit_code == 2


# --------------------------------------------------------------------- run and key


def test_run_unknown_case() -> None:
    result = invoke(["run", "lung-cough"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"{cases_dir()}: unknown case 'lung-cough' (did you mean '{LUNG}'?); 'imt-tutor cases' lists them"
    )


def test_key_unknown_case() -> None:
    result = invoke(["key", "nope"])
    assert result.exit_code == 1
    assert result.output.startswith(f"{cases_dir()}: unknown case 'nope'")


def test_run_and_key_accept_a_case_file(tmp_path: Path) -> None:
    path = str(cases_dir() / f"{LUNG}.yaml")
    key = invoke(["key", path])
    assert key.exit_code == 0
    answers = tmp_path / "k.yaml"
    answers.write_text(key.output, encoding="utf-8")
    result = invoke(["run", path, "--answers", str(answers), "--transcript", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.output
    assert re.search(r"^Total: (\d+\.00) / \1 \(100\.0%\)$", result.output, re.MULTILINE), result.output


def test_run_with_cases_dir(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    shutil.copy(cases_dir() / f"{LUNG}.yaml", tmp_path / "c")
    result = invoke(
        ["run", LUNG, "--cases-dir", str(tmp_path / "c"), "--transcript", str(tmp_path / "t.json")],
        input="quit\n",
        tmp_path=tmp_path,
    )
    assert result.exit_code == 0
    assert "Case: A cough that would not settle" in result.output


def test_run_usage_errors(tmp_path: Path) -> None:
    result = invoke(["run", LUNG, "--resume", "--restart"])
    assert result.exit_code == 2
    assert "Error: --resume and --restart exclude each other" in result.output
    result = invoke(["run", LUNG, "--resume", "--answers", "a.yaml"])
    assert result.exit_code == 2
    assert "--resume continues at the prompt or from standard input" in result.output
    assert invoke(["run"]).exit_code == 2
    assert invoke(["key"]).exit_code == 2


def test_run_bad_answers_file(tmp_path: Path) -> None:
    path = str(YAML_DATA / "python_tag.yaml")
    result = invoke(["run", LUNG, "--answers", path], tmp_path=tmp_path)
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}:")
    assert "Traceback" not in result.output
    result = invoke(["run", LUNG, "--answers", str(tmp_path / "none.yaml")], tmp_path=tmp_path)
    assert result.exit_code == 1
    assert "none.yaml: cannot read file: No such file or directory" in result.output


def test_key_bad_format_is_a_usage_error() -> None:
    result = invoke(["key", LUNG, "--format", "xml"])
    assert result.exit_code == 2
    assert "'xml' is not one of 'yaml', 'json'" in result.output


def test_key_yaml_is_commented_and_starts_with_the_disclaimer() -> None:
    result = invoke(["key", LUNG])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"# Answer key of case '{LUNG}'")
    assert f"# {DISCLAIMER}" in lines
    assert "student: key" in lines and f"case: {LUNG}" in lines
    as_json = json.loads(invoke(["key", LUNG, "--format", "json"]).output)
    assert yaml.safe_load(result.output)["answers"] == as_json["answers"]
    for i, line in enumerate(lines):  # an empty answer says why nothing is expected
        if line.endswith(": []"):
            assert any("nothing expected" in above for above in lines[i - 3 : i]), lines[i - 3 : i + 1]


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "imt_tutor", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"imt-tutor {__version__} (engine: ")


HOSTILE_YAML = sorted((Path(__file__).parent / "data" / "yaml").glob("*.yaml"))


@pytest.mark.parametrize("path", HOSTILE_YAML, ids=lambda p: p.name)
def test_every_hostile_yaml_file_is_one_line_exit_1(path: Path) -> None:
    result = invoke(["infer", str(path)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: \S", lines[0]), lines[0]
    assert "Traceback" not in result.output


def test_run_answers_file_reports_question_and_pick_problems_together(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text(
        f"student: s\ncase: {LUNG}\nanswers:\n"
        "  presentation.next-step: [cross_sectional_imaging]\n"
        "  imaging.next-steps: [biopsi]\n",
        encoding="utf-8",
    )
    result = invoke(["run", LUNG, "--answers", str(answers), "--transcript", str(tmp_path / "t.json")])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{answers}:4:3: unknown question 'presentation.next-step' in case '{LUNG}' "
        "(did you mean 'presentation.next-steps'?)",
        f"{answers}:5:24: 'biopsi' is not an option of question 'imaging.next-steps' (did you mean 'biopsy'?)",
    ]


# --------------------------------------------------------------------- what the rules must never teach
# Regression tests of the clinician-teacher's review, through 'infer --format json'.

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"
DIAGNOSED = [f"histology={IMT}", "alk_ihc=positive"]


def infer_doc(facts: list[str], engine: str = "auto") -> dict:
    args = ["--engine", engine, "infer", "--format", "json"]
    for fact in facts:
        args += ["--fact", fact]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def concluded(doc: dict) -> set[tuple[str, str]]:
    return {(c["key"], c["value"]) for c in doc["conclusions"]}


def suggested(doc: dict) -> list[str]:
    return [s["id"] for s in doc["suggestions"]]


ENGINES = ["builtin", *(["durable_rules"] if default_engine_name() == "durable_rules" else [])]


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_no_prognosis_or_recurrence_risk_without_a_diagnosis(engine_name: str) -> None:
    doc = infer_doc(["excision=complete"], engine_name)
    assert not {k for k, _ in concluded(doc)} & {"prognosis", "recurrence_risk"}
    diagnosed = infer_doc([*DIAGNOSED, "excision=complete"], engine_name)
    assert {("prognosis", "generally_favourable"), ("recurrence_risk", "reduced")} <= concluded(diagnosed)


@pytest.mark.parametrize("finding", ["metastasis=present", "recurrence=present"])
def test_no_favourable_outlook_next_to_a_metastasis_or_a_recurrence(engine_name: str, finding: str) -> None:
    doc = infer_doc([*DIAGNOSED, "excision=complete", finding], engine_name)
    keys = {k for k, _ in concluded(doc)}
    assert "prognosis" not in keys
    assert ("recurrence_risk", "reduced") not in concluded(doc)


def test_a_recurrence_brings_the_options_for_recurrent_tumours(engine_name: str) -> None:
    doc = infer_doc([*DIAGNOSED, "excision=complete", "recurrence=present"], engine_name)
    assert ("treatment_context", "recurrent_tumour") in concluded(doc)
    assert {"corticosteroids", "nsaids", "targeted_therapy", "alk_inhibitor", "follow_up_monitoring"} <= set(
        suggested(doc)
    )


def test_unresectable_tumours_recur_more_often(engine_name: str) -> None:
    doc = infer_doc([*DIAGNOSED, "resectability=unresectable"], engine_name)
    assert ("recurrence_risk", "higher") in concluded(doc)
    assert "surgical_resection" not in suggested(doc)


def test_no_mass_is_not_a_diagnosis_to_reconsider(engine_name: str) -> None:
    doc = infer_doc(["site=lung", "symptoms=cough", "imaging=ct", "imaging_finding=no_mass"], engine_name)
    assert suggested(doc) == []
    assert ("imaging_result", "no_tumour_located") in concluded(doc)
    assert ("symptom_pattern", "lung_symptoms") in concluded(doc)
    labels = {v.label for c in load_rulebase(rules_dir()).vocabulary.conclusions for v in c.values}
    assert "Symptoms that a lung IMT may cause" in labels  # the document's way round: not a tumour from symptoms


def test_reconsider_the_diagnosis_only_after_a_metastasis(engine_name: str) -> None:
    doc = infer_doc([*DIAGNOSED, "excision=complete", "metastasis=present"], engine_name)
    assert "reconsider_diagnosis" in suggested(doc)
    assert ("behaviour", "atypical_for_imt") in concluded(doc)


def test_fever_alone_is_not_imaged(engine_name: str) -> None:
    assert "cross_sectional_imaging" not in suggested(infer_doc(["symptoms=fever"], engine_name))
    for localising in (["symptoms=fever", "site=pelvis"], ["symptoms=swelling"], ["site=lung", "symptoms=cough"]):
        assert suggested(infer_doc(localising, engine_name)) == ["cross_sectional_imaging"], localising


def test_surgery_is_suggested_for_a_diagnosed_imt_unless_it_is_not_feasible(engine_name: str) -> None:
    assert "surgical_resection" in suggested(infer_doc([f"histology={IMT}"], engine_name))
    assert "surgical_resection" in suggested(infer_doc([*DIAGNOSED, "resectability=resectable"], engine_name))


def test_ros1_pdgfrb_are_a_possibility_not_a_test(engine_name: str) -> None:
    doc = infer_doc([f"histology={IMT}", "alk_ihc=negative"], engine_name)
    assert ("molecular_profile", "ros1_or_pdgfrb_possible") in concluded(doc)
    assert ("working_diagnosis", "alk_negative_imt") in concluded(doc)
    found = infer_doc([f"histology={IMT}", "alk_ihc=negative", "ros1=rearranged"], engine_name)
    assert ("molecular_profile", "ros1_or_pdgfrb_alteration") in concluded(found)
    assert ("molecular_profile", "ros1_or_pdgfrb_possible") not in concluded(found)


def test_targeted_therapy_beyond_alk(engine_name: str) -> None:
    doc = infer_doc([f"histology={IMT}", "alk_ihc=negative", "resectability=unresectable"], engine_name)
    assert "targeted_therapy" in suggested(doc)
    assert "alk_inhibitor" not in suggested(doc)


@pytest.mark.parametrize("site", ["liver", "retroperitoneum", "abdomen"])
def test_abdominal_organs_with_abdominal_symptoms_are_imaged(engine_name: str, site: str) -> None:
    doc = infer_doc([f"site={site}", "symptoms=bloating"], engine_name)
    assert suggested(doc) == ["cross_sectional_imaging"]
    pelvis = infer_doc(["site=pelvis", "symptoms=abdominal_pain"], engine_name)
    assert suggested(pelvis) == ["cross_sectional_imaging"]


def test_a_resectable_recurrence_accepts_re_resection(engine_name: str) -> None:
    doc = infer_doc([*DIAGNOSED, "excision=complete", "recurrence=present", "resectability=resectable"], engine_name)
    assert [a["id"] for a in doc["accepted"]] == ["surgical_resection"]
    assert doc["accepted"][0]["because"] == ["re-resection-accepted"]
    assert "surgical_resection" not in suggested(doc)


@pytest.mark.parametrize(
    ("facts", "contradiction"),
    [
        (["presentation=incidental", "symptoms=cough"], "incidental-with-symptoms"),
        (["imaging_finding=no_mass", f"histology={IMT}"], "tissue-without-a-mass"),
        (["recurrence=present"], "recurrence-before-excision"),
        (["resectability=unresectable", "excision=complete"], "unresectable-yet-removed"),
    ],
)
def test_contradictory_facts_are_warned_about(facts: list[str], contradiction: str) -> None:
    doc = infer_doc(facts)
    assert [w["id"] for w in doc["warnings"]] == [contradiction]
    args = ["infer"]
    for fact in facts:
        args += ["--fact", fact]
    text = invoke(args)
    assert text.exit_code == 0
    assert "Warning: these facts contradict each other:" in text.output
    assert infer_doc(["site=lung"])["warnings"] == []


def test_after_a_metastasis_only_reconsidering_is_suggested(engine_name: str) -> None:
    doc = infer_doc([*DIAGNOSED, "metastasis=present", "resectability=unresectable"], engine_name)
    assert suggested(doc) == ["reconsider_diagnosis"]
    assert ("treatment_context", "surgery_not_feasible") not in concluded(doc)


# --------------------------------------------------------------------- the group: lazy commands, one error boundary


def test_the_group_spells_the_engine_choices_of_the_engines() -> None:
    from imt_tutor import cli
    from imt_tutor.engines import ENGINE_CHOICES

    assert cli.ENGINE_CHOICES == ENGINE_CHOICES


@pytest.mark.parametrize("limit", [20, 45, 69, 94, 200])
def test_the_short_help_kept_by_the_group_is_each_commands_own(limit: int) -> None:
    import click

    from imt_tutor.cli import COMMANDS

    for name, lazy in COMMANDS.items():
        command = lazy.load()
        assert command.name == name
        assert click.Command(name, help=lazy.short_help).get_short_help_str(limit) == command.get_short_help_str(limit)


def test_group_help_lists_every_command() -> None:
    from imt_tutor.cli import COMMANDS as LAZY

    assert sorted(LAZY) == sorted(COMMANDS)
    result = invoke(["--help"])
    commands = result.output.split("Commands:", 1)[1].splitlines()
    assert [line.split()[0] for line in commands if line.strip()] == sorted(COMMANDS)


def test_library_messages_name_no_command_line_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from imt_tutor.cases import find_case
    from imt_tutor.engines import builtin, durable, make_engine
    from imt_tutor.errors import DataError, ImtTutorError
    from imt_tutor.explain import why_not
    from imt_tutor.models import Facts
    from imt_tutor.vocabulary import parse_fact_options

    base = load_rulebase(rules_dir())
    errors: list[ImtTutorError] = []
    for call in (
        lambda: find_case("nope", cases_dir(), base.vocabulary),
        lambda: why_not(base, builtin.BuiltinEngine(base).infer(Facts()), "biopsi"),
        lambda: parse_fact_options(base.vocabulary, ["site=lungs", "sight=lung", "x"]),
    ):
        with pytest.raises(DataError) as excinfo:
            call()
        errors.append(excinfo.value)
    monkeypatch.setattr(durable, "available", lambda: False)
    with pytest.raises(ImtTutorError) as unavailable:
        make_engine(base, "durable_rules")
    errors.append(unavailable.value)
    for error in errors:
        assert "--" not in str(error) and "imt-tutor" not in str(error), str(error)


def test_unavailable_durable_rules_gets_the_command_line_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from imt_tutor.engines import durable

    monkeypatch.setattr(durable, "available", lambda: False)
    result = invoke(["--engine", "durable_rules", "infer", "--fact", "site=lung"])
    assert result.exit_code == 1
    assert result.output.splitlines() == ["durable_rules is not available on this Python; use --engine builtin"]


def test_every_problem_is_one_line_with_its_hint() -> None:
    from imt_tutor.cli import error_lines
    from imt_tutor.errors import DataError, DataErrors, EngineError, Location

    errors = DataErrors(
        [DataError("unknown case 'x'", Location("cases"), code="unknown-case"), DataError("bad", Location("f", 2, 3))]
    )
    assert error_lines(errors) == ["cases: unknown case 'x'; 'imt-tutor cases' lists them", "f:2:3: bad"]
    assert error_lines(EngineError("boom")) == ["boom"]


def test_at_most_100_problems_per_file_are_shown_then_how_many_more() -> None:
    from imt_tutor.cli import MAX_PROBLEMS_PER_FILE, error_lines
    from imt_tutor.errors import DataError, DataErrors, Location

    assert MAX_PROBLEMS_PER_FILE == 100
    many = [DataError(f"bad {i}", Location("a.yaml", i + 1, 1)) for i in range(250)]
    # Collected out of file order: b's problems sit between a's.
    errors = DataErrors([*many[:50], DataError("b1", Location("b.yaml", 1, 1)), *many[50:], DataError("x")])
    lines = error_lines(errors)
    assert lines[:50] == [f"a.yaml:{i + 1}:1: bad {i}" for i in range(50)]
    assert lines[50] == "b.yaml:1:1: b1"
    assert lines[51:101] == [f"a.yaml:{i + 1}:1: bad {i}" for i in range(50, 100)]
    assert lines[101:] == ["a.yaml: ... and 150 more problems in this file", "x"]
    one_more = error_lines(DataErrors(many[:101]))
    assert len(one_more) == 101 and one_more[-1] == "a.yaml: ... and 1 more problem in this file"
    assert len(error_lines(DataErrors(many[:100]))) == 100


def test_a_command_runs_the_garbage_collector_less_often() -> None:
    import gc

    from imt_tutor.cli import GC_THRESHOLDS

    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        assert invoke(["--version"]).exit_code == 0
        assert gc.get_threshold() == GC_THRESHOLDS
        gc.set_threshold(500_000, 10, 10)  # a host's own choice is kept
        assert invoke(["--version"]).exit_code == 0
        assert gc.get_threshold() == (500_000, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_run_rejects_a_large_answers_file_in_at_most_100_lines(tmp_path: Path) -> None:
    picks = "\n".join(f"    - biopsyy{i}" for i in range(3000))
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        f"student: student-07\ncase: {LUNG}\nanswers:\n  presentation.next-steps:\n{picks}\n", encoding="utf-8"
    )
    result = invoke(
        ["--engine", "builtin", "run", LUNG, "--answers", str(answers), "--transcript", str(tmp_path / "t.json")]
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 101, lines[:3]
    assert all("is not an option of question 'presentation.next-steps'" in line for line in lines[:100])
    assert lines[100] == f"{answers}: ... and 2,900 more problems in this file"


def test_grade_shows_at_most_100_problems_per_file(tmp_path: Path) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    picks = "\n".join(f"    - biopsyy{i}" for i in range(150))
    bad = folder / "bad.yaml"
    bad.write_text(f"student: s1\ncase: {LUNG}\nanswers:\n  presentation.next-steps:\n{picks}\n", encoding="utf-8")
    result = invoke(["--engine", "builtin", "grade", str(folder), "--out", str(tmp_path / "g.csv")])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "bad.yaml" in line]
    assert len(lines) == 101, lines[:3]
    assert lines[-1] == f"{bad}: ... and 50 more problems in this file"


class Recording:
    """The builtin engine, recording whether it was closed."""

    closed = 0
    fail = False

    def __init__(self, base: object) -> None:
        from imt_tutor.engines.builtin import BuiltinEngine

        self.inner = BuiltinEngine(base)  # type: ignore[arg-type]
        self.name = self.inner.name

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def infer(self, facts: object) -> object:
        from imt_tutor.errors import EngineError

        if Recording.fail:
            raise EngineError("the engine failed")
        return self.inner.infer(facts)  # type: ignore[arg-type]

    def close(self) -> None:
        Recording.closed += 1


@pytest.mark.parametrize("fail", [False, True])
def test_the_engine_is_closed_with_the_command(monkeypatch: pytest.MonkeyPatch, fail: bool) -> None:
    from imt_tutor.cli import common

    monkeypatch.setattr(common, "make_engine", lambda base, choice: Recording(base))
    monkeypatch.setattr(Recording, "closed", 0)
    monkeypatch.setattr(Recording, "fail", fail)
    result = invoke(["infer", "--fact", "site=lung"])
    assert Recording.closed == 1
    if fail:
        assert result.exit_code == 1
        assert result.output.splitlines() == ["the engine failed"]
    else:
        assert result.exit_code == 0, result.output
    key = invoke(["key", LUNG])
    assert Recording.closed == 2
    assert key.exit_code == (1 if fail else 0)


def test_an_error_class_brings_its_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from imt_tutor.cli import common
    from imt_tutor.errors import ImtTutorError

    class Odd(ImtTutorError):
        exit_code = 3

    def boom(path: object) -> None:
        raise Odd("odd")

    monkeypatch.setattr(common, "load_rulebase", boom)
    result = invoke(["rules"])
    assert (result.exit_code, result.output) == (3, "odd\n")


def test_ctrl_c_in_any_command_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    from imt_tutor.cli import common

    def interrupted(path: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(common, "load_rulebase", interrupted)
    result = invoke(["cases"])
    assert result.exit_code == 130
    assert result.output == "\nInterrupted.\n"


def test_a_closed_pipe_ends_quietly() -> None:
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # nobody reads: the first write fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "imt_tutor", "rules", "--format", "json"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )
    finally:
        os.close(write)
    assert result.returncode == 1
    assert result.stderr == ""


# --------------------------------------------------------------------- rules --by-section


def test_rules_by_section_shows_each_section_with_its_facts_and_rules() -> None:
    from imt_tutor.fidelity import fidelity_path, load_fidelity

    base = load_rulebase(rules_dir())
    table = load_fidelity(fidelity_path(rules_dir()), base)
    result = invoke(["rules", "--by-section"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"*** {DISCLAIMER[:40]}")
    assert max(len(line) for line in lines) <= 80
    flat = " ".join(line.strip() for line in lines)
    for section in base.vocabulary.sections:
        assert section in lines
    for row in table.rows:
        assert f"[{row.id}]" in flat
        if row.encoded:
            assert f"rules: {', '.join(row.rules)}" in flat
        else:
            assert " ".join(str(row.not_encoded).split()) in flat
    assert ("  Not encoded by the rules:" in lines) == bool(table.not_encoded)


def test_rules_by_section_json() -> None:
    result = invoke(["rules", "--by-section", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["disclaimer"] == DISCLAIMER
    assert [s["section"] for s in doc["sections"]] == list(load_rulebase(rules_dir()).vocabulary.sections)
    rows = [row for s in doc["sections"] for row in s["facts"]]
    assert all(("rules" in row) != ("not_encoded" in row) for row in rows)


def test_rules_by_section_usage_errors() -> None:
    assert invoke(["rules", "--by-section", "mass-needs-biopsy"]).exit_code == 2
    assert invoke(["rules", "--by-section", "--format", "markdown"]).exit_code == 2


def test_rules_by_section_without_a_fidelity_table(tmp_path: Path) -> None:
    shutil.copytree(rules_dir(), tmp_path / "rules")
    (tmp_path / "rules" / "fidelity.yaml").unlink()
    result = invoke(["--rules-dir", str(tmp_path / "rules"), "rules", "--by-section"])
    assert result.exit_code == 1
    assert result.output.startswith(f"{tmp_path / 'rules' / 'fidelity.yaml'}: cannot read file")


def test_cases_show_a_teaser_and_the_instructor_the_summary() -> None:
    student = invoke(["cases"])
    instructor = invoke(["cases", "--instructor"])
    assert student.exit_code == instructor.exit_code == 0
    flat = " ".join(student.output.split())
    assert "A fictional primary-school teacher has had a cough for weeks" in flat
    assert "completely removed" not in flat  # no outcome before the case is worked
    assert "completely removed" in " ".join(instructor.output.split())
    doc = json.loads(invoke(["cases", "--instructor", "--format", "json"]).output)
    assert all(c["summary"] and c["teaser"] for c in doc["cases"])


# --------------------------------------------------------------------- control characters from files

HOSTILE_SCALARS = ["\\e]0;title\\a", "\\e[2J", "a\\bb", "\\u202eabc", "\\x9b2J", "\\x7f"]


@pytest.mark.parametrize("scalar", HOSTILE_SCALARS)
def test_a_control_sequence_in_a_rule_file_is_one_line_and_never_reaches_the_terminal(
    tmp_path: Path, scalar: str
) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(rules_dir(), folder)
    (folder / "hostile.yaml").write_text(
        f"rules:\n  - id: hostile\n    when: {{site: lung}}\n    then: {{suggest: [biopsy]}}\n"
        f'    explanation: "{scalar}"\n    source: "How are IMTs Diagnosed?"\n',
        encoding="utf-8",
    )
    result = invoke(["--rules-dir", str(folder), "rules"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1
    assert re.match(rf"{re.escape(str(folder / 'hostile.yaml'))}:5:\d+: invalid character U\+", lines[0])
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", result.output)


def test_a_fact_key_holding_a_newline_is_echoed_escaped(tmp_path: Path) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text('"site\\n\\x1b": lung\n', encoding="utf-8")
    result = invoke(["infer", str(facts)])
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    facts.write_text('"site\\n\\t": lung\n', encoding="utf-8")
    result = invoke(["infer", str(facts)])
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1, result.output
    assert "site\\n\\t" in result.output


# --------------------------------------------------------------------- streams that are closed or cannot be written

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402


def run_script(args: list[str], tmp_path: Path, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """The CLI in a child process (``python -m imt_tutor``), data in ``tmp_path``; output captured
    unless ``stdout``/``stderr`` say otherwise."""
    env = {**os.environ, "NO_COLOR": "1", "XDG_DATA_HOME": str(tmp_path), **kwargs.pop("env", {})}
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "imt_tutor", *args], env=env, timeout=120, check=False, **kwargs)


@pytest.mark.parametrize("args", [["run", LUNG], ["infer", "-"]])
def test_a_closed_standard_input_is_one_line(tmp_path: Path, args: list[str]) -> None:
    result = run_script(args, tmp_path, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    assert result.returncode == 1
    errors = result.stderr.decode().splitlines()
    assert errors == ["standard input is closed; give the input another way, or run from a terminal"], errors


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("args", [["rules"], ["cases"], ["key", LUNG]])
def test_a_full_disk_on_standard_output_is_one_line_and_exit_1(tmp_path: Path, args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = run_script(args, tmp_path, stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == ["cannot write the output: No space left on device"]


def test_a_closed_standard_output_exits_non_zero_with_a_message(tmp_path: Path) -> None:
    result = run_script(["rules"], tmp_path, stdout=None, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1))
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == ["imt-tutor: standard output is closed; nothing could be shown"]


def test_an_encoding_that_cannot_show_a_character_replaces_it(tmp_path: Path) -> None:
    result = run_script(["cases"], tmp_path, env={"PYTHONIOENCODING": "latin-1"})
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr and result.stderr == b""
    assert b"?" in result.stdout
    result = run_script(["infer", "--fact", "site=lung\u2028"], tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert b"Traceback" not in result.stderr


def test_a_broken_pipe_stays_quiet(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "XDG_DATA_HOME": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-m", "imt_tutor", "graph"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.read(10)
    child.stdout.close()
    errors = child.stderr.read()
    child.wait(timeout=120)
    assert errors == b""


# --------------------------------------------------------------------- regular files only


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize(
    "args",
    [
        ["--rules-dir", "{rules}", "rules"],
        ["--rules-dir", "{rules}", "cases"],
        ["--rules-dir", "{rules}", "check"],
        ["cases", "--cases-dir", "{cases}"],
        ["check", "--cases-dir", "{cases}"],
        ["check", "{rules}", "{cases}"],
        ["key", LUNG, "--cases-dir", "{cases}"],
    ],
)
def test_a_fifo_in_a_rules_or_cases_folder_is_reported_never_opened(tmp_path: Path, args: list[str]) -> None:
    rules, cases = tmp_path / "rules", tmp_path / "cases"
    shutil.copytree(rules_dir(), rules)
    shutil.copytree(cases_dir(), cases)
    os.mkfifo(rules / "x.yaml")
    os.mkfifo(cases / "x.yaml")
    argv = [a.format(rules=rules, cases=cases) for a in args]
    result = run_script(argv, tmp_path)  # a FIFO opened for reading would block: run_script times out
    output = (result.stdout + result.stderr).decode()
    assert "Traceback" not in output
    if args[0] == "key":
        assert result.returncode == 0  # the case named is read; the FIFO beside it never is
    else:
        assert result.returncode == 1
        assert re.search(
            r"x\.yaml: (error: )?cannot read file: it is a named pipe \(FIFO\), not a regular file", output
        )


def test_the_key_of_a_weighted_case_is_an_answers_file_grade_and_run_take(tmp_path: Path) -> None:
    # `key` writes the weights beside the answers; reading them back must not refuse them.
    case = "liver-unresectable-alk-positive"
    for fmt in ("json", "yaml"):
        key = tmp_path / f"key.{fmt}"
        key.write_text(invoke(["key", case, "--format", fmt]).output, encoding="utf-8")
        graded = invoke(["grade", str(key), "--out", str(tmp_path / f"grades-{fmt}.csv")])
        assert graded.exit_code == 0, graded.output
        rows = list(csv.DictReader(io.StringIO((tmp_path / f"grades-{fmt}.csv").read_text(encoding="utf-8"))))
        assert {(r["case_points"], r["case_max"]) for r in rows} == {("9", "9")}
        ran = invoke(["run", case, "--answers", str(key), "--transcript", str(tmp_path / f"t-{fmt}.json")])
        assert ran.exit_code == 0, ran.output
