"""Rule-file validation: ``rules/*.yaml`` (plus ``rules/vocabulary.yaml``) into a
checked :class:`~imt_tutor.models.RuleBase`.

Every problem is collected, located (path:line:col, rule ID) and offered a
did-you-mean. Rules are data; nothing here executes them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import DataError, Location, Problems, did_you_mean, shown
from .graph import rule_graph
from .loading import YamlList, YamlMap, load_yaml_file
from .models import AllOf, AnyOf, Condition, Is, Known, Not, Rule, RuleBase, Vocabulary, walk
from .vocabulary import load_vocabulary, where

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
RULE_FILE_KEYS = ("rules",)
RULE_KEYS = ("id", "when", "then", "explanation", "source")
# The keys of a condition mapping besides fact and conclusion keys.
CONDITION_KEYS = ("all", "any", "not", "known", "unknown")
VOCABULARY_FILE = "vocabulary.yaml"
# The fidelity table (each fact of the source document -> the rules that encode
# it) lives beside the rules but is not a rule file.
FIDELITY_FILE = "fidelity.yaml"
NOT_RULE_FILES = (VOCABULARY_FILE, FIDELITY_FILE)


def load_rulebase(directory: str | Path) -> RuleBase:
    """Load ``vocabulary.yaml`` and every other ``*.yaml`` of ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError("rules folder not found", Location(str(directory)))
    vocab_path = directory / VOCABULARY_FILE
    if not vocab_path.is_file():
        raise DataError(f"missing {VOCABULARY_FILE}", Location(str(directory)))
    vocab = load_vocabulary(vocab_path)
    files = sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_RULE_FILES)
    if not files:
        raise DataError("no rule files (*.yaml) found", Location(str(directory)))
    return parse_rule_files(vocab, [(str(p), load_yaml_file(p, expect=dict)) for p in files])


def parse_rule_files(vocab: Vocabulary, documents: list[tuple[str, Any]]) -> RuleBase:
    """Validate loaded rule documents (path, data) against ``vocab``."""
    problems = Problems()
    rules = parse_rules(vocab, documents, problems)
    problems.raise_if_any()
    base = RuleBase(vocab, rules)
    check_chaining(base, problems)
    problems.raise_if_any()
    return RuleBase(vocab, order_rules(base.rules))


def parse_rules(vocab: Vocabulary, documents: list[tuple[str, Any]], problems: Problems) -> tuple[Rule, ...]:
    """The valid rules of ``documents``, as written; every problem (duplicate IDs
    across documents included) is added to ``problems``, none is raised."""
    rules: list[Rule] = []
    seen: dict[str, Location | None] = {}
    for path, data in documents:
        if not isinstance(data, YamlMap):
            problems.add("a rule file must be a mapping with a 'rules' list", Location(path, 1, 1))
            continue
        for key in data:
            if key not in RULE_FILE_KEYS:
                problems.add(
                    f"unknown key '{shown(key)}' in a rule file{did_you_mean(key, RULE_FILE_KEYS)}",
                    data.key_location(key),
                )
        raw_rules = data.get("rules")
        if not isinstance(raw_rules, YamlList) or not raw_rules:
            problems.add("a rule file needs a non-empty 'rules' list", where(data, "rules"))
            continue
        for i, raw in enumerate(raw_rules):
            rule = _parse_rule(vocab, raw, raw_rules.item_location(i), problems)
            if rule is None:
                continue
            if rule.id in seen:
                first = seen[rule.id]
                problems.add(f"rule '{rule.id}': duplicate rule id (first defined at {first})", rule.location)
                continue
            seen[rule.id] = rule.location
            rules.append(rule)
    return tuple(rules)


def _parse_rule(vocab: Vocabulary, raw: Any, loc: Location, problems: Problems) -> Rule | None:
    if not isinstance(raw, YamlMap):
        problems.add("a rule must be a mapping with id, when, then, explanation, source", loc)
        return None
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not KEBAB.fullmatch(rule_id):
        problems.add(
            f"rule id must be kebab-case (like 'mass-needs-biopsy'); got {rule_id!r}",
            where(raw, "id") if "id" in raw else loc,
        )
        rule_id = str(rule_id) if rule_id is not None else "?"
    label = f"rule '{rule_id}'"
    before = len(problems.errors)
    for key in raw:
        if key not in RULE_KEYS:
            problems.add(f"{label}: unknown key '{shown(key)}'{did_you_mean(key, RULE_KEYS)}", raw.key_location(key))
    for key in RULE_KEYS:
        if key not in raw:
            problems.add(f"{label}: missing '{shown(key)}'", loc)

    when: Condition | None = None
    if "when" in raw:
        when = _parse_condition(vocab, raw["when"], where(raw, "when"), label, problems, top=True)
    conclude, suggest, accept = (
        _parse_then(vocab, raw.get("then"), where(raw, "then"), label, problems) if "then" in raw else ((), (), ())
    )

    explanation = raw.get("explanation")
    if "explanation" in raw and (
        not isinstance(explanation, str) or not explanation.strip() or "\n" in explanation.strip()
    ):
        problems.add(f"{label}: 'explanation' must be one line of text", where(raw, "explanation"))
    source = raw.get("source")
    if "source" in raw:
        if not isinstance(source, str) or source not in vocab.sections:
            problems.add(
                f"{label}: source {source!r} is not a section heading of the document"
                f"{did_you_mean(str(source), vocab.sections)}",
                where(raw, "source"),
            )
    if len(problems.errors) != before or when is None:
        return None
    return Rule(rule_id, when, conclude, suggest, str(explanation).strip(), str(source), loc, accept)


def _parse_condition(
    vocab: Vocabulary,
    raw: Any,
    loc: Location | None,
    label: str,
    problems: Problems,
    *,
    top: bool,
    negated: bool = False,
) -> Condition | None:
    """A mapping is the conjunction of its entries; each entry is one condition."""
    if not isinstance(raw, YamlMap) or not raw:
        problems.add(
            f"{label}: a condition is a mapping such as 'site: lung', 'unknown: histology', "
            "'all: [...]', 'any: [...]' or 'not: {...}'",
            loc,
        )
        return None
    parts: list[Condition] = []
    for key, value in raw.items():
        part = _parse_entry(vocab, raw, key, value, label, problems, top=top, negated=negated)
        if part is not None:
            parts.append(part)
    if len(parts) != len(raw):
        return None
    if len(parts) == 1:
        return parts[0]
    return AllOf(_flatten(parts), raw.location)


def _flatten(parts: list[Condition]) -> tuple[Condition, ...]:
    out: list[Condition] = []
    for p in parts:
        out.extend(p.parts if isinstance(p, AllOf) else (p,))
    return tuple(out)


def _parse_entry(
    vocab: Vocabulary, raw: YamlMap, key: str, value: Any, label: str, problems: Problems, *, top: bool, negated: bool
) -> Condition | None:
    loc = raw.key_location(key)
    vloc = raw.value_location(key)
    if key in ("all", "any"):
        if not isinstance(value, YamlList) or not value:
            problems.add(f"{label}: '{shown(key)}' takes a non-empty list of conditions", vloc)
            return None
        parts = [
            _parse_condition(
                vocab, item, value.item_location(i), label, problems, top=top and key == "all", negated=negated
            )
            for i, item in enumerate(value)
        ]
        if any(p is None for p in parts):
            return None
        clean = [p for p in parts if p is not None]
        if key == "all":
            return AllOf(_flatten(clean), loc)
        return AnyOf(tuple(clean), loc)
    if key == "not":
        part = _parse_condition(vocab, value, vloc, label, problems, top=False, negated=True)
        return Not(part, loc) if part is not None else None
    if key in ("known", "unknown"):
        if not isinstance(value, str) or vocab.fact(value) is None:
            hint = did_you_mean(str(value), [f.id for f in vocab.facts])
            if isinstance(value, str) and vocab.conclusion(value) is not None:
                problems.add(f"{label}: '{shown(key)}' tests observed facts; '{shown(value)}' is a conclusion", vloc)
            else:
                problems.add(f"{label}: '{shown(key)}' needs a fact key; unknown fact '{shown(value)}'{hint}", vloc)
            return None
        known = Known(value, loc)
        return known if key == "known" else Not(known, loc)
    values = list(value) if isinstance(value, list) else [value]
    fact = vocab.fact(key)
    conclusion = vocab.conclusion(key)
    entry = fact or conclusion
    if entry is None:
        choices = [f.id for f in vocab.facts] + [c.id for c in vocab.conclusions] + list(CONDITION_KEYS)
        problems.add(f"{label}: unknown fact or conclusion '{shown(key)}'{did_you_mean(key, choices)}", loc)
        return None
    if not values:
        problems.add(f"{label}: '{shown(key)}' needs at least one value", vloc)
        return None
    ok = True
    for v in values:
        if not isinstance(v, str) or entry.value(v) is None:
            problems.add(
                f"{label}: unknown value '{shown(v)}' for '{shown(key)}'{did_you_mean(str(v), entry.value_ids)}", vloc
            )
            ok = False
    if not ok:
        return None
    if conclusion is not None and (negated or not top):
        problems.add(
            f"{label}: the conclusion '{key}' may only be required at the top level of 'when' "
            "(never under 'any' or 'not': rules must not negate or alternate derived conclusions)",
            loc,
        )
        return None
    return Is(key, tuple(values), conclusion is not None, loc)


THEN_KEYS = ("conclude", "suggest", "accept")


def _parse_then(
    vocab: Vocabulary, raw: Any, loc: Location | None, label: str, problems: Problems
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...]]:
    if not isinstance(raw, YamlMap) or not raw:
        problems.add(f"{label}: 'then' needs 'conclude', 'suggest' and/or 'accept'", loc)
        return (), (), ()
    for key in raw:
        if key not in THEN_KEYS:
            problems.add(
                f"{label}: unknown key '{shown(key)}' in 'then'{did_you_mean(key, THEN_KEYS)}",
                raw.key_location(key),
            )
    conclude: dict[tuple[str, str], None] = {}  # in order, each once
    raw_conclude = raw.get("conclude")
    if raw_conclude is not None:
        if not isinstance(raw_conclude, YamlMap) or not raw_conclude:
            problems.add(f"{label}: 'conclude' is a mapping of conclusion: value", where(raw, "conclude"))
        else:
            for key, value in raw_conclude.items():
                entry = vocab.conclusion(key)
                if entry is None:
                    hint = did_you_mean(key, [c.id for c in vocab.conclusions])
                    why = " (facts are observed, not concluded)" if vocab.fact(key) else ""
                    problems.add(
                        f"{label}: unknown conclusion '{shown(key)}'{hint}{why}", raw_conclude.key_location(key)
                    )
                    continue
                for v in value if isinstance(value, list) else [value]:
                    if not isinstance(v, str) or entry.value(v) is None:
                        problems.add(
                            f"{label}: unknown value '{shown(v)}' for '{shown(key)}'"
                            f"{did_you_mean(str(v), entry.value_ids)}",
                            raw_conclude.value_location(key),
                        )
                    else:
                        conclude.setdefault((key, v))
    suggest = _steps(vocab, raw, "suggest", label, problems)
    accept = _steps(vocab, raw, "accept", label, problems)
    suggested = set(suggest)
    for step in accept:
        if step in suggested:
            problems.add(
                f"{label}: '{step}' is both suggested and accepted; a step is one or the other",
                where(raw, "accept"),
            )
    if raw_conclude is None and "suggest" not in raw and "accept" not in raw:
        problems.add(f"{label}: 'then' needs 'conclude', 'suggest' and/or 'accept'", loc)
    return tuple(conclude), suggest, accept


def _steps(vocab: Vocabulary, raw: YamlMap, field_name: str, label: str, problems: Problems) -> tuple[str, ...]:
    """The next steps listed under ``then.suggest`` or ``then.accept``."""
    value = raw.get(field_name)
    if value is None:
        return ()
    items = list(value) if isinstance(value, list) else [value]
    out: dict[str, None] = {}  # in order, each once
    for i, step in enumerate(items):
        sloc = value.item_location(i) if isinstance(value, YamlList) else where(raw, field_name)
        if not isinstance(step, str) or vocab.step(step) is None:
            problems.add(
                f"{label}: unknown next step '{shown(step)}'"
                f"{did_you_mean(str(step), [s.id for s in vocab.next_steps])}",
                sloc,
            )
        else:
            out.setdefault(step)
    return tuple(out)


# --------------------------------------------------------------------- chaining


def check_chaining(base: RuleBase, problems: Problems) -> None:
    """Rules needing a conclusion no rule draws, and rules that depend on each other in a cycle."""
    graph = rule_graph(base.rules)
    for rule in base.rules:
        for cond in rule.conclusion_conditions():
            if not graph.producers(cond.key, cond.values):
                problems.add(
                    f"rule '{rule.id}': no rule concludes {cond.key}: {' or '.join(cond.values)}, "
                    "so this rule can never fire",
                    cond.location,
                )
    # Cycles: a rule may not depend, through other rules, on its own conclusions.
    for rule_id, cycle in graph.cycles():
        problems.add(
            f"rule '{rule_id}': rules depend on each other in a cycle ({' -> '.join(cycle)})",
            graph.by_id[rule_id].location,
        )


def order_rules(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """Canonical order: by chaining depth, then as written. Traces use it."""
    return rule_graph(rules).order()


def observed_keys(condition: Condition) -> set[str]:
    """The fact keys a condition looks at."""
    keys: set[str] = set()
    for node in walk(condition):
        if isinstance(node, Is) and not node.on_conclusion:
            keys.add(node.key)
        elif isinstance(node, Known):
            keys.add(node.key)
    return keys
