"""The JSON Schemas (``schemas/*.json``) agree with the loader: generated from the
parsers' key tables, committed in step, passed by every bundled file, failed by
every bad file the loader rejects for its structure; and the generated parts of
``docs/authoring.md`` are in step with the same tables."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from imt_tutor.answers import check_answers, load_answer_data, load_answers
from imt_tutor.cases import find_case, load_case
from imt_tutor.errors import DataError
from imt_tutor.files import cases_dir, rules_dir
from imt_tutor.loading import load_yaml_file, load_yaml_text
from imt_tutor.models import RuleBase
from imt_tutor.rulebase import FIDELITY_FILE, VOCABULARY_FILE, parse_rule_files
from imt_tutor.schema import (
    FIELDS,
    SCHEMA_FILES,
    TABLES,
    authoring_parts,
    build_schemas,
    refresh_document,
    schema_problems,
    schemas_text,
)

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
SCHEMAS = ROOT / "schemas"
REGENERATE = "run 'python -m imt_tutor.schema' and commit schemas/ and docs/authoring.md"


@pytest.fixture(scope="module")
def schemas(base: RuleBase) -> dict[str, dict[str, Any]]:
    return build_schemas(base)


def kind_of(path: Path) -> str:
    if path.name == VOCABULARY_FILE:
        return "vocabulary"
    if path.name == FIDELITY_FILE:
        return "fidelity"
    return "rules" if path.parent.name == "rules" else "case"


BUNDLED = sorted(rules_dir().glob("*.yaml")) + sorted(cases_dir().glob("*.yaml"))


# --------------------------------------------------------------------- in step


def test_the_committed_schemas_are_generated_from_the_key_tables(base: RuleBase) -> None:
    expected = schemas_text(base)
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(expected), REGENERATE
    for name, text in expected.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == text, f"schemas/{name} is stale: {REGENERATE}"


def test_every_key_of_every_parser_table_is_described_and_nothing_else() -> None:
    tabled = {(table, key) for table, (_, keys) in TABLES.items() for key in keys}
    assert tabled - set(FIELDS) == set(), "describe the new field in schema.FIELDS"
    assert set(FIELDS) - tabled == set(), "a field schema.FIELDS describes is not in the parser's table"


def test_the_authoring_guide_is_in_step() -> None:
    doc = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    assert refresh_document(doc, authoring_parts()) == doc, REGENERATE
    for table, (_, keys) in TABLES.items():
        for key in keys:
            assert f"| `{key}` |" in doc, (table, key)


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES.values()))
def test_each_schema_is_a_valid_draft_7_schema(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    assert "TEACHING AID ONLY" in schema["description"]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_bundled_file_names_its_schema_on_its_first_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    assert (path.parent / match.group(1)).resolve() == (SCHEMAS / SCHEMA_FILES[kind_of(path)]).resolve()


# --------------------------------------------------------------------- bundled files pass both


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_bundled_file_passes_its_schema(path: Path, schemas: dict[str, dict[str, Any]]) -> None:
    data = load_yaml_file(path)  # the loader passes it (the bundled data is tested elsewhere too)
    assert [str(p) for p in schema_problems(data, schemas[kind_of(path)], str(path))] == []


# --------------------------------------------------------------------- test data: the schema agrees with the loader


# Files the loader rejects for what a schema cannot see: uniqueness across items, chaining, or a pick the loader
# would match in another letter case but that is no option of the case.
NOT_STRUCTURAL = {
    "rules/cycle.yaml",
    "rules/duplicate_rule_id.yaml",
    "rules/unreachable.yaml",
    "cases/duplicate_stage_id.yaml",
    "answers/unknown_option.yaml",
    "answers/unknown_question.yaml",
}


def _loader_problems(kind: str, path: Path, base: RuleBase) -> list[DataError]:
    """What the loader says of ``path`` (an answer file: checked against the case it names)."""
    try:
        if kind == "rules":
            parse_rule_files(base.vocabulary, [(str(path), load_yaml_file(path))])
        elif kind == "case":
            load_case(path, base.vocabulary)
        else:
            sheet = load_answers(path, base.vocabulary)
            check_answers(sheet, find_case(sheet.case, cases_dir(), base.vocabulary))
    except DataError as error:
        return list(getattr(error, "errors", [error]))
    return []


def _data(path: Path) -> Any:
    """The file's data, or ``None`` where it is refused before it has any (bad YAML or JSON)."""
    try:
        return load_answer_data(path) if path.suffix == ".json" else load_yaml_file(path, expect=None)
    except DataError:
        return None


TEST_DATA = [
    (kind, path)
    for kind, folder, suffixes in (
        ("rules", "rules", (".yaml",)),
        ("case", "cases", (".yaml",)),
        ("answers", "answers", (".yaml", ".json")),
    )
    for path in sorted((DATA / folder).iterdir())
    if path.suffix in suffixes
]


@pytest.mark.parametrize(("kind", "path"), TEST_DATA, ids=lambda v: v if isinstance(v, str) else v.name)
def test_the_schema_agrees_with_the_loader_on_each_test_file(
    kind: str, path: Path, base: RuleBase, schemas: dict[str, dict[str, Any]]
) -> None:
    """A file the loader accepts, the schema accepts (no false alarm in an editor); a file the
    loader rejects for its structure, the schema rejects too, at the same line."""
    name = f"{path.parent.name}/{path.name}"
    loader = _loader_problems(kind, path, base)
    data = _data(path)
    if data is None:
        assert loader  # refused before there is anything to validate: the safe loader's job
        return
    schema = schema_problems(data, schemas[kind], str(path))
    if not loader:
        assert [str(p) for p in schema] == [], f"{name}: the loader accepts it, the schema does not"
        return
    if name in NOT_STRUCTURAL:
        return
    assert schema, f"{name}: the loader rejects it ({loader[0]}), the schema does not"
    if path.suffix == ".yaml":  # the JSON path mapped back to where the loader points
        lines = {p.location.line for p in loader if p.location is not None}
        assert {p.location.line for p in schema if p.location is not None} & lines, (name, [str(p) for p in schema])


def test_the_not_structural_list_names_real_bad_files(base: RuleBase) -> None:
    by_name = {f"{p.parent.name}/{p.name}": (kind, p) for kind, p in TEST_DATA}
    assert NOT_STRUCTURAL <= set(by_name)
    assert all(_loader_problems(*by_name[name], base) for name in NOT_STRUCTURAL)


# --------------------------------------------------------------------- mapping errors back to positions


def test_an_unknown_key_is_located_at_the_key_with_a_suggestion(schemas: dict[str, dict[str, Any]]) -> None:
    text = (
        "rules:\n  - id: lung-rule\n    when: {site: lung}\n    then: {conclude: {site_frequency: common_site}}\n"
        '    explanaton: A rule.\n    source: "Where Do IMTs Commonly Occur?"\n'
    )
    problems = schema_problems(load_yaml_text(text, "r.yaml"), schemas["rules"], "r.yaml")
    shown = sorted(str(p) for p in problems)
    assert "r.yaml:5:5: schema: unknown key 'explanaton' (did you mean 'explanation'?)" in shown
    assert "r.yaml:2:5: schema: 'explanation' is a required property" in shown


def test_a_bad_value_deep_in_a_case_is_located_at_the_value(schemas: dict[str, dict[str, Any]]) -> None:
    text = (
        "id: c\ntitle: T\nsummary: S\nfictional: true\nstages:\n  - id: s\n    narrative: N\n"
        "    reveal:\n      symptoms: [cough, feverr]\n    questions:\n      - id: q\n        kind: next_steps\n"
    )
    (problem,) = schema_problems(load_yaml_text(text, "c.yaml"), schemas["case"], "c.yaml")
    assert str(problem) == (
        "c.yaml:9:25: schema: 'feverr' is not one of pain, swelling, fever, cough, chest_pain, "
        "respiratory_distress, bloating, abdominal_pain, bowel_habit_change (did you mean 'fever'?)"
    )


def test_conclusions_under_any_are_refused_by_the_schema_too(schemas: dict[str, dict[str, Any]]) -> None:
    ok = {
        "rules": [
            {
                "id": "r",
                "when": {"all": [{"working_diagnosis": "consistent_with_imt"}, {"site": "lung"}]},
                "then": {"suggest": "biopsy"},
                "explanation": "x",
                "source": "How are IMTs Diagnosed?",
            }
        ]
    }
    validator = jsonschema.Draft7Validator(schemas["rules"])
    assert list(validator.iter_errors(ok)) == []
    bad = json.loads(json.dumps(ok).replace('"all"', '"any"'))
    assert list(validator.iter_errors(bad))


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("vocabulary.yaml", "\nsections:", "\nsection:"),
        ("vocabulary.yaml", "    multi: true", "    multi: yes"),
        ("fidelity.yaml", "rules: [any-site-possible]", "rules: [any-site-possibel]"),
        ("fidelity.yaml", "    claim: IMTs are uncommon tumours.\n", ""),
    ],
)
def test_a_broken_vocabulary_or_fidelity_table_is_refused_by_both(
    name: str, old: str, new: str, base: RuleBase, schemas: dict[str, dict[str, Any]]
) -> None:
    from imt_tutor.fidelity import parse_fidelity
    from imt_tutor.vocabulary import parse_vocabulary

    text = (rules_dir() / name).read_text(encoding="utf-8")
    assert old in text
    data = load_yaml_text(text.replace(old, new, 1), name)
    with pytest.raises(DataError) as loader:
        if name == VOCABULARY_FILE:
            parse_vocabulary(data, name)
        else:
            parse_fidelity(data, name, base)
    problems = schema_problems(data, schemas[kind_of(Path(name))], name)
    assert problems
    lines = {e.location.line for e in getattr(loader.value, "errors", [loader.value]) if e.location is not None}
    assert {p.location.line for p in problems if p.location is not None} & lines
