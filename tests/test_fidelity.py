"""The fidelity table (rules/fidelity.yaml): each fact of the source document in
the project's words, the rules that encode it, and infer checks that hold on
both engines; plus hostile tables, which report every problem at once."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from imt_tutor import files
from imt_tutor.engines import durable as durable_engine
from imt_tutor.engines import make_engine
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.errors import DataError, DataErrors
from imt_tutor.fidelity import (
    Check,
    FidelityTable,
    by_section,
    fidelity_path,
    load_fidelity,
    missing_sections,
    run_check,
    run_row,
    run_table,
    untraced_rules,
)
from imt_tutor.models import Facts, Is, RuleBase
from imt_tutor.rulebase import FIDELITY_FILE, load_rulebase

REPO = Path(__file__).resolve().parents[1]
SOURCES = (REPO.parent / "shared" / "source" / "imt-overview.txt", Path("/work/shared/source/imt-overview.txt"))
RUN = 8  # no claim may share this many consecutive words with the document
IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"


@pytest.fixture(scope="module")
def base():
    return load_rulebase(files.rules_dir())


@pytest.fixture(scope="module")
def table(base) -> FidelityTable:
    return load_fidelity(fidelity_path(files.rules_dir()), base)


@pytest.fixture(scope="module", params=["builtin", "durable_rules"])
def engine(request, base):
    if request.param == "durable_rules" and not durable_engine.available():
        pytest.skip("durable_rules is not available on this Python")
    eng = make_engine(base, request.param)
    yield eng
    eng.close()


def messages(excinfo) -> list[str]:
    err = excinfo.value
    return [str(e) for e in err.errors] if isinstance(err, DataErrors) else [str(err)]


def position(text: str, needle: str, nth: int = 1) -> str:
    """``line:col`` (1-based) of the ``nth`` occurrence of ``needle`` in ``text``."""
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{column}"


def write(tmp_path: Path, text: str, name: str = FIDELITY_FILE) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------- the bundled table


def test_fidelity_path_is_beside_the_rules():
    path = fidelity_path(files.rules_dir())
    assert path == files.rules_dir() / FIDELITY_FILE
    assert path.is_file()


def test_bundled_table_loads(table):
    ids = [row.id for row in table.rows]
    assert len(ids) == len(set(ids))
    assert 30 <= len(table.rows) <= 60
    assert len(table.encoded) > len(table.not_encoded) > 0
    assert table.row("alk-stain-confirms-rearrangement") is not None
    assert table.row("no-such-row") is None


def test_every_encoded_row_has_rules_and_checks(table):
    for row in table.encoded:
        assert row.rules, row.id
        assert row.checks, row.id
        for check in row.checks:
            assert check.concludes or check.not_concludes or check.suggests or check.not_suggests or check.accepts


def test_not_encoded_rows_give_a_reason_and_nothing_else(table):
    for row in table.not_encoded:
        assert row.not_encoded and len(row.not_encoded.split()) >= 5, row.id
        assert row.rules == () and row.checks == (), row.id


def test_the_rare_and_the_conclusion_are_not_encoded(table):
    assert not table.row("imts-are-rare").encoded
    conclusion = [row for row in table.rows if row.section == "Conclusion"]
    assert conclusion and all(not row.encoded for row in conclusion)


def test_every_check_holds(engine, table):
    failures = [str(f) for f in run_table(engine, table)]
    assert failures == []


def test_every_rule_is_traced_to_a_row(base, table):
    assert untraced_rules(base, table) == ()


def test_every_section_heading_has_a_row(base, table):
    assert missing_sections(base, table) == ()
    assert {row.section for row in table.rows} == set(base.vocabulary.sections)


def test_every_rule_is_listed_under_the_section_it_cites(base, table):
    unlisted = {s.section: s.unlisted_rules for s in by_section(base, table) if s.unlisted_rules}
    assert unlisted == {}


def _document() -> str | None:
    for path in SOURCES:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def test_claims_are_in_the_projects_own_words(table):
    text = _document()
    if text is None:
        pytest.skip("shared/source/imt-overview.txt is not beside this checkout")
    words = _words(text)
    runs = {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}
    pasted = []
    for row in table.rows:
        for written in (row.claim, row.not_encoded or ""):
            mine = _words(written)
            for i in range(len(mine) - RUN + 1):
                if tuple(mine[i : i + RUN]) in runs:
                    pasted.append(f"{row.id}: {' '.join(mine[i : i + RUN])}")
    assert pasted == []


def test_claims_are_one_clause_of_modest_length(table):
    for row in table.rows:
        assert "\n" not in row.claim
        assert len(row.claim.split()) <= 30, row.id


# --------------------------------------------------------------------- the known pitfalls

# Each pitfall (issue 7) as a check that must hold, and must stay in the table.
PITFALLS = f"""\
facts:
  - id: pitfalls
    section: "What is the Prognosis for Patients with IMTs?"
    claim: The known pitfalls of the rules, kept as regression checks.
    rules: [complete-excision-reduces-recurrence]
    checks:
      - facts: {{excision: complete}}
        not_concludes: {{prognosis: generally_favourable, recurrence_risk: reduced}}
      - facts: {{histology: {IMT}, excision: complete, recurrence: present}}
        not_concludes: {{recurrence_risk: reduced}}
      - facts: {{symptoms: [fever]}}
        not_suggests: [cross_sectional_imaging]
      - facts: {{site: lung, symptoms: [cough], imaging: [ct], imaging_finding: no_mass}}
        not_suggests: [biopsy, reconsider_diagnosis]
      - facts: {{histology: {IMT}, alk_ihc: negative, resectability: unresectable}}
        not_suggests: [alk_inhibitor]
      - facts: {{histology: {IMT}, resectability: unresectable}}
        concludes: {{recurrence_risk: higher}}
      - facts: {{histology: {IMT}, resectability: resectable, excision: complete, recurrence: present}}
        accepts: [surgical_resection]
"""


def _covers(mine: Check, pitfall: Check) -> bool:
    return (
        mine.facts == pitfall.facts
        and set(pitfall.concludes) <= set(mine.concludes)
        and set(pitfall.not_concludes) <= set(mine.not_concludes)
        and set(pitfall.suggests) <= set(mine.suggests)
        and set(pitfall.not_suggests) <= set(mine.not_suggests)
        and set(pitfall.accepts) <= set(mine.accepts)
    )


def _pitfalls(tmp_path, base) -> tuple[Check, ...]:
    return load_fidelity(write(tmp_path, PITFALLS), base).rows[0].checks


def test_known_pitfalls_hold(tmp_path, base, engine):
    checks = _pitfalls(tmp_path, base)
    assert len(checks) == 7
    for check in checks:
        assert run_check(engine, check) == [], check


def test_known_pitfalls_stay_in_the_table(tmp_path, base, table):
    mine = [check for row in table.encoded for check in row.checks]
    missing = [p for p in _pitfalls(tmp_path, base) if not any(_covers(m, p) for m in mine)]
    assert missing == []


# --------------------------------------------------------------------- checks that fail


WRONG = f"""\
facts:
  - id: wrong-on-purpose
    section: "How are IMTs Diagnosed?"
    claim: A deliberately wrong row.
    rules: [alk-positive-imt, alk-inhibitor-option]
    checks:
      - facts: {{histology: {IMT}, alk_ihc: negative}}
        concludes: {{working_diagnosis: alk_rearranged_imt}}
        not_concludes: {{working_diagnosis: alk_negative_imt}}
        suggests: [biopsy]
        not_suggests: [surgical_resection]
        accepts: [surgical_resection]
      - facts: {{histology: {IMT}, alk_ihc: positive}}
        concludes: {{working_diagnosis: alk_rearranged_imt}}
"""


def test_a_wrong_check_is_reported(tmp_path, base, engine):
    path = write(tmp_path, WRONG)
    row = load_fidelity(path, base).rows[0]
    failures = run_check(engine, row.checks[0])
    assert len(failures) == 5
    joined = "\n".join(failures)
    assert "working_diagnosis: alk_rearranged_imt, which is not drawn" in joined
    assert "working_diagnosis: alk_negative_imt is drawn (by alk-negative-imt)" in joined
    assert "biopsy to be suggested" in joined
    assert "surgical_resection is suggested (by resect-imt)" in joined
    assert "surgical_resection to be accepted without being required; it is suggested (required) instead" in joined
    assert run_check(engine, row.checks[1]) == []


def test_a_listed_rule_that_never_fires_is_reported(tmp_path, base, engine):
    path = write(tmp_path, WRONG)
    table = load_fidelity(path, base)
    assert "rule 'alk-inhibitor-option' is listed but fires in none of the row's checks" in run_row(
        engine, table.rows[0]
    )
    located = [str(f) for f in run_table(engine, table)]
    assert len(located) == 6
    assert located[0].startswith(f"{path}:{position(WRONG, 'facts: {histology', 1)}: row 'wrong-on-purpose': check 1:")
    assert located[-1] == (
        f"{path}:{position(WRONG, 'id: wrong')}: row 'wrong-on-purpose': "
        "rule 'alk-inhibitor-option' is listed but fires in none of the row's checks"
    )


def test_the_table_catches_a_rule_that_teaches_a_wrong_inference(base, table):
    # Put back the old bug: complete excision alone concludes a reduced recurrence risk.
    weak = Is("excision", ("complete",), False)
    rules = tuple(replace(r, when=weak) if r.id == "complete-excision-reduces-recurrence" else r for r in base.rules)
    failures = [str(f) for f in run_table(BuiltinEngine(RuleBase(base.vocabulary, rules)), table)]
    assert failures
    assert any(
        "row 'complete-excision-lowers-recurrence'" in f and "recurrence_risk: reduced is drawn" in f for f in failures
    )


def test_run_check_needs_only_an_engine(base):
    check = Check(Facts.of({"site": "bladder"}), concludes=(("site_frequency", "common_site"),))
    assert run_check(BuiltinEngine(base), check) == [
        "expected the conclusion site_frequency: common_site, which is not drawn"
    ]


# --------------------------------------------------------------------- bad tables


MANY = f"""\
facts:
  - id: first-row
    section: "How are IMTs diagnosed?"
    cliam: A row with a misspelt key.
    rules: [alk-positve-imt]
    checks:
      - facts: {{histology: {IMT}, alk_ihc: postive}}
        concludes: {{working_diagnosis: alk_rearranged}}
        suggests: [biopsie]
  - id: first-row
    section: "What Causes IMTs?"
    claim: A second row under the same id.
    not_encoded: A reason that is long enough to read.
  - id: no-rules-no-reason
    section: "What Causes IMTs?"
    claim: A row with neither rules nor a reason.
  - id: reason-and-rules
    section: "What Causes IMTs?"
    claim: A row with both.
    not_encoded: A reason that is long enough to read.
    rules: [alk-drives-growth]
  - id: Bad_Id
    section: "Conclusion"
    claim: A row whose id is not kebab-case.
    not_encoded: A reason that is long enough to read.
  - id: odd-checks
    section: "Conclusion"
    claim: Checks that cannot be right.
    rules: [incidental-finding]
    checks:
      - facts: {{presentation: incidental, symptoms: [pain]}}
        concludes: {{symptom_pattern: incidental_finding}}
      - facts: {{site: lung}}
      - facts: {{site: lung}}
        concludes: {{histology: {IMT}}}
        suggests: [biopsy]
        not_suggests: [biopsy]
      - facts: {{site: lungs, symptom: [cough]}}
        sugests: [cross_sectional_imaging]
fact: 1
"""


QUOTED_SECTION = '"How are IMTs diagnosed?"'


def test_every_mistake_is_reported_at_once_with_its_position(tmp_path, base):
    path = write(tmp_path, MANY)
    with pytest.raises(DataErrors) as excinfo:
        load_fidelity(path, base)
    got = messages(excinfo)
    p = str(path)
    expected = [
        f"{p}:{position(MANY, 'fact: 1')}: unknown key 'fact' in the fidelity table (did you mean 'facts'?)",
        f"{p}:{position(MANY, 'cliam')}: row 'first-row': unknown key 'cliam' (did you mean 'claim'?)",
        f"{p}:{position(MANY, QUOTED_SECTION)}: row 'first-row': section 'How are IMTs diagnosed?' "
        "is not a section heading of the document (did you mean 'How are IMTs Diagnosed?'?)",
        f"{p}:{position(MANY, 'id: first-row')}: row 'first-row' needs 'claim'",
        f"{p}:{position(MANY, 'alk-positve-imt')}: row 'first-row': unknown rule 'alk-positve-imt' "
        "(did you mean 'alk-positive-imt'?)",
        f"{p}:{position(MANY, 'postive')}: row 'first-row', check 1: unknown value 'postive' for 'alk_ihc' "
        "(did you mean 'positive'?)",
        f"{p}:{position(MANY, 'alk_rearranged}')}: row 'first-row', check 1: unknown value 'alk_rearranged' "
        "for 'working_diagnosis' (did you mean 'alk_rearranged_imt'?)",
        f"{p}:{position(MANY, 'biopsie')}: row 'first-row', check 1: unknown next step 'biopsie' under 'suggests' "
        "(did you mean 'biopsy'?)",
        f"{p}:{position(MANY, 'first-row', 2)}: duplicate row id 'first-row' (first used at line 2)",
        f"{p}:{position(MANY, 'id: no-rules')}: row 'no-rules-no-reason' needs 'rules' and 'checks'",
        f"{p}:{position(MANY, 'rules: [alk-drives')}: row 'reason-and-rules': a row marked 'not_encoded' lists no "
        "'rules'",
        f"{p}:{position(MANY, 'Bad_Id')}: row 5: the id must be kebab-case",
        f"{p}:{position(MANY, '{presentation')}: row 'odd-checks', check 1: the facts contradict each other "
        "(incidental-with-symptoms",
        f"{p}:{position(MANY, 'facts: {site: lung}', 1)}: row 'odd-checks', check 2 expects nothing",
        f"{p}:{position(MANY, 'histology', 2)}: row 'odd-checks', check 3: unknown conclusion 'histology' under "
        "'concludes' (facts are observed, not concluded)",
        f"{p}:{position(MANY, '[biopsy]', 2)}: row 'odd-checks', check 3: 'biopsy' is under both 'suggests' and "
        "'not_suggests'",
        f"{p}:{position(MANY, 'sugests')}: row 'odd-checks', check 4: unknown key 'sugests' (did you mean 'suggests'?)",
        f"{p}:{position(MANY, 'lungs')}: row 'odd-checks', check 4: unknown value 'lungs' for 'site' "
        "(did you mean 'lung'?)",
        f"{p}:{position(MANY, 'symptom:')}: row 'odd-checks', check 4: unknown fact 'symptom' "
        "(did you mean 'symptoms'?)",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in got), f"missing: {want}\n got:\n" + "\n".join(got)
    assert all(re.match(rf"{re.escape(p)}:\d+:\d+: ", line) for line in got), got
    assert str(excinfo.value).count("\n") == len(got) - 1


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ("", "file is empty", "1:1"),
        ("- a\n- b\n", "expected a mapping at the top level", "1:1"),
        ("facts: &rows\n  - id: a\nagain: *rows\n", "anchors and aliases are not allowed", "1:8"),
        ("facts: !!python/object:os.system x\n", "python tags are not allowed", "1:8"),
        ("facts: []\nfacts: []\n", "duplicate key 'facts'", "2:1"),
        ("facts: [\n", "invalid YAML", None),
        ("rows: []\n", "unknown key 'rows' in the fidelity table", "1:1"),
        ("facts: nothing\n", "the fidelity table needs 'facts'", "1:8"),
        ("facts:\n  - just text\n", "row 1: a row is a mapping", "2:5"),
        (
            'facts:\n  - id: a\n    section: "Conclusion"\n    claim: x\n    rules: alk-drives-growth\n'
            "    checks: [{facts: {site: lung}, concludes: {site_frequency: common_site}}]\n",
            "row 'a': 'rules' is a non-empty list of rule IDs",
            "5:12",
        ),
        (
            'facts:\n  - id: a\n    section: "Conclusion"\n'
            "    claim: |\n      two\n      lines\n    not_encoded: why\n",
            "row 'a': 'claim' must be one line of text",
            "4:12",
        ),
        (
            'facts:\n  - id: a\n    section: "Conclusion"\n    claim: x\n    rules: [common-site]\n    checks: []\n',
            "row 'a': 'checks' is a non-empty list of infer checks",
            "6:13",
        ),
        (
            'facts:\n  - id: a\n    section: "Conclusion"\n    claim: x\n    rules: [common-site]\n',
            "row 'a' lists rules but no 'checks'",
            "2:5",
        ),
    ],
)
def test_hostile_or_broken_tables(tmp_path, base, text, message, where):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as excinfo:
        load_fidelity(path, base)
    got = messages(excinfo)
    prefix = f"{path}:{where}: " if where else f"{path}:"
    assert any(line.startswith(prefix) and message in line for line in got), got


def test_a_key_holding_a_newline_or_a_tab_is_shown_escaped_on_one_line(tmp_path, base):
    text = (
        'facts:\n  - id: a\n    section: "Conclusion"\n    claim: x\n    not_encoded: why\n    "row\\nkey": 1\n'
        '  - id: b\n    section: "Conclusion"\n    claim: x\n    rules: [common-site]\n'
        '    checks: [{facts: {site: lung}, "check\\tkey": 1}]\n"table\\nkey": 2\n'
    )
    path = write(tmp_path, text)
    with pytest.raises(DataError) as excinfo:
        load_fidelity(path, base)
    shown = str(excinfo.value)
    for key in ("'table\\nkey' in the fidelity table", "row 'a': unknown key 'row\\nkey'", "unknown key 'check\\tkey'"):
        assert key in shown
    assert all(line.startswith(f"{path}:") for line in shown.splitlines()), shown


def test_missing_table(tmp_path, base):
    with pytest.raises(DataError, match="cannot read file"):
        load_fidelity(tmp_path / "absent.yaml", base)


# --------------------------------------------------------------------- the outline


def test_outline_follows_the_vocabulary(base, table):
    outline = by_section(base, table)
    assert [s.section for s in outline] == list(base.vocabulary.sections)
    assert sum(len(s.rows) for s in outline) == len(table.rows)
    for section in outline:
        assert all(row.section == section.section for row in section.rows)
    dumped = json.loads(json.dumps([s.as_dict() for s in outline]))
    first = dumped[0]["facts"][0]
    assert set(first) in ({"id", "section", "claim", "rules"}, {"id", "section", "claim", "not_encoded"})


def test_outline_names_the_rules_a_section_leaves_unlisted(tmp_path, base):
    text = (
        "facts:\n"
        "  - id: commonest-sites\n"
        '    section: "Where Do IMTs Commonly Occur?"\n'
        "    claim: The lungs, abdomen and pelvis lead.\n"
        "    rules: [common-site, alk-drives-growth]\n"
        "    checks:\n"
        "      - facts: {site: lung}\n"
        "        concludes: {site_frequency: common_site}\n"
    )
    small = load_fidelity(write(tmp_path, text), base)
    outline = {s.section: s for s in by_section(base, small)}
    where = outline["Where Do IMTs Commonly Occur?"]
    assert [r.id for r in where.rows] == ["commonest-sites"]
    assert "common-site" not in where.unlisted_rules
    assert {"reported-site", "any-site-possible"} <= set(where.unlisted_rules)
    # listed under another section, so still unlisted under its own
    assert "alk-drives-growth" in outline["What Causes IMTs?"].unlisted_rules
    assert outline["Conclusion"].rows == ()
    assert "alk-drives-growth" not in untraced_rules(base, small)
    assert "reported-site" in untraced_rules(base, small)
    assert "Conclusion" in missing_sections(base, small)
