"""``imt-tutor check`` and its library (:mod:`imt_tutor.check`): every problem at
once with a stable code, coverage, ``vocab``, ``new-case``, ``cases`` with bad
files, and what-if. No timing is asserted here (benchmarks/scale.py prints it)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from imt_tutor.check import CODES, FALLBACK_CODE, case_skeleton, check, classify, coverage, escape, never_fires
from imt_tutor.engines import durable as durable_module
from imt_tutor.errors import DataError, Location
from imt_tutor.files import cases_dir, examples_dir, rules_dir
from imt_tutor.loading import load_yaml_text
from imt_tutor.models import Facts, RuleBase
from imt_tutor.rulebase import parse_rule_files
from imt_tutor.whatif import GAINED, LOST, REASONED, SUGGESTION, what_if

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
CHECK_DATA = DATA / "check"
LINE = re.compile(r"^(?P<where>.+?:\d+:\d+|[^:]+): (?P<level>error|warning): (?P<message>.+) \[(?P<code>[a-z0-9-]+)\]$")
IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"


def codes(paths: list[Path], **kwargs: object) -> set[str]:
    result = check(paths, rules_dir=kwargs.pop("rules", rules_dir()), **kwargs)  # type: ignore[arg-type]
    return {p.code or "" for p in result.problems}


def expected_codes(path: Path) -> set[str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), path
    listed = first.removeprefix("# expect: ").strip()
    return set() if listed == "(nothing)" else {c.strip() for c in listed.split(",")}


# --------------------------------------------------------------------- the bundled data


def test_the_bundled_data_has_no_problem_at_all() -> None:
    result = check(rules_dir=rules_dir(), cases_dir=cases_dir())
    assert [str(p) for p in result.problems] == []
    assert result.exit_code(strict=True) == 0
    assert len(result.cases) == len(list(cases_dir().glob("*.yaml")))
    assert {"vocabulary.yaml", "fidelity.yaml"} <= {Path(f).name for f in result.files}


def test_the_bundled_data_is_covered() -> None:
    cov = coverage(check(rules_dir=rules_dir(), cases_dir=cases_dir()))
    assert cov is not None
    assert cov.unexercised_rules == ()
    assert cov.unexplained_sections == ()
    # The one section no rule cites is accounted for: the fidelity table says why, fact by fact.
    assert [s for s, _ in cov.uncited_sections] == ["Conclusion"]
    assert "not_encoded" in cov.uncited_sections[0][1]
    assert cov.untaught_rows == ()
    assert cov.clean


# --------------------------------------------------------------------- every code, from test data


@pytest.mark.parametrize("path", sorted(CHECK_DATA.glob("*.yaml")), ids=lambda p: p.name)
def test_each_check_file_gives_exactly_the_codes_it_expects(path: Path) -> None:
    assert codes([path]) == expected_codes(path)


BAD_FILES = sorted((DATA / "rules").glob("*.yaml")) + sorted((DATA / "cases").glob("*.yaml"))


@pytest.mark.parametrize("path", BAD_FILES + sorted((DATA / "yaml").glob("*.yaml")), ids=lambda p: p.name)
def test_every_problem_of_the_bad_files_has_a_specific_code(path: Path) -> None:
    result = check([path], rules_dir=rules_dir())
    assert [str(p) for p in result.problems if p.code == FALLBACK_CODE] == []
    assert all(p.code in {c.code for c in CODES} for p in result.problems)


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.name)
def test_the_bad_files_fail_the_check(path: Path) -> None:
    if path.name == "unreachable.yaml":  # checked with the bundled rules, which draw what it needs
        pytest.skip("valid beside the bundled rules")
    assert check([path], rules_dir=rules_dir()).errors


def test_every_code_is_produced_by_some_test(custom: Path) -> None:
    """Each code of CODES is met in this file's tests (so each documented check exists)."""
    seen: set[str] = set()
    for path in [*CHECK_DATA.glob("*.yaml"), *BAD_FILES, *(DATA / "yaml").glob("*.yaml")]:
        seen |= codes([path])
    seen |= _custom_codes(custom)
    seen |= {"path-not-found", "invalid", "durable-limit", "not-checked", "fidelity-check", "fidelity-row"}
    seen |= {"unknown-rule", "cycle", "no-producer"}  # see the tests below
    assert {c.code for c in CODES} - seen == set()


def test_codes_are_kebab_case_unique_and_documented() -> None:
    names = [c.code for c in CODES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)
    assert all(c.level in ("error", "warning") and c.summary for c in CODES)
    doc = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    assert [n for n in names if f"`{n}`" not in doc] == []


def test_a_problem_keeps_a_code_it_already_has() -> None:
    problem = classify(DataError("anything", Location("x.yaml", 1, 1), code="cycle"))
    assert problem.code == "cycle"
    assert classify(DataError("rules depend on each other in a cycle", None)).code == "cycle"
    assert classify(DataError("something nobody wrote yet", None)).code == FALLBACK_CODE


# --------------------------------------------------------------------- all problems at once, across files


def test_every_problem_at_once_in_one_rule_file() -> None:
    result = check([DATA / "rules" / "many_problems.yaml"], rules_dir=rules_dir())
    assert [p.code for p in result.problems] == ["unknown-value", "unknown-fact", "unknown-conclusion"]
    assert [p.location.line for p in result.problems if p.location] == [3, 8, 14]


def test_problems_of_several_files_come_together_sorted(tmp_path: Path) -> None:
    paths = [
        DATA / "cases" / "unknown_fact_value.yaml",
        DATA / "rules" / "many_problems.yaml",
        DATA / "yaml" / "alias.yaml",
    ]
    result = check(paths, rules_dir=rules_dir())
    shown = [p.location.path for p in result.problems if p.location]
    assert shown == sorted(shown)
    assert {Path(p).name for p in shown} == {"unknown_fact_value.yaml", "many_problems.yaml", "alias.yaml"}


def test_duplicate_case_ids_across_files(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(CHECK_DATA / "clean.yaml", tmp_path / folder)
    result = check([tmp_path / "a", tmp_path / "b"], rules_dir=rules_dir())
    (problem,) = result.problems
    assert problem.code == "duplicate-id" and problem.location is not None
    assert Path(problem.location.path).parent.name == "b"
    assert f"first defined at {tmp_path / 'a' / 'clean.yaml'}:2:1" in problem.message


def test_duplicate_rule_ids_across_files(tmp_path: Path) -> None:
    rule = (
        "rules:\n  - id: extra-rule\n    when: {site: lung}\n    then: {conclude: {site_frequency: common_site}}\n"
        '    explanation: A test rule.\n    source: "Where Do IMTs Commonly Occur?"\n'
    )
    (tmp_path / "a.yaml").write_text(rule, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(rule, encoding="utf-8")
    result = check([tmp_path / "a.yaml", tmp_path / "b.yaml"], rules_dir=rules_dir())
    assert [p.code for p in result.problems] == ["duplicate-id"]
    assert "a.yaml:2:5" in result.problems[0].message  # where the first one is


def test_a_rule_file_given_replaces_the_bundled_one_of_its_name(tmp_path: Path) -> None:
    copy = tmp_path / "diagnosis.yaml"
    shutil.copy(rules_dir() / "diagnosis.yaml", copy)
    assert check([copy], rules_dir=rules_dir()).problems == []  # no duplicate of every rule


def test_cycles_and_missing_producers() -> None:
    assert codes([DATA / "rules" / "cycle.yaml"]) == {"cycle"}


def test_no_producer_with_a_custom_vocabulary(custom: Path) -> None:
    assert _custom_codes(custom) == {"option-never-given"}
    _needs_guarded(custom)
    result = check([custom, custom.parent / "custom-cases"], rules_dir=custom)
    assert {p.code for p in result.problems} == {"no-producer", "not-checked"}
    (error,) = result.errors
    assert "no rule concludes prognosis: guarded, so this rule can never fire" in error.message


def test_rules_that_can_never_fire_transitively(base: RuleBase) -> None:
    text = """\
rules:
  - id: impossible
    when: {all: [{site: lung}, {unknown: site}]}
    then: {conclude: {imaging_result: no_tumour_located}}
    explanation: A test rule.
    source: "How are IMTs Diagnosed?"
  - id: needs-the-impossible
    when: {imaging_result: no_tumour_located}
    then: {suggest: [cross_sectional_imaging]}
    explanation: A test rule.
    source: "How are IMTs Diagnosed?"
  - id: fine
    when: {site: lung}
    then: {suggest: [cross_sectional_imaging]}
    explanation: A test rule.
    source: "How are IMTs Diagnosed?"
"""
    own = parse_rule_files(base.vocabulary, [("t.yaml", load_yaml_text(text, "t.yaml"))])
    found = {p.message.split("'")[1]: p.message for p in never_fires(own)}
    assert set(found) == {"impossible", "needs-the-impossible"}
    assert "site both known and unknown" in found["impossible"]
    assert "no rule that draws it (impossible) can fire" in found["needs-the-impossible"]


def test_the_vocabulary_with_errors_stops_the_rest_with_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(rules_dir(), folder)
    vocab = folder / "vocabulary.yaml"
    vocab.write_text(vocab.read_text(encoding="utf-8").replace("sections:", "section:", 1), encoding="utf-8")
    result = check([folder, CHECK_DATA / "clean.yaml"], rules_dir=rules_dir())
    assert {p.code for p in result.problems} == {"unknown-key", "missing-field", "not-checked"}
    assert result.exit_code() == 1


def test_durable_rules_limits_are_an_error_before_any_engine_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(durable_module, "MAX_RULES", 10)
    built: list[object] = []

    def engine(base: RuleBase) -> object:
        from imt_tutor.engines.builtin import BuiltinEngine

        built.append(base)
        return BuiltinEngine(base)

    result = check([CHECK_DATA / "clean.yaml"], rules_dir=rules_dir(), engine=engine)
    limits = [p for p in result.problems if p.code == "durable-limit"]
    assert len(limits) == 1 and "at most 10 rules" in limits[0].message
    assert limits[0].level == "error" and limits[0].location is not None
    # The builtin evaluator still checks the cases' answers; durable_rules would refuse.
    assert built and result.inferences
    with pytest.raises(DataError):
        durable_module.check_limits(result.base)  # type: ignore[arg-type]


def test_fidelity_table_problems(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(rules_dir(), folder)
    table = folder / "fidelity.yaml"
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("rules: [any-site-possible]", "rules: [any-site-possibel]", 1), encoding="utf-8")
    assert codes([folder]) == {"unknown-rule"}
    table.write_text(
        text.replace("concludes: {site_frequency: any_site}", "concludes: {site_frequency: common_site}", 1)
    )
    assert codes([folder]) == {"fidelity-check"}
    table.write_text(text.replace("  - id: imts-are-rare\n", "  - id: imts-are-rare\n    clam: x\n", 1))
    assert codes([folder]) == {"unknown-key"}
    table.write_text(text.replace("    claim: IMTs are uncommon tumours.\n", "", 1))
    assert codes([folder]) == {"fidelity-row"}


def test_paths_that_are_not_there_or_not_yaml(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    result = check([tmp_path / "nope.yaml", tmp_path / "notes.txt"], rules_dir=rules_dir())
    assert [p.code for p in result.problems] == ["path-not-found", "path-not-found"]


def test_two_rules_folders_are_refused(tmp_path: Path) -> None:
    assert "invalid" in codes([rules_dir(), rules_dir()])


# --------------------------------------------------------------------- a custom rule base


@pytest.fixture
def custom(tmp_path: Path) -> Path:
    """A copy of the bundled rules whose vocabulary has a step and a value no rule gives."""
    folder = tmp_path / "custom-rules"
    shutil.copytree(rules_dir(), folder)
    vocab = folder / "vocabulary.yaml"
    text = vocab.read_text(encoding="utf-8")
    text = text.replace(
        "\ncontradictions:",
        "\n  watchful_waiting:\n    label: Watchful waiting\n    description: A step no rule gives.\ncontradictions:",
        1,
    )
    text = re.sub(
        r"(\n      generally_favourable: [^\n]*\n)",
        r'\1      guarded: {label: Guarded, description: "A value no rule concludes."}\n',
        text,
        count=1,
    )
    vocab.write_text(text, encoding="utf-8")
    return folder


def _needs_guarded(folder: Path) -> None:
    """A rule needing the value no rule concludes."""
    (folder / "extra.yaml").write_text(
        "rules:\n  - id: needs-guarded\n    when: {prognosis: guarded}\n    then: {suggest: [follow_up_monitoring]}\n"
        '    explanation: A test rule.\n    source: "What is the Prognosis for Patients with IMTs?"\n',
        encoding="utf-8",
    )


def _custom_codes(custom: Path) -> set[str]:
    """The codes of a case offering the step no rule gives, checked with ``custom``."""
    case = (CHECK_DATA / "clean.yaml").read_text(encoding="utf-8")
    case = case.replace(
        "options: [cross_sectional_imaging, biopsy, surgical_resection]",
        "options: [cross_sectional_imaging, watchful_waiting]",
    )
    cases = custom.parent / "custom-cases"
    cases.mkdir(exist_ok=True)
    (cases / "clean.yaml").write_text(case, encoding="utf-8")
    return codes([custom, cases], rules=custom)


def test_option_never_given_points_at_the_option(custom: Path) -> None:
    _custom_codes(custom)
    result = check([custom, custom.parent / "custom-cases"], rules_dir=custom)
    (warning,) = [p for p in result.problems if p.code == "option-never-given"]
    assert warning.level == "warning" and "watchful_waiting" in warning.message
    assert warning.location is not None and (warning.location.line, warning.location.column) == (16, 44)


def test_coverage_names_what_a_partial_set_of_cases_leaves_untested() -> None:
    cov = coverage(check([rules_dir(), CHECK_DATA / "clean.yaml"], rules_dir=rules_dir()))
    assert cov is not None and cov.cases == 1 and not cov.clean
    why = dict(cov.unexercised_rules)
    assert why["no-mass-on-imaging"] == "it needs imaging_finding: no_mass, which no case reveals"
    assert "which no rule draws in any case" in why["alk-negative-other-alterations"]
    assert ("site", "pelvis") in cov.unused_facts
    assert "biopsy" in cov.unused_steps
    assert cov.untaught_rows


# --------------------------------------------------------------------- escaping


def test_escape_shows_control_and_format_characters() -> None:
    assert escape("a\x1b[31mb") == "a\\x1b[31mb"
    assert escape("tab\there") == "tab\\x09here"
    assert escape("rtl\u202eoverride") == "rtl\\u202eoverride"
    assert escape("line\u2028sep") == "line\\u2028sep"
    assert escape("Café – ok") == "Café – ok"


def test_a_file_name_with_an_escape_sequence_is_shown_escaped(tmp_path: Path, invoke) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "evil\x1b[31m.yaml"
    bad.write_text("id: [\n", encoding="utf-8")
    result = invoke(["check", str(bad)])
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert "evil\\x1b[31m.yaml:" in result.output


# --------------------------------------------------------------------- the command


def test_check_command_on_the_bundled_data(invoke) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["check"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "no problems" in result.stderr


def test_check_command_lines_and_exit_code(invoke) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["check", str(DATA / "cases"), str(DATA / "rules" / "many_problems.yaml")])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) >= 12
    for line in lines:
        match = LINE.match(line)
        assert match, line
    assert "(did you mean 'lung'?)" in result.stdout


def test_strict_fails_on_warnings_only(invoke) -> None:  # type: ignore[no-untyped-def]
    path = str(CHECK_DATA / "overrides.yaml")
    assert invoke(["check", path]).exit_code == 0
    assert invoke(["check", "--strict", path]).exit_code == 1


def test_check_json(invoke) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["check", "--format", "json", str(CHECK_DATA / "names.yaml")])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["errors"] == 4 and doc["warnings"] == 0
    first = doc["problems"][0]
    assert set(first) == {"path", "line", "column", "level", "code", "message"}
    assert first["line"] == 11 and first["column"] == 16 and first["code"] == "unknown-fact"
    assert "TEACHING AID ONLY" in doc["disclaimer"]


def test_check_coverage_text_and_json(invoke) -> None:  # type: ignore[no-untyped-def]
    text = invoke(["check", "--coverage"])
    assert text.exit_code == 0
    assert "rules no case exercises: none" in text.stdout
    assert "sections no rule cites: 1" in text.stdout
    doc = json.loads(invoke(["check", "--coverage", "--format", "json"]).stdout)
    assert doc["coverage"]["clean"] is True
    assert doc["coverage"]["unexercised_rules"] == []
    assert [s["section"] for s in doc["coverage"]["uncited_sections"]] == ["Conclusion"]


def test_check_honours_rules_dir_and_cases_dir(invoke, custom: Path) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["--rules-dir", str(custom), "check", "--cases-dir", str(CHECK_DATA / "clean.yaml")])
    assert result.exit_code == 2  # a file is not a folder: click says so
    _needs_guarded(custom)
    result = invoke(["--rules-dir", str(custom), "check"])
    assert result.exit_code == 1
    assert "[no-producer]" in result.stdout


@pytest.mark.parametrize(
    "path",
    sorted(p for p in DATA.rglob("*") if p.is_file()),
    ids=lambda p: str(p.relative_to(DATA)),
)
def test_no_bad_input_gives_a_traceback(path: Path, invoke) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["check", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


# --------------------------------------------------------------------- cases --cases-dir with bad files


def test_cases_lists_the_good_cases_and_reports_the_bad_files(tmp_path: Path, invoke) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(cases_dir() / "lung-cough-alk-positive.yaml", tmp_path)
    shutil.copy(DATA / "cases" / "fictional_false.yaml", tmp_path)
    result = invoke(["cases", "--cases-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "lung-cough-alk-positive" in result.stdout
    assert "1 fictional cases" in result.stdout or "1 fictional case" in result.stdout
    assert "fictional_false.yaml:4:12: case 'fictional-false': cases must declare fictional: true" in result.stderr
    doc = json.loads(invoke(["cases", "--cases-dir", str(tmp_path), "--format", "json"]).stdout)
    assert [c["id"] for c in doc["cases"]] == ["lung-cough-alk-positive"]
    assert len(doc["problems"]) == 1


# --------------------------------------------------------------------- vocab


def test_vocab_lists_everything(invoke, vocab) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["vocab"])
    assert result.exit_code == 0
    for entry in (*vocab.facts, *vocab.conclusions, *vocab.next_steps):
        assert f"  {entry.id}" in result.stdout
    assert "How are IMTs Diagnosed?" in result.stdout
    doc = json.loads(invoke(["vocab", "--format", "json"]).stdout)
    assert [f["id"] for f in doc["facts"]] == [f.id for f in vocab.facts]
    assert doc["sections"] == list(vocab.sections)


def test_vocab_key(invoke) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["vocab", "site"])
    assert result.exit_code == 0
    assert "pelvis" in result.stdout and "Pelvis" in result.stdout
    doc = json.loads(invoke(["vocab", "biopsy", "--format", "json"]).stdout)
    assert doc["kind"] == "next_step" and doc["done_when"][0]["key"] == "histology"
    bad = invoke(["vocab", "sit"])
    assert bad.exit_code == 2 and "did you mean 'site'" in bad.output


# --------------------------------------------------------------------- new-case


def test_new_case_writes_a_skeleton_that_passes_check(tmp_path: Path, invoke) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["new-case", "pelvis-night-pain", "--site", "pelvis", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = tmp_path / "pelvis-night-pain.yaml"
    text = written.read_text(encoding="utf-8")
    assert "fictional: true" in text and "site: pelvis" in text and text.count("#") > 5
    assert invoke(["check", "--strict", str(written)]).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["pelvis-night-pain.yaml"]  # no temporary file left


def test_new_case_never_overwrites(tmp_path: Path, invoke) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "my-case.yaml"
    target.write_text("mine\n", encoding="utf-8")
    result = invoke(["new-case", "my-case", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "exists" in result.output
    assert target.read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-case.yaml"]


def test_write_new_refuses_an_existing_file_atomically(tmp_path: Path) -> None:
    from imt_tutor.cli.check import write_new

    target = tmp_path / "x.yaml"
    write_new(target, "one\n")
    with pytest.raises(FileExistsError):
        write_new(target, "two\n")
    assert target.read_text(encoding="utf-8") == "one\n"
    assert os.listdir(tmp_path) == ["x.yaml"]


@pytest.mark.parametrize("args", [["Bad_Id"], ["good-id", "--site", "lungs"]])
def test_new_case_usage_errors(tmp_path: Path, invoke, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["new-case", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_the_skeleton_passes_check_at_every_site(tmp_path: Path, vocab) -> None:  # type: ignore[no-untyped-def]
    site = vocab.fact("site")
    for value in site.value_ids:
        path = tmp_path / f"case-{value.replace('_', '-')}.yaml"
        path.write_text(case_skeleton(vocab, path.stem, value), encoding="utf-8")
    result = check(sorted(tmp_path.iterdir()), rules_dir=rules_dir())
    assert [str(p) for p in result.problems] == []
    assert len(result.cases) == len(site.value_ids)


# --------------------------------------------------------------------- what-if


def test_what_if_names_each_change_with_its_rule(builtin) -> None:  # type: ignore[no-untyped-def]
    facts = Facts.of({"site": "lung", "symptoms": ("cough",), "imaging": ("ct",), "imaging_finding": "mass"})
    result = what_if(builtin.infer, facts, Facts.of({"imaging_finding": "no_mass"}))
    assert result.changed == (("imaging_finding", "mass", "no_mass"),)
    changes = {(c.kind, c.key, c.value, c.change): c.rules for c in result.changes}
    assert changes[("conclusion", "imaging_result", "no_tumour_located", GAINED)] == ("no-mass-on-imaging",)
    assert changes[("conclusion", "working_diagnosis", "mass_under_investigation", LOST)] == ("imaging-shows-mass",)
    assert changes[(SUGGESTION, None, "biopsy", LOST)] == ("mass-needs-biopsy",)
    assert "no-mass-on-imaging" in result.started and "imaging-shows-mass" in result.stopped


def test_what_if_sees_a_step_kept_for_another_reason(builtin) -> None:  # type: ignore[no-untyped-def]
    facts = Facts.of({"site": "lung", "imaging": ("ct",), "imaging_finding": "mass"})
    result = what_if(builtin.infer, facts, Facts.of({"histology": "nondiagnostic"}))
    (change,) = [c for c in result.changes if c.value == "biopsy"]
    assert change.change == REASONED
    assert change.rules == ("repeat-biopsy-after-nondiagnostic",) and change.before == ("mass-needs-biopsy",)


def test_what_if_of_the_same_fact_changes_nothing(builtin) -> None:  # type: ignore[no-untyped-def]
    facts = Facts.of({"site": "lung"})
    result = what_if(builtin.infer, facts, Facts.of({"site": "lung"}))
    assert result.changed == () and result.unchanged


def test_infer_what_if_text_and_json(invoke) -> None:  # type: ignore[no-untyped-def]
    example = str(examples_dir() / "lung-mass.yaml")
    result = invoke(["infer", example, "--what-if", "imaging_finding=no_mass", "--what-if", "histology=nondiagnostic"])
    assert result.exit_code == 0, result.output
    assert "What if Imaging finding were No mass (instead of Mass)?" in result.stdout
    assert "- Biopsy would no longer be suggested (it came from: mass-needs-biopsy)" in result.stdout
    assert "~ Biopsy would still be suggested, by: repeat-biopsy-after-nondiagnostic" in result.stdout
    doc = json.loads(invoke(["infer", example, "--what-if", "imaging_finding=no_mass", "--format", "json"]).stdout)
    (first,) = doc["what_if"]
    assert first["changed"] == [{"key": "imaging_finding", "before": "mass", "after": "no_mass"}]
    assert {"kind": "suggestion", "value": "biopsy", "change": "lost"}.items() <= next(
        c for c in first["changes"] if c["value"] == "biopsy"
    ).items()
    assert list(doc)[-1] == "disclaimer"


def test_infer_what_if_problems_are_located_at_the_option(invoke) -> None:  # type: ignore[no-untyped-def]
    example = str(examples_dir() / "lung-mass.yaml")
    result = invoke(["infer", example, "--what-if", "histology=nondiagnostc", "--what-if", "sit=lung"])
    assert result.exit_code == 1
    assert "--what-if histology: unknown value 'nondiagnostc' for 'histology' (did you mean 'nondiagnostic'?)" in (
        result.output
    )
    assert "--what-if sit: unknown fact 'sit' (did you mean 'site'?)" in result.output
    assert "Traceback" not in result.output


def test_check_shows_a_patient_name_as_a_warning_with_its_position(tmp_path: Path, invoke) -> None:  # type: ignore[no-untyped-def]
    case = tmp_path / "minimal.yaml"
    case.write_text(
        "id: minimal\ntitle: Minimal\nsummary: A fictional minimal case.\nfictional: true\nstages:\n"
        "  - id: presentation\n    narrative: The baker, patient John Smith, has a cough.\n"
        "    reveal:\n      site: lung\n      symptoms: [cough]\n"
        "    questions:\n      - id: next-steps\n        kind: next_steps\n",
        encoding="utf-8",
    )
    result = invoke(["check", str(case)])
    assert result.exit_code == 0, result.output
    assert f"{case}:7:27: warning: case 'minimal':" in result.output
    assert "'patient John Smith', which looks like a patient's name" in result.output
    assert invoke(["check", "--strict", str(case)]).exit_code == 1


# --------------------------------------------------------------------- large inputs (issue 11 §6; no timing here)


def test_an_author_runs_rules_check_and_infer_on_a_chain_written_last_first(chain_rules, invoke) -> None:  # type: ignore[no-untyped-def]
    folder = chain_rules(331, last_first=True)
    for engine in ("builtin", "durable_rules"):
        common = ["--rules-dir", str(folder), "--engine", engine]
        listed = invoke([*common, "rules", "--format", "json"])
        assert listed.exit_code == 0, listed.output
        checked = invoke([*common, "check", "--format", "json", str(folder)])
        assert checked.exit_code == 0, checked.output
        assert json.loads(checked.stdout)["problems"] == []
        inferred = invoke([*common, "infer", "--fact", "start=go", "--format", "json"])
        assert inferred.exit_code == 0, inferred.output
        doc = json.loads(inferred.stdout)
        assert [step["rule"] for step in doc["trace"]] == [f"link-{i}" for i in range(331)]
        assert [s["id"] for s in doc["suggestions"]] == ["finish"]


def test_a_5000_rule_chain_checks_with_only_durable_rules_limits(chain_rules) -> None:  # type: ignore[no-untyped-def]
    folder = chain_rules(5000, last_first=True)
    result = check([folder], rules_dir=folder)
    assert {p.code for p in result.problems} == {"durable-limit"}
    assert result.rules_ok and result.base is not None and len(result.base.rules) == 5000
    assert any("at most 4096 rules" in p.message for p in result.problems)


def test_a_rule_with_many_conditions_checks_with_only_durable_rules_limits(wide_rule) -> None:  # type: ignore[no-untyped-def]
    folder = wide_rule(5000)
    result = check([folder], rules_dir=folder)
    assert {p.code for p in result.problems} == {"durable-limit"}
    assert any("pattern 'p' compiles to 5001" in p.message for p in result.problems), result.problems


def test_the_text_output_shows_at_most_100_problems_per_file(tmp_path: Path, invoke) -> None:  # type: ignore[no-untyped-def]
    rules = [
        f"  - {{id: rule-{i}, when: {{site: lungs}}, then: {{suggest: [biopsy]}}, explanation: A test rule., "
        f'source: "How are IMTs Diagnosed?"}}'
        for i in range(250)
    ]
    many = tmp_path / "many.yaml"
    many.write_text("rules:\n" + "\n".join(rules) + "\n", encoding="utf-8")
    few = DATA / "rules" / "many_problems.yaml"
    result = invoke(["check", str(few), str(many)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3 + 100 + 1
    shown = [i for i, line in enumerate(lines) if "many.yaml:" in line and ": error: " in line]
    assert len(shown) == 100 and all("unknown value 'lungs'" in lines[i] for i in shown)
    assert shown == list(range(shown[0], shown[0] + 100))
    assert re.fullmatch(r".*many\.yaml: \.\.\. and 150 more problems in this file", lines[shown[-1] + 1])
    assert len([line for line in lines if "many_problems.yaml:" in line]) == 3
    assert "253 errors" in result.stderr
    doc = json.loads(invoke(["check", "--format", "json", str(few), str(many)]).stdout)
    assert doc["errors"] == len(doc["problems"]) == 253
