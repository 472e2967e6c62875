"""Rule validation: the bundled rule base and hostile rule files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imt_tutor.errors import DataError, DataErrors
from imt_tutor.files import rules_dir
from imt_tutor.graph import rule_graph
from imt_tutor.loading import load_yaml_file
from imt_tutor.models import AllOf, Is
from imt_tutor.rulebase import load_rulebase, parse_rule_files
from imt_tutor.vocabulary import load_vocabulary

DATA = Path(__file__).parent / "data" / "rules"
SOURCE = Path(__file__).resolve().parents[2] / "shared" / "source" / "imt-overview.txt"


@pytest.fixture(scope="module")
def base():
    return load_rulebase(rules_dir())


@pytest.fixture(scope="module")
def vocab():
    return load_vocabulary(rules_dir() / "vocabulary.yaml")


def parse(vocab, name):
    path = DATA / name
    return parse_rule_files(vocab, [(str(path), load_yaml_file(path))])


def messages(excinfo) -> list[str]:
    err = excinfo.value
    return [str(e) for e in err.errors] if isinstance(err, DataErrors) else [str(err)]


def test_bundled_rule_base_loads(base):
    assert len(base.rules) >= 30
    ids = [r.id for r in base.rules]
    assert len(ids) == len(set(ids))


def test_every_rule_cites_a_section_heading(base):
    for rule in base.rules:
        assert rule.source in base.vocabulary.sections, rule.id


def test_section_headings_are_the_documents_own():
    if not SOURCE.is_file():
        pytest.skip("shared/source/imt-overview.txt is not beside this checkout")
    lines = {line.strip() for line in SOURCE.read_text(encoding="utf-8").splitlines()}
    vocab = load_vocabulary(rules_dir() / "vocabulary.yaml")
    missing = [h for h in vocab.sections if h not in lines]
    assert missing == []


def test_every_section_with_facts_is_encoded(base):
    cited = {r.source for r in base.rules}
    # The Conclusion section restates the others; every other section has rules.
    assert set(base.vocabulary.sections) - cited <= {"Conclusion"}


def test_every_fact_value_and_step_is_used_by_some_rule(base):
    from imt_tutor.models import walk

    used_values: set[tuple[str, str]] = set()
    used_keys: set[str] = set()
    for rule in base.rules:
        for node in walk(rule.when):
            if isinstance(node, Is) and not node.on_conclusion:
                used_values.update((node.key, v) for v in node.values)
            if hasattr(node, "key"):
                used_keys.add(node.key)
    for fact in base.vocabulary.facts:
        assert fact.id in used_keys, fact.id
    for site in ("lung", "abdomen", "pelvis", "liver", "bladder", "retroperitoneum", "other"):
        assert ("site", site) in used_values, site
    symptoms = [t.id for t in base.vocabulary.fact("symptoms").values]
    for s in symptoms:
        assert ("symptoms", s) in used_values, s
    suggested = {s for r in base.rules for s in r.suggest}
    assert suggested == {s.id for s in base.vocabulary.next_steps}


def test_rules_are_in_chaining_order(base):
    depth = rule_graph(base.rules).strata()
    seen: set[str] = set()
    for rule in base.rules:
        for cond in rule.conclusion_conditions():
            makers = [r for r in base.rules if any(k == cond.key and v in cond.values for k, v in r.conclude)]
            assert all(depth[m.id] < depth[rule.id] for m in makers)
            assert any(m.id in seen for m in makers)
        seen.add(rule.id)


def test_conclusion_conditions_are_top_level_and_never_negated(base):
    for rule in base.rules:
        parts = rule.when.parts if isinstance(rule.when, AllOf) else (rule.when,)
        from imt_tutor.models import walk

        nested = [n for n in walk(rule.when) if isinstance(n, Is) and n.on_conclusion and n not in parts]
        assert nested == [], rule.id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown_value.yaml", ":4:13: rule 'lung-rule': unknown value 'lungs' for 'site' (did you mean 'lung'?)"),
        ("bad_source.yaml", ":8:13: rule 'lung-rule': source 'Where do IMTs commonly occur' is not a section heading"),
        ("duplicate_rule_id.yaml", ":7:5: rule 'lung-rule': duplicate rule id (first defined at"),
        ("negated_conclusion.yaml", ":12:13: rule 'negating-rule': the conclusion 'working_diagnosis' may only be"),
        ("conclusion_in_any.yaml", ":11:11: rule 'any-rule': the conclusion 'working_diagnosis' may only be"),
        ("not_kebab_id.yaml", ":2:9: rule id must be kebab-case"),
        ("unknown_rule_key.yaml", ":5:5: rule 'lung-rule': unknown key 'explanaton' (did you mean 'explanation'?)"),
        ("unknown_step.yaml", ":5:17: rule 'mass-rule': unknown next step 'biopsies' (did you mean 'biopsy'?)"),
        ("cycle.yaml", "rules depend on each other in a cycle"),
        ("unreachable.yaml", ":3:12: rule 'lonely-rule': no rule concludes working_diagnosis: alk_rearranged_imt"),
        ("unknown_on_conclusion.yaml", ":3:21: rule 'unknown-rule': 'unknown' tests observed facts"),
    ],
)
def test_bad_rule_files_are_rejected_with_positions(vocab, name, expected):
    with pytest.raises(DataError) as excinfo:
        parse(vocab, name)
    found = messages(excinfo)
    assert any(expected in m for m in found), found
    assert all(m.startswith(str(DATA / name) + ":") for m in found), found


def test_duplicate_rule_names_first_location(vocab):
    with pytest.raises(DataError) as excinfo:
        parse(vocab, "duplicate_rule_id.yaml")
    assert f"first defined at {DATA / 'duplicate_rule_id.yaml'}:2:5" in str(excinfo.value)


def test_validation_collects_every_problem(vocab):
    with pytest.raises(DataErrors) as excinfo:
        parse(vocab, "many_problems.yaml")
    text = str(excinfo.value)
    assert len(excinfo.value.errors) == 3
    assert "did you mean 'lung'?" in text
    assert "unknown fact or conclusion 'sympotms' (did you mean 'symptoms'?)" in text
    assert "unknown conclusion 'working_diagnoses' (did you mean 'working_diagnosis'?)" in text
    assert len(text.splitlines()) == 3


def test_missing_rules_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="rules folder not found"):
        load_rulebase(tmp_path / "nope")
    with pytest.raises(DataError, match=r"missing vocabulary\.yaml"):
        load_rulebase(tmp_path)


def test_a_folder_with_only_a_vocabulary_has_no_rules(tmp_path):
    (tmp_path / "vocabulary.yaml").write_text((rules_dir() / "vocabulary.yaml").read_text(encoding="utf-8"))
    with pytest.raises(DataError, match="no rule files"):
        load_rulebase(tmp_path)


# --------------------------------------------------------------------- untrusted text in messages


def test_a_key_holding_a_newline_or_a_tab_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(rules_dir(), folder)
    (folder / "extra.yaml").write_text(
        'rules:\n  - id: odd-key\n    when:\n      "block key\\n\\tx": lung\n'
        '    then:\n      suggest: [biopsy]\n    explanation: x.\n    source: "How are IMTs Diagnosed?"\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError) as caught:
        load_rulebase(folder)
    text = str(caught.value)
    assert "block key\\n\\tx" in text
    assert all(line.startswith(str(folder)) for line in text.splitlines())


# --------------------------------------------------------------------- large rule bases (issue 11 §6; no timing here)


def test_a_chain_written_last_first_loads_in_chaining_order(chain_rules) -> None:  # type: ignore[no-untyped-def]
    base = load_rulebase(chain_rules(331, last_first=True))
    assert [r.id for r in base.rules] == [f"link-{i}" for i in range(331)]
    assert rule_graph(base.rules).strata()["link-330"] == 330


def test_a_5000_rule_chain_loads_orders_and_fires_without_recursion(chain_rules) -> None:  # type: ignore[no-untyped-def]
    from imt_tutor.engines.builtin import BuiltinEngine
    from imt_tutor.models import Facts

    base = load_rulebase(chain_rules(5000, last_first=True))
    assert [r.id for r in base.rules] == [f"link-{i}" for i in range(5000)]
    graph = rule_graph(base.rules)
    assert graph.cycles() == []
    assert len(graph.upstream([graph.by_id["link-4999"]])) == 5000
    with BuiltinEngine(base) as engine:
        inference = engine.infer(Facts.of({"start": "go"}))
    assert [f.rule for f in inference.trace] == [r.id for r in base.rules]
    assert inference.trace[-1].suggested == ("finish",)


def test_a_cycle_through_a_long_chain_is_found(chain_rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = chain_rules(2000)
    text = (folder / "chain.yaml").read_text(encoding="utf-8")
    # The first rule needs the last one's conclusion instead of a fact: one cycle of 2,000 rules.
    (folder / "chain.yaml").write_text(text.replace("      start: go", "      link_1999: yes", 1), encoding="utf-8")
    with pytest.raises(DataError) as excinfo:
        load_rulebase(folder)
    (message,) = [m for m in messages(excinfo) if "cycle" in m]
    assert "rules depend on each other in a cycle (" in message
    assert message.count(" -> ") == 2000 and "link-1999 -> link-1998" in message


def test_a_rule_with_many_conditions_validates(wide_rule) -> None:  # type: ignore[no-untyped-def]
    base = load_rulebase(wide_rule(5000))
    (rule,) = base.rules
    assert isinstance(rule.when, AllOf) and len(rule.when.parts) == 5000
    assert all(isinstance(p, Is) and not p.on_conclusion for p in rule.when.parts)
    assert rule.when.parts[-1] == Is("f49", ("g", "h"), False)


def test_vocabulary_lookups_find_the_first_entry_of_each_id(vocab) -> None:  # type: ignore[no-untyped-def]
    site = vocab.fact("site")
    assert site is not None and site.value("lung") is site.values[0]
    assert site.value("nowhere") is None and vocab.fact("nothing") is None
    assert vocab.step("biopsy") is not None and vocab.conclusion("working_diagnosis") is not None
    assert vocab.label("site", "lung") == "Lung"
