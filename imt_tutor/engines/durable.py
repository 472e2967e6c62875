"""The durable_rules adapter: the rule base compiled to durable_rules JSON rulesets.

This is the only module that touches durable_rules. durable-rules 2.0.28 has
sharp edges (see ``shared/notes/durable-rules.md``); the scheme here avoids
them by construction:

- one ``patient`` fact per evaluation, holding a flag per known fact key
  (``"K": 1``) and per value (``"K=v": 1``), so every observed condition,
  negation included, is a test inside that one fact (``$ex`` / ``$nex``) and
  no answer depends on the order facts arrive in;
- actions assert ``conclusion`` facts; conclusions are never negated;
- a consumer rule for each kind of fact, so no fact goes unhandled (which
  would lose derived facts or crash ``delete_state``);
- salience (``pri``) is the chaining depth, never negative;
- a fresh session id per evaluation, one session live at a time, deleted
  after it (unless touching it would crash the process, see ``_evaluate``);
  errors swallowed by durable_rules are looked for and raised;
- the structural limits of its C core are checked before any ruleset is
  built (:func:`check_limits`), because past some of them it hangs or crashes.

The trace is rebuilt with :func:`~imt_tutor.engines.builtin.canonical_trace`, so
this engine and the builtin one report in the same canonical order.
"""

from __future__ import annotations

import copy
import functools
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .. import dist_version
from ..errors import DataError, DataErrors, EngineError, Location
from ..graph import rule_graph
from ..models import AllOf, AnyOf, Condition, Facts, Inference, Is, Known, Not, Rule, RuleBase
from .builtin import canonical_trace

ENGINE_NAME = "durable_rules"

# Limits of durable_rules' C core (rete.c / rules.h of 2.0.28), measured here.
MAX_ALPHA_TESTS = 512  # hash slots per alpha node: with all of them taken, createRuleset/assert loop forever
MAX_RULES = 4096  # MAX_ACTIONS: rule 4,097 is refused
MAX_JOINED_FACTS = 16  # facts joined by one rule; 17 fails while the rule runs (error 307)
MAX_NEGATED_TESTS = 128  # NEXT_LIST_LENGTH: '$nex' tests and '$or' joins under one alpha node
MAX_RULES_PER_TEST = 256  # BETA_LIST_LENGTH: rules ending on one alpha node; 256 segfaults
MAX_OPERATORS = 15  # '$and'/'$or' per fact pattern (MAX_SEQUENCE_EXPRESSIONS 32, two entries each)
MAX_PENDING_TESTS = 64  # MAX_STACK_SIZE: alpha nodes pending at once while one fact is matched
MAX_FACT_PROPERTIES = 252  # properties of one fact (kind and sid included); more fails with error 302

PATIENT = "patient"
CONCLUSION = "conclusion"
PATIENT_ALIAS = "p"
CONSUMERS = {PATIENT: "consume:patient", CONCLUSION: "consume:conclusion"}
RESERVED = frozenset({"kind", "sid", "id"})  # fields of the patient fact durable_rules reads itself
MAX_SALT = 8  # retries of a conclusion rejected as "already observed" by a 32-bit hash collision

_RULESET_IDS = itertools.count(1)  # a new ruleset name per DurableEngine
_SESSION_IDS = itertools.count(1)  # session ids are never reused in a process
_SESSION_LOCK = threading.Lock()  # one live session at a time, process-wide


# --------------------------------------------------------------------- availability


@functools.lru_cache(maxsize=1)
def _durable() -> tuple[ModuleType, ModuleType] | None:
    """``(durable.engine, durable_rules_engine)``, or None where they cannot be imported."""
    try:
        import durable_rules_engine
        from durable import engine
    except (ImportError, OSError):
        return None
    import logging  # here: only an engine that loads durable_rules needs it (and its import time)

    # durable logs some action failures through 'durable'; they are raised here instead,
    # so keep the logging module's last-resort handler from printing them to stderr.
    logging.getLogger("durable").addHandler(logging.NullHandler())
    return engine, durable_rules_engine


def available() -> bool:
    """Whether durable_rules can be used on this Python (not on 3.13+)."""
    return _durable() is not None


def installed_version() -> str | None:
    """The installed durable_rules' version (see :func:`imt_tutor.dist_version`)."""
    return dist_version("durable_rules", "durable_rules_engine", "durable")


def engine_label() -> str:
    """``durable_rules 2.0.28``, or a note that it is unavailable."""
    if not available():
        return f"{ENGINE_NAME} (not available)"
    version = installed_version()
    return f"{ENGINE_NAME} {version}" if version else ENGINE_NAME


# --------------------------------------------------------------------- compilation


def _flag(key: str, value: str) -> str:
    return f"{key}={value}"


def patient_fact(facts: Facts, sid: str) -> dict[str, Any]:
    """The one fact asserted per evaluation: a flag per known key and per value."""
    fact: dict[str, Any] = {}
    for key, _ in facts.items:
        fact[key] = 1
        for value in facts.values_of(key):
            fact[_flag(key, value)] = 1
    fact.update(kind=PATIENT, sid=sid)  # last: a fact key of these names cannot overwrite them
    return fact


def _join(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``{op: parts}`` with nested ``op`` lists flattened and repeated parts dropped
    (found by their text, so joining is linear); a single part stands alone."""
    if len(parts) == 1 and not (len(parts[0]) == 1 and op in parts[0]):
        return parts[0]
    flat: list[dict[str, Any]] = []
    seen: set[str] = set()
    for part in parts:
        if len(part) == 1 and op in part:
            flat.extend(part[op])  # as written: only the parts that follow are compared with them
            seen.update(map(repr, part[op]))
            continue
        text = repr(part)  # every expression here is a one-key dict, built in one order: repr is exact
        if text not in seen:
            seen.add(text)
            flat.append(part)
    return flat[0] if len(flat) == 1 else {op: flat}


def _observed(cond: Condition, positive: bool, rule: Rule) -> dict[str, Any]:
    """An observed condition as tests on the patient fact's flags (negation pushed down)."""
    if isinstance(cond, Is):
        if cond.on_conclusion:
            raise DataError(
                f"rule '{rule.id}': the conclusion '{cond.key}' may only be required at the top level of 'when'",
                cond.location or rule.location,
            )
        test = "$ex" if positive else "$nex"
        atoms = [{test: {_flag(cond.key, v): 1}} for v in dict.fromkeys(cond.values)]
        return _join("$or" if positive else "$and", atoms)
    if isinstance(cond, Known):
        return {"$ex" if positive else "$nex": {cond.key: 1}}
    if isinstance(cond, (AllOf, AnyOf)):
        conjunctive = isinstance(cond, AllOf) == positive
        return _join("$and" if conjunctive else "$or", [_observed(p, positive, rule) for p in cond.parts])
    if isinstance(cond, Not):
        return _observed(cond.part, not positive, rule)
    raise TypeError(f"not a condition: {cond!r}")


def _top_level(rule: Rule) -> tuple[list[Condition], list[Is]]:
    parts = rule.when.parts if isinstance(rule.when, AllOf) else (rule.when,)
    observed: list[Condition] = []
    derived: list[Is] = []
    for part in parts:
        if isinstance(part, Is) and part.on_conclusion:
            derived.append(part)
        else:
            observed.append(part)
    return observed, derived


def conclusion_slots(base: RuleBase) -> dict[str, int]:
    """How many copies of each conclusion fact to assert, per conclusion key.

    durable_rules never binds one fact to two patterns of a rule, so a rule
    with two conditions on the same conclusion key (``working_diagnosis: [a, b]``
    and ``working_diagnosis: [b, c]``) could not be met by the one fact ``b``.
    Each such condition gets its own copy (``"slot": n``); keys needed at most
    once per rule get one fact with no slot.
    """
    slots: dict[str, int] = {}
    for rule in base.rules:
        counts: dict[str, int] = {}
        for cond in _top_level(rule)[1]:
            counts[cond.key] = counts.get(cond.key, 0) + 1
        for key, n in counts.items():
            slots[key] = max(slots.get(key, 1), n)
    return slots


def conclusion_facts(rule: Rule, slots: dict[str, int]) -> tuple[dict[str, Any], ...]:
    """The facts a rule's action asserts (without sid)."""
    out: list[dict[str, Any]] = []
    for key, value in rule.conclude:
        fact: dict[str, Any] = {"kind": CONCLUSION, "key": key, "value": value, "by": rule.id}
        n = slots.get(key, 1)
        if n == 1:
            out.append(fact)
        else:
            out.extend(dict(fact, slot=i) for i in range(n))
    return tuple(out)


def _compile_rule(rule: Rule, pri: int, slots: dict[str, int]) -> dict[str, Any]:
    observed, derived = _top_level(rule)
    patterns: list[dict[str, Any]] = []
    if observed:
        tests = [_observed(c, True, rule) for c in observed]
        patterns.append({PATIENT_ALIAS: _join("$and", [{"kind": PATIENT}, *tests])})
    used: dict[str, int] = {}
    for i, cond in enumerate(derived):
        values = [{"value": v} for v in dict.fromkeys(cond.values)]
        tests = [{"kind": CONCLUSION}, {"key": cond.key}]
        if slots.get(cond.key, 1) > 1:
            tests.append({"slot": used.get(cond.key, 0)})
            used[cond.key] = used.get(cond.key, 0) + 1
        tests.append(_join("$or", values))
        patterns.append({f"c{i}": {"$and": tests}})
    if not patterns:
        raise DataError(f"rule '{rule.id}' has no condition", rule.location)
    return {"all": patterns, "pri": pri, "run": rule.id}


def compile_ruleset(base: RuleBase) -> dict[str, Any]:
    """The rule base as a durable_rules ruleset: ``{rule_id: {"all", "pri", "run"}}``.

    Pure data (it does not need durable_rules). Rules come in canonical order,
    then one consumer rule per kind of fact.
    """
    depth = rule_graph(base.rules).strata()
    slots = conclusion_slots(base)
    ruleset: dict[str, Any] = {}
    for rule in base.rules:
        if rule.id in CONSUMERS.values():
            raise DataError(f"rule id '{rule.id}' is reserved by the durable_rules engine", rule.location)
        ruleset[rule.id] = _compile_rule(rule, depth[rule.id], slots)
    last = max(depth.values(), default=-1) + 1
    for kind, name in CONSUMERS.items():
        ruleset[name] = {"all": [{"m": {"kind": kind}}], "pri": last, "run": name}
    return ruleset


# --------------------------------------------------------------------- limits


def _fnv1a32(text: str) -> int:
    """durable_rules' 32-bit name hash (``fnv1Hash32``: FNV-1a over signed chars)."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value ^= byte if byte < 0x80 else (byte - 0x100) & 0xFFFFFFFF
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


@dataclass(eq=False, slots=True)
class _Alpha:
    """A node of the model of durable_rules' alpha network (rete.c createAlpha)."""

    test: tuple[str, str, Any]  # (operator, property, value); ("$forward", "", None) for an '$or' join
    rule: str  # the first rule that needed it
    hashed: dict[tuple[str, str, Any], _Alpha] = field(default_factory=dict)  # equality / $ex tests
    listed: list[_Alpha] = field(default_factory=list)  # $nex tests and '$or' joins
    betas: int = 0
    absent: dict[tuple[str, str, Any], _Alpha] = field(default_factory=dict)  # the $nex tests of ``listed``

    def children(self) -> list[_Alpha]:
        return [*self.hashed.values(), *self.listed]


def _atom(expr: dict[str, Any]) -> tuple[str, str, Any]:
    ((name, value),) = expr.items()
    if name in ("$ex", "$nex"):
        ((prop, arg),) = value.items()
        return name, prop, arg
    return "$eq", name, value


def _add(node: _Alpha, expr: dict[str, Any], rule: str) -> _Alpha:
    """Add one pattern expression under ``node``; return the node its matches reach."""
    if "$and" in expr:
        for part in expr["$and"]:
            node = _add(node, part, rule)
        return node
    if "$or" in expr:
        join = _Alpha(("$forward", "", None), rule)
        for part in expr["$or"]:
            _add(node, part, rule).listed.append(join)
        return join
    test = _atom(expr)
    found = node.hashed.get(test) or node.absent.get(test)
    if found is None:
        found = _Alpha(test, rule)
        if test[0] == "$nex":
            node.listed.append(found)
            node.absent[test] = found
        else:
            node.hashed[test] = found
    return found


def _operators(expr: dict[str, Any]) -> int:
    """The '$and'/'$or' groups of one pattern expression (iterative: one loop over its nodes)."""
    count = 0
    todo = [expr]
    while todo:
        node = todo.pop()
        for op in ("$and", "$or"):
            if op in node:
                count += 1
                todo.extend(node[op])
                break
    return count


def _group(test: tuple[str, str, Any], single: dict[str, bool]) -> str:
    """Tests in one group cannot pass together on one fact (one value per property)."""
    op, prop, _ = test
    if op == "$eq":
        return prop
    key, sep, _ = prop.partition("=")
    return f"{key}=" if sep and single.get(key, False) else prop


def _pending(root: _Alpha, single: dict[str, bool]) -> int:
    """An upper bound of the alpha nodes pending at once while one fact is matched.

    Matching is depth first with an explicit stack: a node pushes every child
    that passes, then the last one pushed is expanded first.
    """
    done: dict[_Alpha, int] = {}  # nodes compare by identity
    stack = [root]
    while stack:
        node = stack[-1]
        if node in done:
            stack.pop()
            continue
        children = node.children()
        if len(children) <= 1:  # most nodes: a leaf, or one test (one group) then its child
            if not children:
                done[node] = 0
            elif children[0] in done:
                done[node] = max(1, done[children[0]])
            else:
                stack.append(children[0])
                continue
            stack.pop()
            continue
        waiting = [c for c in children if c not in done]
        if waiting:  # the children first; this node is seen again once they are done
            stack.extend(waiting)
            continue
        stack.pop()
        groups = {_group(t, single) for t in node.hashed} if node.hashed else ()
        passing = len(node.listed) + len(groups)
        deepest = max((done[c] for c in children), default=0)
        done[node] = max(passing, passing - 1 + deepest) if passing else 0
    return done[root]


def _where(base: RuleBase) -> Location | None:
    for rule in base.rules:
        if rule.location is not None:
            return Location(rule.location.path)
    return base.vocabulary.location


def check_limits(base: RuleBase, ruleset: dict[str, Any] | None = None) -> None:
    """Raise :class:`DataError` if durable_rules could not run ``base`` safely.

    Past some of these limits durable_rules hangs or crashes instead of
    failing, so this runs before any ruleset is built. It does not need
    durable_rules.
    """
    if ruleset is None:
        ruleset = compile_ruleset(base)
    where = _where(base)
    rules = {r.id: r for r in base.rules}
    problems: list[DataError] = []

    def at(rule_id: str) -> Location | None:
        rule = rules.get(rule_id)
        return rule.location if rule is not None and rule.location is not None else where

    if len(ruleset) > MAX_RULES:
        problems.append(
            DataError(
                f"durable_rules allows at most {MAX_RULES} rules; this rule base compiles to {len(ruleset)} "
                f"({len(base.rules)} rules and {len(CONSUMERS)} internal ones)",
                where,
            )
        )
    root = _Alpha(("$root", "", None), "")
    for rule_id, spec in ruleset.items():
        patterns = spec["all"]
        if len(patterns) > MAX_JOINED_FACTS:
            problems.append(
                DataError(
                    f"rule '{rule_id}': durable_rules joins at most {MAX_JOINED_FACTS} facts in one rule; "
                    f"this rule joins {len(patterns)} (the case and {len(patterns) - 1} conclusions)",
                    at(rule_id),
                )
            )
        for pattern in patterns:
            ((alias, expr),) = pattern.items()
            operators = _operators(expr)
            if operators > MAX_OPERATORS:
                problems.append(
                    DataError(
                        f"rule '{rule_id}': durable_rules allows at most {MAX_OPERATORS} and/or groups in "
                        f"one fact pattern; pattern '{alias}' compiles to {operators}",
                        at(rule_id),
                    )
                )
            _add(root, expr, rule_id).betas += 1

    seen: set[_Alpha] = set()  # nodes compare by identity
    todo = [root]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(node.children())
        within = len(node.hashed) < MAX_ALPHA_TESTS and len(node.listed) < MAX_NEGATED_TESTS
        if within and node.betas < MAX_RULES_PER_TEST:
            continue  # nothing to report here: no message is built
        what = "the start" if node is root else f"the test {node.test[1]} ({node.test[0]})"
        if len(node.hashed) >= MAX_ALPHA_TESTS:
            problems.append(
                DataError(
                    f"durable_rules hangs with {MAX_ALPHA_TESTS} or more distinct tests under one alpha node "
                    f"(at most {MAX_ALPHA_TESTS - 1}); {len(node.hashed)} tests follow {what}, "
                    f"first needed by rule '{node.rule}'",
                    where,
                )
            )
        if len(node.listed) >= MAX_NEGATED_TESTS:
            problems.append(
                DataError(
                    f"durable_rules allows fewer than {MAX_NEGATED_TESTS} absence tests and 'any' joins under one "
                    f"alpha node; {len(node.listed)} follow {what}, first needed by rule '{node.rule}'",
                    at(node.rule),
                )
            )
        if node.betas >= MAX_RULES_PER_TEST:
            problems.append(
                DataError(
                    f"durable_rules crashes when {MAX_RULES_PER_TEST} or more rule patterns end on the same "
                    f"test; {node.betas} end on {what}, first needed by rule '{node.rule}'",
                    at(node.rule),
                )
            )
    single = {f.id: not f.multi for f in base.vocabulary.facts}
    pending = _pending(root, single)
    if pending > MAX_PENDING_TESTS:
        problems.append(
            DataError(
                f"durable_rules can keep at most {MAX_PENDING_TESTS} tests pending while it matches one fact; "
                f"this rule base can need {pending} (too many rules test different facts or absences at the "
                "same point)",
                where,
            )
        )
    properties = 2 + sum(1 + (len(f.values) if f.multi else 1) for f in base.vocabulary.facts)
    if properties > MAX_FACT_PROPERTIES:
        problems.append(
            DataError(
                f"durable_rules allows at most {MAX_FACT_PROPERTIES} properties in one fact; a case can need "
                f"{properties} (a flag per fact key and per value)",
                base.vocabulary.location or where,
            )
        )
    for fact in base.vocabulary.facts:
        if fact.id in RESERVED:
            problems.append(
                DataError(
                    f"the fact key '{fact.id}' is reserved by the durable_rules engine "
                    f"({', '.join(sorted(RESERVED))}); rename it",
                    base.vocabulary.location or where,
                )
            )
    problems.extend(_hash_collisions(base, where))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise DataErrors(problems)


def _hash_collisions(base: RuleBase, where: Location | None) -> list[DataError]:
    """durable_rules tells property names (and string values) apart by a 32-bit hash only."""
    names = ["kind", "sid", "id", "$s", "key", "value", "by", "slot", "salt"]
    for fact in base.vocabulary.facts:
        names.append(fact.id)
        names.extend(_flag(fact.id, v) for v in fact.value_ids)
    groups = {
        "property name": names,
        "fact kind": [PATIENT, CONCLUSION],
        "conclusion key": [c.id for c in base.vocabulary.conclusions],
        "conclusion value": sorted({v for c in base.vocabulary.conclusions for v in c.value_ids}),
    }
    problems: list[DataError] = []
    for what, group in groups.items():
        by_hash: dict[int, str] = {}
        for name in dict.fromkeys(group):
            other = by_hash.setdefault(_fnv1a32(name), name)
            if other != name:
                problems.append(
                    DataError(
                        f"durable_rules cannot tell the {what}s '{other}' and '{name}' apart (same 32-bit hash); "
                        "rename one",
                        base.vocabulary.location or where,
                    )
                )
    return problems


# --------------------------------------------------------------------- the engine


@functools.lru_cache(maxsize=1)
def _host_class() -> type[Any]:
    """A durable_rules ``Host`` without timer threads that resolves actions by name."""
    loaded = _durable()
    if loaded is None:
        raise EngineError(f"{ENGINE_NAME} is not available on this Python")
    durable_engine = loaded[0]

    class _Host(durable_engine.Host):  # type: ignore[misc]
        def __init__(self, actions: dict[str, Callable[[Any], None]]) -> None:
            self._imt_actions = actions
            super().__init__()

        def _run(self) -> None:
            """No ``threading.Timer`` chains: nothing here uses timers or queues."""

        def get_action(self, action_name: str) -> Callable[[Any], None]:
            try:
                return self._imt_actions[action_name]
            except KeyError:
                raise EngineError(f"no action for durable_rules rule '{action_name}'") from None

    return _Host


def _ignore(c: Any) -> None:
    """The action of the consumer rules: the fact is handled, nothing to do."""


class DurableEngine:
    """Forward chaining with durable_rules over the compiled rule base.

    One ruleset per instance; one session per :meth:`infer`, deleted before
    it returns. Evaluations are serialised process-wide, so an instance may be
    shared between threads.
    """

    name = ENGINE_NAME
    _open_sessions = 0  # process-wide, guarded by _SESSION_LOCK: evaluating now
    _peak_sessions = 0  # the most ever evaluating at once

    def __init__(self, base: RuleBase) -> None:
        self.base = base
        self.ruleset = compile_ruleset(base)
        check_limits(base, self.ruleset)
        loaded = _durable()
        if loaded is None:
            raise EngineError(f"{ENGINE_NAME} is not available on this Python; use the builtin engine")
        self._durable_engine, self._native = loaded
        slots = conclusion_slots(base)
        self._asserts = {r.id: conclusion_facts(r, slots) for r in base.rules}
        self._ruleset_name = f"imt_tutor_{next(_RULESET_IDS)}"
        self._fired: set[str] = set()
        self._errors: list[BaseException] = []
        self._asserted: set[tuple[tuple[str, Any], ...]] = set()
        actions: dict[str, Callable[[Any], None]] = {name: _ignore for name in CONSUMERS.values()}
        for rule in base.rules:
            actions[rule.id] = self._action(rule.id)
        host = _host_class()(actions)
        try:
            host.set_rulesets({self._ruleset_name: copy.deepcopy(self.ruleset)})
        except Exception as error:
            raise EngineError(f"durable_rules could not build the ruleset: {error}") from error
        self._host: Any = host
        self._closed = False
        self.last_sid: str | None = None
        self._live = 0  # sessions of this engine not deleted (some are left behind, see _evaluate)

    # -- sessions

    @property
    def live_sessions(self) -> int:
        """Sessions of this engine not deleted: 0 between evaluations unless one was left behind."""
        return self._live

    @property
    def peak_sessions(self) -> int:
        """The most sessions ever evaluating at once in this process (1 once anything ran)."""
        return DurableEngine._peak_sessions

    @property
    def host(self) -> Any:
        """The durable_rules host (for tests)."""
        return self._host

    @property
    def ruleset_name(self) -> str:
        return self._ruleset_name

    # -- actions

    def _action(self, rule_id: str) -> Callable[[Any], None]:
        engine = self

        def action(c: Any) -> None:
            engine._run_action(rule_id, c)

        return action

    def _run_action(self, rule_id: str, c: Any) -> None:
        """Called by durable_rules; it would swallow exceptions, so they are kept for :meth:`infer`."""
        try:
            self._fire(rule_id, c)
        except BaseException as error:
            self._errors.append(error)

    def _fire(self, rule_id: str, c: Any) -> None:
        """Record the rule once per evaluation and assert its conclusions.

        durable_rules fires a rule once per matching '$or' branch and per
        combination of conclusion facts; only the first firing counts.
        """
        if rule_id in self._fired:
            return
        self._fired.add(rule_id)
        for fact in self._asserts[rule_id]:
            self._assert_conclusion(c, fact)

    def _assert_conclusion(self, c: Any, fact: dict[str, Any]) -> None:
        observed = self._durable_engine.MessageObservedException
        ident = tuple(sorted(fact.items()))
        if ident in self._asserted:
            return
        self._asserted.add(ident)
        for salt in range(MAX_SALT + 1):
            attempt = dict(fact, salt=salt) if salt else dict(fact)
            try:
                c.assert_fact(attempt)
                return
            except observed:
                continue  # never asserted before: a 32-bit hash collision, not a duplicate
        raise EngineError(f"durable_rules rejected the conclusion {fact['key']}: {fact['value']} as already observed")

    # -- evaluation

    def __enter__(self) -> DurableEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def infer(self, facts: Facts) -> Inference:
        with _SESSION_LOCK:
            if self._closed:
                raise EngineError("the durable_rules engine is closed")
            fired = self._evaluate(facts)
        return Inference(ENGINE_NAME, facts, canonical_trace(self.base, fired, facts))

    def _evaluate(self, facts: Facts) -> set[str]:
        sid = f"imt-{next(_SESSION_IDS)}"
        self.last_sid = sid
        fact = patient_fact(facts, sid)
        self._fired = set()
        self._errors = []
        self._asserted = set()
        self._live += 1
        DurableEngine._open_sessions += 1
        DurableEngine._peak_sessions = max(DurableEngine._peak_sessions, DurableEngine._open_sessions)
        failure: Exception | None = None
        state: Any = None
        try:
            state = self._host.assert_fact(self._ruleset_name, fact)
        except Exception as error:
            failure = error
        finally:
            DurableEngine._open_sessions -= 1
            # durable_rules crashes the process when a session in which no action ran, or
            # whose assert failed in its C core, is read or deleted: such a session (none
            # can arise while the consumer rules and check_limits hold) is left behind.
            if isinstance(state, dict):
                self._delete(sid)
        if self._errors:
            error = self._errors[0]
            if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit
                raise error
            if isinstance(error, EngineError):
                raise error
            raise EngineError(f"a rule action failed in durable_rules: {error!r}") from error
        if failure is not None:
            raise EngineError(f"durable_rules failed: {getattr(failure, 'message', failure)}") from failure
        if not isinstance(state, dict):
            raise EngineError("durable_rules ran no rule for this case (the consumer rule did not fire)")
        if state.get("exception"):
            raise EngineError(f"a rule action failed in durable_rules: {state['exception']}")
        return set(self._fired)

    def _delete(self, sid: str) -> None:
        try:
            self._host.delete_state(self._ruleset_name, sid)
        except Exception as error:
            raise EngineError(f"durable_rules could not delete session {sid}: {error}") from error
        self._live -= 1

    def close(self) -> None:
        """Free the native ruleset. The engine cannot be used afterwards."""
        with _SESSION_LOCK:
            if self._closed:
                return
            self._closed = True
            ruleset = self._host.get_ruleset(self._ruleset_name)
            self._host = None
            self._native.delete_ruleset(ruleset._handle)
