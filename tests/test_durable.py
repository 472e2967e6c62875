"""The durable_rules adapter: compilation, limits, one test per durable_rules hazard,
and the differential test against the builtin evaluator.

Compilation and limit checks need no durable_rules and always run; the rest is
skipped where durable_rules cannot be imported (Python 3.13+).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imt_tutor import files
from imt_tutor.engines import durable as engine_mod
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.engines.durable import (
    CONSUMERS,
    MAX_ALPHA_TESTS,
    MAX_JOINED_FACTS,
    MAX_PENDING_TESTS,
    MAX_RULES,
    MAX_RULES_PER_TEST,
    DurableEngine,
    check_limits,
    compile_ruleset,
    patient_fact,
)
from imt_tutor.errors import DataError, EngineError, Location
from imt_tutor.graph import producers, rule_graph
from imt_tutor.loading import load_yaml_file, load_yaml_text
from imt_tutor.models import (
    AllOf,
    AnyOf,
    ConclusionKey,
    FactKey,
    Facts,
    Inference,
    Is,
    Known,
    Not,
    Rule,
    RuleBase,
    Term,
    Vocabulary,
)
from imt_tutor.rulebase import load_rulebase, order_rules, parse_rule_files
from imt_tutor.vocabulary import load_vocabulary, parse_facts

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
BASE = load_rulebase(files.rules_dir())
VOCAB = BASE.vocabulary
BUILTIN = BuiltinEngine(BASE)
EXAMPLES = sorted(files.examples_dir().glob("*.yaml"))
SYNTHETIC = "synthetic.yaml"


# --------------------------------------------------------------------- helpers


def facts_of(vocab: Vocabulary) -> st.SearchStrategy[Facts]:
    """Each fact key absent, or one value, or (multi) a non-empty set of values."""

    def one(key: FactKey) -> st.SearchStrategy[object]:
        values = st.sampled_from(key.value_ids)
        if key.multi:
            return st.one_of(st.none(), st.sets(values, min_size=1).map(lambda s: tuple(sorted(s))))
        return st.one_of(st.none(), values)

    return st.fixed_dictionaries({k.id: one(k) for k in vocab.facts}).map(
        lambda d: Facts.of({k: v for k, v in d.items() if v is not None})  # type: ignore[misc]
    )


def assert_same(got: Inference, want: Inference) -> None:
    assert got.engine == "durable_rules"
    assert got.facts == want.facts
    assert got.fired == want.fired
    assert got.conclusions() == want.conclusions()
    assert got.suggestions() == want.suggestions()
    assert got.acceptances() == want.acceptances()
    assert got.trace == want.trace


def rule_files(text: str) -> RuleBase:
    """A small rule base over the bundled vocabulary."""
    vocab = load_vocabulary(files.rules_dir() / "vocabulary.yaml")
    return parse_rule_files(vocab, [("t.yaml", load_yaml_text(text, "t.yaml"))])


def key(name: str, values: list[str], multi: bool = False) -> FactKey:
    return FactKey(name, name, name, multi, tuple(Term(v, v, v) for v in values))


def rule(rule_id: str, when, conclude=(), line: int = 1) -> Rule:  # type: ignore[no-untyped-def]
    return Rule(rule_id, when, tuple(conclude), (), "Synthetic.", "S", Location(SYNTHETIC, line, 1))


def synthetic(facts: list[FactKey], rules: list[Rule], conclusions: list[ConclusionKey] | None = None) -> RuleBase:
    vocab = Vocabulary(tuple(facts), tuple(conclusions or ()), (), ("S",), Location("vocab.yaml", 1, 1))
    return RuleBase(vocab, order_rules(tuple(rules)))


def many_tests(n: int) -> RuleBase:
    """n rules, each testing another value of one key: n tests under the patient node."""
    values = [f"v{i}" for i in range(n)]
    rules = [rule(f"r{i}", Is("k", (v,), False), line=i + 1) for i, v in enumerate(values)]
    return synthetic([key("k", values)], rules)


def many_absences(n: int) -> RuleBase:
    """n rules 'unknown: kI': with no facts at all, every one of the n tests passes at once."""
    keys = [key(f"k{i}", ["yes"]) for i in range(n)]
    return synthetic(keys, [rule(f"r{i}", Not(Known(f"k{i}")), line=i + 1) for i in range(n)])


def same_condition(n: int) -> RuleBase:
    """n rules with the very same condition: n rules end on one test."""
    return synthetic([key("k", ["yes"])], [rule(f"r{i}", Is("k", ("yes",), False), line=i + 1) for i in range(n)])


def many_rules(n: int) -> RuleBase:
    """n rules, every test node within its limits (16 x 256 two-test chains)."""
    a = key("a", [f"a{i}" for i in range(16)])
    b = key("b", [f"b{i}" for i in range(256)])
    rules = [
        rule(f"r{i}", AllOf((Is("a", (f"a{i // 256}",), False), Is("b", (f"b{i % 256}",), False))), line=i + 1)
        for i in range(n)
    ]
    return synthetic([a, b], rules)


def joined(n_conclusions: int) -> RuleBase:
    """One rule joining the case and n_conclusions conclusions, each from its own producer."""
    conclusions = [ConclusionKey(f"c{i}", "c", "c", (Term("yes", "y", "y"),)) for i in range(n_conclusions)]
    rules = [rule(f"make-{i}", Is("k", ("yes",), False), conclude=[(f"c{i}", "yes")]) for i in range(n_conclusions)]
    parts = [Is(f"c{i}", ("yes",), True) for i in range(n_conclusions)]
    rules.append(rule("join-all", AllOf((Is("k", ("yes",), False), *parts))))
    return synthetic([key("k", ["yes"])], rules, conclusions)


BOUNDARY = {
    "tests": (many_tests, Facts.of({"k": "v7"})),
    "absences": (many_absences, Facts()),
    "same": (same_condition, Facts.of({"k": "yes"})),
    "rules": (many_rules, Facts.of({"a": "a3", "b": "b200"})),
    "joined": (joined, Facts.of({"k": "yes"})),
}


def boundary_main(kind: str, n: int) -> None:
    """Run in a subprocess: build the synthetic rule base at its limit and evaluate once."""
    build, facts = BOUNDARY[kind]
    base = build(n)
    check_limits(base)
    engine = DurableEngine(base)
    result = engine.infer(facts)
    assert result.fired == BuiltinEngine(base).infer(facts).fired
    engine.close()
    print("fired", len(result.fired))


def native_error_main() -> None:
    """Run in a subprocess: an error in durable_rules' C core must not crash the process."""
    base = many_tests(100)
    engine = DurableEngine(base)
    bad = Facts((("k", tuple(f"v{i}" for i in range(100))),))  # one-valued key given 100 values
    for _ in range(3):
        try:
            engine.infer(bad)
        except EngineError as error:
            assert "303" in str(error), error
        else:
            raise AssertionError("durable_rules accepted 100 pending tests")
    assert engine.live_sessions == 3  # left behind, not touched
    good = Facts.of({"k": "v7"})
    assert engine.infer(good).fired == ("r7",)
    engine.close()
    print("ok")


def run_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=str(ROOT), check=False
    )


@pytest.fixture(scope="module")
def durable() -> None:
    """Skip where durable_rules cannot be imported. (Not ``pytest.importorskip("durable")``:
    on Python 3.13 the package imports and its C extension fails with a plain ImportError,
    which recent pytest versions no longer turn into a skip.)"""
    if not engine_mod.available():
        pytest.skip("durable_rules cannot be imported on this Python")


@pytest.fixture(scope="module")
def engine(durable: None):  # type: ignore[no-untyped-def]
    """ONE durable_rules engine over the bundled rules for the whole module."""
    built = DurableEngine(BASE)
    yield built
    built.close()


# --------------------------------------------------------------------- compilation (no durable_rules needed)


def test_compiled_ruleset_shape():
    ruleset = compile_ruleset(BASE)
    assert list(ruleset) == [r.id for r in BASE.rules] + list(CONSUMERS.values())
    for rule_id, spec in ruleset.items():
        assert set(spec) == {"all", "pri", "run"}
        assert spec["run"] == rule_id
        aliases = [next(iter(p)) for p in spec["all"]]
        assert aliases == sorted(set(aliases), key=aliases.index)
    assert ruleset[CONSUMERS["patient"]]["all"] == [{"m": {"kind": "patient"}}]
    assert ruleset[CONSUMERS["conclusion"]]["all"] == [{"m": {"kind": "conclusion"}}]
    assert json.loads(json.dumps(ruleset)) == ruleset  # pure data


def test_compiled_rules_exactly():
    ruleset = compile_ruleset(BASE)
    imt = "histology=myofibroblastic_spindle_cells_with_inflammatory_infiltrate"
    mass = [{"kind": "conclusion"}, {"key": "working_diagnosis"}, {"value": "mass_under_investigation"}]
    assert ruleset["mass-mimics-malignancy"] == {
        "all": [{"p": {"$and": [{"kind": "patient"}, {"$nex": {imt: 1}}]}}, {"c0": {"$and": mass}}],
        "pri": 1,
        "run": "mass-mimics-malignancy",
    }
    sites = [{"$ex": {f"site={s}": 1}} for s in ("lung", "abdomen", "pelvis")]
    assert ruleset["common-site"]["all"] == [{"p": {"$and": [{"kind": "patient"}, {"$or": sites}]}}]
    assert ruleset["no-alteration-identified"]["all"][0] == {
        "p": {"$and": [{"kind": "patient"}, {"$ex": {"ros1=not_rearranged": 1}}, {"$ex": {"pdgfrb=not_rearranged": 1}}]}
    }
    assert ruleset["alk-negative-other-alterations"]["all"][0] == {
        "p": {
            "$and": [
                {"kind": "patient"},
                {"$nex": {"ros1=rearranged": 1}},
                {"$nex": {"pdgfrb=rearranged": 1}},
                {"$or": [{"$nex": {"ros1": 1}}, {"$nex": {"pdgfrb": 1}}]},
            ]
        }
    }
    # only conclusion conditions: no patient pattern at all
    assert [next(iter(p)) for p in ruleset["alk-inhibitor-option"]["all"]] == ["c0", "c1"]


def test_negation_is_pushed_down_to_absence_tests():
    base = rule_files(
        """
rules:
  - id: neither
    when:
      not:
        any:
          - site: [lung, liver]
          - known: histology
    then: {suggest: [biopsy]}
    explanation: Test.
    source: "How are IMTs Diagnosed?"
  - id: not-both
    when:
      all:
        - known: site
        - not:
            all:
              - site: lung
              - symptoms: cough
    then: {suggest: [biopsy]}
    explanation: Test.
    source: "How are IMTs Diagnosed?"
"""
    )
    ruleset = compile_ruleset(base)
    assert ruleset["neither"]["all"] == [
        {
            "p": {
                "$and": [
                    {"kind": "patient"},
                    {"$nex": {"site=lung": 1}},
                    {"$nex": {"site=liver": 1}},
                    {"$nex": {"histology": 1}},
                ]
            }
        }
    ]
    assert ruleset["not-both"]["all"] == [
        {
            "p": {
                "$and": [
                    {"kind": "patient"},
                    {"$ex": {"site": 1}},
                    {"$or": [{"$nex": {"site=lung": 1}}, {"$nex": {"symptoms=cough": 1}}]},
                ]
            }
        }
    ]


def test_compiling_needs_no_durable(monkeypatch):
    monkeypatch.setattr(engine_mod, "_durable", lambda: None)
    assert not engine_mod.available()
    assert "not available" in engine_mod.engine_label()
    assert compile_ruleset(BASE)
    check_limits(BASE)
    with pytest.raises(EngineError, match="not available"):
        DurableEngine(BASE)


def test_patient_fact_has_a_flag_per_key_and_value():
    facts = Facts.of({"site": "lung", "symptoms": ("cough", "pain")})
    assert patient_fact(facts, "s1") == {
        "kind": "patient",
        "sid": "s1",
        "site": 1,
        "site=lung": 1,
        "symptoms": 1,
        "symptoms=cough": 1,
        "symptoms=pain": 1,
    }
    assert patient_fact(Facts(), "s2") == {"kind": "patient", "sid": "s2"}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), facts=facts_of(VOCAB))
def test_patient_fact_ignores_insertion_order(data, facts):
    items = data.draw(st.permutations(list(facts.items)))
    mapping = dict(items)
    assert Facts.of(mapping) == facts
    assert patient_fact(Facts(tuple(items)), "s") == patient_fact(facts, "s")
    assert json.dumps(patient_fact(Facts(tuple(items)), "s"), sort_keys=True) == json.dumps(
        patient_fact(facts, "s"), sort_keys=True
    )


# --------------------------------------------------------------------- salience (no durable_rules needed)


def test_salience_is_the_chaining_depth_and_never_negative():
    ruleset = compile_ruleset(BASE)
    depth = rule_graph(BASE.rules).strata()
    for r in BASE.rules:
        assert ruleset[r.id]["pri"] == depth[r.id] >= 0
        for cond in r.conclusion_conditions():
            for producer in producers(BASE.rules, cond.key, cond.values):
                assert ruleset[producer.id]["pri"] < ruleset[r.id]["pri"]
    assert max(depth.values()) >= 3  # the bundled rules do chain
    for name in CONSUMERS.values():
        assert isinstance(ruleset[name]["pri"], int) and ruleset[name]["pri"] >= 0


# --------------------------------------------------------------------- limits (no durable_rules needed)


def test_bundled_rules_are_within_limits():
    check_limits(BASE)


def test_too_many_tests_under_one_node_are_rejected():
    base = many_tests(600)
    with pytest.raises(DataError) as caught:
        check_limits(base)
    message = str(caught.value)
    assert f"{MAX_ALPHA_TESTS}" in message and "600" in message and "hangs" in message
    assert caught.value.location == Location(SYNTHETIC)
    with pytest.raises(DataError):
        check_limits(many_tests(MAX_ALPHA_TESTS))  # measured: 512 hangs too
    check_limits(many_tests(MAX_ALPHA_TESTS - 1))


def test_limits_are_checked_before_any_host_is_built(monkeypatch):
    def no_host() -> None:
        raise AssertionError("a durable_rules Host was about to be built")

    monkeypatch.setattr(engine_mod, "_host_class", no_host)
    with pytest.raises(DataError, match="600"):
        DurableEngine(many_tests(600))


def test_too_many_rules_are_rejected():
    limit = MAX_RULES - len(CONSUMERS)
    check_limits(many_rules(limit))
    with pytest.raises(DataError) as caught:
        check_limits(many_rules(limit + 1))
    assert f"at most {MAX_RULES} rules" in str(caught.value) and f"{MAX_RULES + 1}" in str(caught.value)


def test_too_many_joined_facts_are_rejected():
    check_limits(joined(MAX_JOINED_FACTS - 1))  # the case + 15 conclusions = 16 facts
    with pytest.raises(DataError) as caught:
        check_limits(joined(MAX_JOINED_FACTS))
    message = str(caught.value)
    assert "join-all" in message and f"at most {MAX_JOINED_FACTS}" in message and f"{MAX_JOINED_FACTS + 1}" in message


def test_too_many_pending_tests_are_rejected():
    check_limits(many_absences(MAX_PENDING_TESTS))
    with pytest.raises(DataError, match=f"{MAX_PENDING_TESTS + 1}"):
        check_limits(many_absences(MAX_PENDING_TESTS + 1))


def test_too_many_rules_on_one_test_are_rejected():
    check_limits(same_condition(MAX_RULES_PER_TEST - 1))
    with pytest.raises(DataError, match="crashes"):
        check_limits(same_condition(MAX_RULES_PER_TEST))


def test_too_complex_patterns_are_rejected():
    def base(groups: int) -> RuleBase:
        keys = [key(f"k{i}", ["x", "y"]) for i in range(groups)]
        when = AllOf(tuple(AnyOf((Is(f"k{i}", ("x",), False), Known(f"k{i}"))) for i in range(groups)))
        return synthetic(keys, [rule("complex", when)])

    check_limits(base(14))  # one '$and' and 14 '$or': 15
    with pytest.raises(DataError, match="and/or groups"):
        check_limits(base(15))


def test_too_many_fact_properties_are_rejected():
    base = synthetic([key("k", [f"v{i}" for i in range(300)], multi=True)], [rule("r", Known("k"))])
    with pytest.raises(DataError, match="properties"):
        check_limits(base)


@pytest.mark.parametrize("name", ["kind", "sid", "id"])
def test_reserved_fact_keys_are_rejected(name):
    base = synthetic([key(name, ["yes"])], [rule("r", Known(name))])
    with pytest.raises(DataError, match="reserved"):
        check_limits(base)
    assert patient_fact(Facts.of({name: "yes"}), "s1")["kind"] == "patient"
    assert patient_fact(Facts.of({name: "yes"}), "s1")["sid"] == "s1"


# Two flags whose 32-bit FNV-1a hashes collide: durable_rules cannot tell them apart.
COLLIDING = ("d6afcb9684", "561e3213d5")


def test_hash_colliding_names_are_rejected():
    assert engine_mod._fnv1a32(f"k={COLLIDING[0]}") == engine_mod._fnv1a32(f"k={COLLIDING[1]}")
    base = synthetic([key("k", list(COLLIDING))], [rule("r", Is("k", (COLLIDING[0],), False))])
    with pytest.raises(DataError, match="32-bit hash"):
        check_limits(base)


# --------------------------------------------------------------------- hazards (durable_rules needed)


SURVIVES = """
from imt_tutor.files import rules_dir
from imt_tutor.engines.durable import DurableEngine
from imt_tutor.models import Facts
from imt_tutor.rulebase import load_rulebase
engine = DurableEngine(load_rulebase(rules_dir()))
for facts in ({}, {"recurrence": "absent"}, {"local_invasion": "absent"}, {}, {"site": "lung"}, {}):
    for _ in range(3):
        engine.infer(Facts.of(facts))
engine.close()
print("survived")
"""

CRASHES = """
from durable import engine
class H(engine.Host):
    def _run(self):
        pass
    def get_action(self, name):
        return lambda c: None
h = H()
h.set_rulesets({"rs": {"r": {"all": [{"p": {"$and": [{"kind": "patient"}, {"$ex": {"a": 1}}]}}], "run": "r"}}})
try:
    h.assert_fact("rs", {"kind": "patient", "sid": "1"})
except engine.MessageNotHandledException:
    pass
h.delete_state("rs", "1")
print("survived")
"""


def test_facts_matching_no_rule_do_not_crash(durable):
    done = run_python(SURVIVES)
    assert done.returncode == 0, done.stderr  # a segfault would be -11
    assert "survived" in done.stdout


def test_the_segfault_hazard_is_real(durable):
    """Without a consumer rule, deleting the session crashes the process: the test above can fail."""
    done = run_python(CRASHES)
    if done.returncode == 0 and "survived" in done.stdout:
        # Measured on Python 3.10 and 3.11 (SIGSEGV); on 3.12 the freed memory happens to survive.
        pytest.skip("the delete_state crash of a bare Host does not reproduce on this Python")
    assert done.returncode < 0 and "survived" not in done.stdout


def test_sessions_are_deleted(engine):
    facts = [Facts(), Facts.of({"site": "lung", "symptoms": ("cough",)}), Facts.of({"imaging_finding": "mass"})]
    sids = set()
    for i in range(2000):  # more than the 1,024 live sessions durable_rules allows
        engine.infer(facts[i % 3])
        sids.add(engine.last_sid)
        assert engine.live_sessions == 0
    assert len(sids) == 2000  # never reused
    with pytest.raises(Exception, match="309"):  # sid not found: the state is gone
        engine.host.get_state(engine.ruleset_name, engine.last_sid)


def test_one_session_at_a_time(engine):
    facts = Facts.of({"site": "lung", "symptoms": ("cough",), "imaging_finding": "mass"})
    want = BUILTIN.infer(facts)
    results: list[Inference] = []

    def work() -> None:
        for _ in range(100):
            results.append(engine.infer(facts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400
    for got in results:
        assert_same(got, want)
    assert engine.peak_sessions == 1
    assert engine.live_sessions == 0


def test_no_threads_are_started(durable):
    before = set(threading.enumerate())
    built = DurableEngine(BASE)
    for _ in range(5):
        built.infer(Facts.of({"site": "lung"}))
    after = set(threading.enumerate())
    assert after == before
    assert not any(isinstance(t, threading.Timer) for t in after)
    assert not hasattr(built.host, "_d_timer") and not hasattr(built.host, "_t_timer")
    built.close()


def test_closed_engine_refuses_to_run(durable):
    built = DurableEngine(BASE)
    built.close()
    built.close()
    with pytest.raises(EngineError, match="closed"):
        built.infer(Facts())


LUNG_MASS = Facts.of({"site": "lung", "symptoms": ("cough",), "imaging_finding": "mass"})


def test_action_errors_are_raised_not_swallowed(engine, monkeypatch):
    def boom(rule_id, c):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"boom in {rule_id}")

    monkeypatch.setattr(engine, "_fire", boom)
    with pytest.raises(EngineError, match="boom in"):
        engine.infer(LUNG_MASS)
    assert engine.live_sessions == 0
    monkeypatch.undo()
    assert_same(engine.infer(LUNG_MASS), BUILTIN.infer(LUNG_MASS))


def test_errors_durable_stores_in_the_state_are_raised(engine, monkeypatch):
    def boom(rule_id, c):  # type: ignore[no-untyped-def]
        raise RuntimeError("escaped the adapter")

    monkeypatch.setattr(engine, "_run_action", boom)  # durable_rules itself catches this one
    with pytest.raises(EngineError, match="escaped the adapter"):
        engine.infer(LUNG_MASS)
    assert engine.live_sessions == 0
    monkeypatch.undo()
    assert_same(engine.infer(LUNG_MASS), BUILTIN.infer(LUNG_MASS))


def test_keyboard_interrupt_in_an_action_is_not_swallowed(engine, monkeypatch):
    def interrupt(rule_id, c):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "_fire", interrupt)
    with pytest.raises(KeyboardInterrupt):
        engine.infer(LUNG_MASS)
    monkeypatch.undo()
    assert_same(engine.infer(LUNG_MASS), BUILTIN.infer(LUNG_MASS))


DUPLICATES = """
rules:
  - id: lung-is-common
    when: {site: lung}
    then: {conclude: {site_frequency: common_site}}
    explanation: First producer.
    source: "Where Do IMTs Commonly Occur?"
  - id: cough-is-common
    when: {symptoms: cough}
    then: {conclude: {site_frequency: common_site}}
    explanation: Second producer of the same conclusion.
    source: "Where Do IMTs Commonly Occur?"
  - id: common-needs-imaging
    when: {site_frequency: common_site}
    then: {suggest: [cross_sectional_imaging]}
    explanation: The consumer.
    source: "How are IMTs Diagnosed?"
"""


def test_two_rules_concluding_the_same_fire_once_each(durable, monkeypatch):
    base = rule_files(DUPLICATES)
    built = DurableEngine(base)
    original = built._fire
    calls: list[str] = []

    def counting(rule_id, c):  # type: ignore[no-untyped-def]
        calls.append(rule_id)
        original(rule_id, c)

    monkeypatch.setattr(built, "_fire", counting)
    facts = Facts.of({"site": "lung", "symptoms": ("cough",)})
    result = built.infer(facts)
    built.close()
    assert result.fired == ("lung-is-common", "cough-is-common", "common-needs-imaging")
    assert calls.count("common-needs-imaging") == 2  # durable_rules fired it once per conclusion fact
    assert result.suggestions() == (("cross_sectional_imaging", ("common-needs-imaging",)),)
    assert result.conclusions() == (("site_frequency", "common_site", ("lung-is-common", "cough-is-common")),)
    assert_same(result, BuiltinEngine(base).infer(facts))


OVERLAPPING = """
rules:
  - id: histology-imt
    when: {histology: myofibroblastic_spindle_cells_with_inflammatory_infiltrate}
    then: {conclude: {working_diagnosis: consistent_with_imt}}
    explanation: Producer.
    source: "How are IMTs Diagnosed?"
  - id: mass-seen
    when: {imaging_finding: mass}
    then: {conclude: {working_diagnosis: mass_under_investigation}}
    explanation: Producer.
    source: "How are IMTs Diagnosed?"
  - id: two-views
    when:
      all:
        - working_diagnosis: [mass_under_investigation, consistent_with_imt]
        - working_diagnosis: [consistent_with_imt, alk_negative_imt]
    then: {suggest: [alk_immunohistochemistry]}
    explanation: Two conditions that one conclusion can meet together.
    source: "How are IMTs Diagnosed?"
"""


@pytest.mark.parametrize(
    "facts",
    [
        {"histology": "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"},
        {"imaging_finding": "mass"},
        {"imaging_finding": "mass", "histology": "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"},
    ],
)
def test_one_conclusion_can_meet_two_conditions(durable, facts):
    """durable_rules never binds one fact to two patterns: each gets its own copy (slot)."""
    base = rule_files(OVERLAPPING)
    assert {"slot": 1} in compile_ruleset(base)["two-views"]["all"][1]["c1"]["$and"]
    built = DurableEngine(base)
    try:
        f = Facts.of(facts)
        assert_same(built.infer(f), BuiltinEngine(base).infer(f))
    finally:
        built.close()


def test_conclusions_rejected_by_a_hash_collision_are_retried(engine, monkeypatch):
    observed = engine._durable_engine.MessageObservedException
    original = engine._fire
    asserted: list[dict[str, object]] = []

    class Colliding:
        """Reports every first try of a conclusion as 'already observed'."""

        def __init__(self, c) -> None:  # type: ignore[no-untyped-def]
            self.c = c

        def assert_fact(self, fact):  # type: ignore[no-untyped-def]
            asserted.append(dict(fact))
            if "salt" not in fact:
                raise observed(fact)
            return self.c.assert_fact(fact)

    monkeypatch.setattr(engine, "_fire", lambda rule_id, c: original(rule_id, Colliding(c)))
    result = engine.infer(LUNG_MASS)
    assert_same(result, BUILTIN.infer(LUNG_MASS))
    assert "mass-needs-biopsy" in result.fired  # depends on a conclusion that had to be retried
    assert any(f.get("salt") == 1 for f in asserted)


def test_the_hash_collision_hazard_is_real(durable, monkeypatch):
    """With the limit check bypassed, a flag is mistaken for another one: why names are checked."""
    base = synthetic([key("k", list(COLLIDING))], [rule("r", Is("k", (COLLIDING[0],), False))])
    monkeypatch.setattr(engine_mod, "check_limits", lambda base, ruleset=None: None)
    built = DurableEngine(base)
    try:
        facts = Facts.of({"k": COLLIDING[1]})
        assert BuiltinEngine(base).infer(facts).fired == ()
        assert built.infer(facts).fired == ("r",)
    finally:
        built.close()


@pytest.mark.parametrize(
    "facts",
    [{}] + [{f.id: (v,) if f.multi else v} for f in VOCAB.facts for v in f.value_ids],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "empty",
)
def test_any_single_fact_evaluates_like_the_builtin_engine(engine, facts):
    f = Facts.of(facts)
    assert_same(engine.infer(f), BUILTIN.infer(f))


def test_unused_fact_alone(engine):
    unused = Facts.of({"recurrence": "absent"})
    assert not any("recurrence=absent" in json.dumps(spec) for spec in compile_ruleset(BASE).values())
    result = engine.infer(unused)
    assert result.fired == ()
    assert_same(result, BUILTIN.infer(unused))


def test_errors_in_the_c_core_do_not_crash(durable):
    code = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import test_durable as t; t.native_error_main()"
    done = run_python(code)
    assert done.returncode == 0, done.stderr[-2000:]  # touching such a session would be -11
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("kind", "n"),
    [
        ("tests", MAX_ALPHA_TESTS - 1),
        ("absences", MAX_PENDING_TESTS),
        ("same", MAX_RULES_PER_TEST - 1),
        ("rules", MAX_RULES - len(CONSUMERS)),
        ("joined", MAX_JOINED_FACTS - 1),
    ],
)
def test_rule_bases_at_the_limits_run(durable, kind, n):
    """Each limit is tight: durable_rules builds and runs the largest accepted rule base (in a
    subprocess, as past some limits it hangs or crashes)."""
    code = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import test_durable as t; t.boundary_main({kind!r}, {n})"
    done = run_python(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("fired ")


# --------------------------------------------------------------------- order independence


@settings(max_examples=200, deadline=None)
@given(data=st.data(), facts=facts_of(VOCAB))
def test_fact_order_never_changes_the_answer(engine, data, facts):
    items = data.draw(st.permutations(list(facts.items)))
    unsorted = Facts(tuple(items))
    got, want = engine.infer(unsorted), engine.infer(facts)
    assert got.fired == want.fired
    assert got.conclusions() == want.conclusions()
    assert got.suggestions() == want.suggestions()


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_rule_order_never_changes_the_answer(durable, data):
    rules = data.draw(st.permutations(list(BASE.rules)))
    shuffled = RuleBase(VOCAB, tuple(rules))
    built = DurableEngine(shuffled)
    try:
        for _ in range(5):
            facts = data.draw(facts_of(VOCAB))
            got, want = built.infer(facts), BUILTIN.infer(facts)
            assert set(got.fired) == set(want.fired)
            assert {(k, v) for k, v, _ in got.conclusions()} == {(k, v) for k, v, _ in want.conclusions()}
            assert {s for s, _ in got.suggestions()} == {s for s, _ in want.suggestions()}
    finally:
        built.close()


# --------------------------------------------------------------------- differential test


def test_there_are_examples():
    assert EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_match_the_builtin_engine(engine, path):
    facts = parse_facts(VOCAB, load_yaml_file(path))
    assert_same(engine.infer(facts), BUILTIN.infer(facts))


def test_accepted_steps_match_the_builtin_engine(engine):
    facts = Facts.of(
        {
            "histology": "myofibroblastic_spindle_cells_with_inflammatory_infiltrate",
            "alk_ihc": "negative",
            "excision": "complete",
            "recurrence": "present",
            "resectability": "resectable",
        }
    )
    got = engine.infer(facts)
    assert got.acceptances() == (("surgical_resection", ("re-resection-accepted",)),)
    assert_same(got, BUILTIN.infer(facts))


@settings(max_examples=1000, deadline=None)
@given(facts=facts_of(VOCAB))
def test_generated_cases_match_the_builtin_engine(engine, facts):
    assert_same(engine.infer(facts), BUILTIN.infer(facts))


LOGIC = """
rules:
  - id: nested-negation
    when:
      all:
        - not:
            any:
              - site: [lung, liver]
              - all:
                  - symptoms: [cough, fever]
                  - unknown: imaging
        - known: presentation
    then: {conclude: {symptom_pattern: general_symptoms}}
    explanation: Test.
    source: "What are the Symptoms of IMTs?"
  - id: alternatives
    when:
      any:
        - all:
            - imaging: ct
            - not: {imaging_finding: no_mass}
        - not:
            all:
              - known: histology
              - alk_ihc: [positive, negative]
    then: {conclude: {working_diagnosis: mass_under_investigation}}
    explanation: Test.
    source: "How are IMTs Diagnosed?"
  - id: chained
    when:
      all:
        - symptom_pattern: general_symptoms
        - working_diagnosis: mass_under_investigation
        - not: {symptoms: pain}
    then: {suggest: [biopsy]}
    explanation: Test.
    source: "How are IMTs Diagnosed?"
"""


@pytest.fixture(scope="module")
def logic(durable):  # type: ignore[no-untyped-def]
    base = rule_files(LOGIC)
    built = DurableEngine(base)
    yield base, built
    built.close()


@settings(max_examples=300, deadline=None)
@given(facts=facts_of(VOCAB))
def test_nested_logic_matches_the_builtin_engine(logic, facts):
    base, built = logic
    assert_same(built.infer(facts), BuiltinEngine(base).infer(facts))


# --------------------------------------------------------------------- the rule base itself


@settings(max_examples=500, deadline=None)
@given(facts=facts_of(VOCAB))
def test_no_suggested_step_is_already_done(facts):
    for step_id, _ in BUILTIN.infer(facts).suggestions():
        step = BASE.vocabulary.step(step_id)
        assert step is not None
        assert not step.is_done(facts), f"{step_id} suggested although done: {facts}"


def test_the_version_is_found_without_importlib_metadata() -> None:
    # dist_version reads the .dist-info folder beside the module: what importlib.metadata says.
    from importlib import metadata

    from imt_tutor import dist_version

    assert dist_version("no-such-project", "no_such_module_here") is None
    found = dist_version("durable_rules", "durable_rules_engine", "durable")
    try:
        expected = metadata.version("durable_rules")
    except metadata.PackageNotFoundError:
        assert found is None
    else:
        assert found == expected
    assert dist_version("pyyaml", "_yaml") in (metadata.version("pyyaml"), "")
