"""Vocabulary and validation: the fact keys, conclusions and next steps, and
the checks that turn user-written facts into :class:`~imt_tutor.models.Facts`.

Every unknown name gets a did-you-mean suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import DataError, Location, Problems, did_you_mean, shown
from .loading import YamlList, YamlMap, load_yaml_file
from .models import (
    ConclusionKey,
    Condition,
    Contradiction,
    FactKey,
    Facts,
    FactValue,
    Is,
    Known,
    NextStep,
    Not,
    Term,
    Vocabulary,
)

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Names the engines use for their own bookkeeping; a fact may not take them.
RESERVED_KEYS = ("kind", "sid", "id")
# The keys each part of the vocabulary may have (the JSON Schema and the authoring guide use them too).
VOCABULARY_KEYS = ("sections", "facts", "conclusions", "next_steps", "contradictions")
FACT_KEYS = ("label", "description", "multi", "values")
CONCLUSION_KEYS = ("label", "description", "values")
STEP_KEYS = ("label", "description", "done_when")
TERM_KEYS = ("label", "description")
CONCLUSION_TERM_KEYS = (*TERM_KEYS, "restates")


def where(container: Any, key: Any = None, *, value: bool = True) -> Location | None:
    """Location of ``container[key]`` (its value, or its key) or of the container."""
    if isinstance(container, YamlMap) and key is not None and key in container:
        return container.value_location(key) if value else container.key_location(key)
    if isinstance(container, YamlList) and isinstance(key, int):
        return container.item_location(key)
    return getattr(container, "location", None)


def _check_keys(node: YamlMap, allowed: Iterable[str], what: str, problems: Problems) -> None:
    allowed = list(allowed)
    for key in node:
        if key not in allowed:
            problems.add(
                f"unknown key '{shown(key)}' in {what}{did_you_mean(key, allowed)}",
                node.key_location(key),
            )


def _text(node: YamlMap, key: str, what: str, problems: Problems, *, required: bool = True) -> str:
    value = node.get(key)
    if value is None:
        if required:
            problems.add(f"{what} needs '{shown(key)}'", node.location)
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.add(f"'{shown(key)}' of {what} must be non-empty text", where(node, key))
        return ""
    return value.strip()


def _terms(node: Any, what: str, problems: Problems, fact_keys: Collection[str] | None = None) -> tuple[Term, ...]:
    """``id: {label, description}`` entries; with ``fact_keys`` (conclusion
    values) each may also list the facts it ``restates``."""
    if not isinstance(node, YamlMap) or not node:
        problems.add(f"{what} must be a non-empty mapping of id: {{label, description}}", where(node))
        return ()
    allowed = TERM_KEYS if fact_keys is None else CONCLUSION_TERM_KEYS
    terms = []
    for term_id, body in node.items():
        if not SNAKE.fullmatch(term_id):
            problems.add(f"'{shown(term_id)}' in {what} must be snake_case", node.key_location(term_id))
        if not isinstance(body, YamlMap):
            problems.add(f"'{shown(term_id)}' in {what} needs a label and a description", where(node, term_id))
            continue
        _check_keys(body, allowed, f"'{term_id}'", problems)
        label = _text(body, "label", f"'{term_id}'", problems)
        description = _text(body, "description", f"'{term_id}'", problems)
        restates: list[str] = []
        raw = body.get("restates")
        if fact_keys is not None and raw is not None:
            if not isinstance(raw, YamlList) or not all(isinstance(k, str) for k in raw):
                problems.add(f"'restates' of '{shown(term_id)}' must be a list of fact keys", where(body, "restates"))
            else:
                for i, key in enumerate(raw):
                    if key not in fact_keys:
                        problems.add(
                            f"'restates' of '{shown(term_id)}': unknown fact '{shown(key)}'"
                            f"{did_you_mean(key, fact_keys)}",
                            raw.item_location(i),
                        )
                    else:
                        restates.append(key)
        terms.append(Term(term_id, label, description, tuple(restates)))
    return tuple(terms)


def parse_vocabulary(data: Any, path: str) -> Vocabulary:
    """Build a :class:`Vocabulary` from loaded YAML, collecting every problem."""
    problems = Problems()
    if not isinstance(data, YamlMap):
        raise DataError("the vocabulary must be a mapping", Location(path, 1, 1))
    _check_keys(data, VOCABULARY_KEYS, "the vocabulary", problems)

    sections: list[str] = []
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, YamlList) or not raw_sections:
        problems.add("the vocabulary needs 'sections': the source document's headings", where(data, "sections"))
    else:
        for i, heading in enumerate(raw_sections):
            if not isinstance(heading, str) or not heading.strip():
                problems.add("a section heading must be text", raw_sections.item_location(i))
            else:
                sections.append(heading)

    facts: list[FactKey] = []
    raw_facts = data.get("facts")
    if not isinstance(raw_facts, YamlMap) or not raw_facts:
        problems.add("the vocabulary needs 'facts'", where(data, "facts"))
    else:
        for key, body in raw_facts.items():
            if not SNAKE.fullmatch(key):
                problems.add(f"fact key '{shown(key)}' must be snake_case", raw_facts.key_location(key))
            elif key in RESERVED_KEYS:
                problems.add(f"fact key '{shown(key)}' is reserved; choose another name", raw_facts.key_location(key))
            if not isinstance(body, YamlMap):
                problems.add(f"fact '{shown(key)}' needs label, description and values", where(raw_facts, key))
                continue
            _check_keys(body, FACT_KEYS, f"fact '{key}'", problems)
            multi = body.get("multi", False)
            if not isinstance(multi, bool):
                problems.add(f"'multi' of fact '{shown(key)}' must be true or false", where(body, "multi"))
                multi = False
            facts.append(
                FactKey(
                    key,
                    _text(body, "label", f"fact '{key}'", problems),
                    _text(body, "description", f"fact '{key}'", problems),
                    multi,
                    _terms(body.get("values"), f"values of fact '{key}'", problems),
                )
            )

    conclusions: list[ConclusionKey] = []
    raw_conclusions = data.get("conclusions")
    if not isinstance(raw_conclusions, YamlMap) or not raw_conclusions:
        problems.add("the vocabulary needs 'conclusions'", where(data, "conclusions"))
    else:
        for key, body in raw_conclusions.items():
            if not SNAKE.fullmatch(key):
                problems.add(f"conclusion key '{shown(key)}' must be snake_case", raw_conclusions.key_location(key))
            if raw_facts is not None and isinstance(raw_facts, YamlMap) and key in raw_facts:
                problems.add(f"'{shown(key)}' is both a fact and a conclusion", raw_conclusions.key_location(key))
            if not isinstance(body, YamlMap):
                problems.add(
                    f"conclusion '{shown(key)}' needs label, description and values", where(raw_conclusions, key)
                )
                continue
            _check_keys(body, CONCLUSION_KEYS, f"conclusion '{key}'", problems)
            conclusions.append(
                ConclusionKey(
                    key,
                    _text(body, "label", f"conclusion '{key}'", problems),
                    _text(body, "description", f"conclusion '{key}'", problems),
                    _terms(body.get("values"), f"values of conclusion '{key}'", problems, [f.id for f in facts]),
                )
            )

    steps: list[NextStep] = []
    fact_index = {f.id: f for f in facts}
    raw_steps = data.get("next_steps")
    if not isinstance(raw_steps, YamlMap) or not raw_steps:
        problems.add("the vocabulary needs 'next_steps'", where(data, "next_steps"))
    else:
        for step_id, body in raw_steps.items():
            if not SNAKE.fullmatch(step_id):
                problems.add(f"next step '{shown(step_id)}' must be snake_case", raw_steps.key_location(step_id))
            if not isinstance(body, YamlMap):
                problems.add(f"next step '{shown(step_id)}' needs label and description", where(raw_steps, step_id))
                continue
            _check_keys(body, STEP_KEYS, f"next step '{step_id}'", problems)
            steps.append(
                NextStep(
                    step_id,
                    _text(body, "label", f"next step '{step_id}'", problems),
                    _text(body, "description", f"next step '{step_id}'", problems),
                    _done_when(body, step_id, fact_index, problems),
                )
            )
    contradictions = _contradictions(data, fact_index, problems)
    problems.raise_if_any()
    return Vocabulary(
        tuple(facts), tuple(conclusions), tuple(steps), tuple(sections), Location(path, 1, 1), contradictions
    )


CONTRADICTION_KEYS = ("id", "when", "message")
KEBAB_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _contradictions(data: YamlMap, fact_index: Mapping[str, FactKey], problems: Problems) -> tuple[Contradiction, ...]:
    """``contradictions``: facts that cannot all hold of one patient.

    Each has an ``id``, a ``message`` and ``when``: a list of fact tests
    (``key: value`` or ``key: [values]``, ``known: key``, ``unknown: key``),
    all of which must hold.
    """
    raw = data.get("contradictions")
    if raw is None:
        return ()
    if not isinstance(raw, YamlList):
        problems.add("'contradictions' must be a list", where(data, "contradictions"))
        return ()
    out: list[Contradiction] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        loc = raw.item_location(i)
        if not isinstance(item, YamlMap):
            problems.add("a contradiction is a mapping with id, when and message", loc)
            continue
        _check_keys(item, CONTRADICTION_KEYS, "a contradiction", problems)
        cid = item.get("id")
        if not isinstance(cid, str) or not KEBAB_ID.fullmatch(cid):
            problems.add(f"a contradiction's id must be kebab-case; got '{shown(cid)}'", where(item, "id"))
            continue
        if cid in seen:
            problems.add(f"duplicate contradiction id '{shown(cid)}'", where(item, "id"))
            continue
        seen.add(cid)
        message = _text(item, "message", f"contradiction '{cid}'", problems)
        tests = item.get("when")
        if not isinstance(tests, YamlList) or len(tests) < 2:
            problems.add(
                f"'when' of contradiction '{shown(cid)}' must list at least two fact tests", where(item, "when")
            )
            continue
        conditions: list[Condition] = []
        for j, test in enumerate(tests):
            cond = _fact_test(test, tests.item_location(j), fact_index, problems)
            if cond is not None:
                conditions.append(cond)
        if len(conditions) == len(tests) and message:
            out.append(Contradiction(cid, tuple(conditions), message, loc))
    return tuple(out)


def _fact_test(test: Any, loc: Location, fact_index: Mapping[str, FactKey], problems: Problems) -> Condition | None:
    if not isinstance(test, YamlMap) or len(test) != 1:
        problems.add("a fact test is one 'key: value', 'known: key' or 'unknown: key'", loc)
        return None
    key, value = next(iter(test.items()))
    if key in ("known", "unknown"):
        if value not in fact_index:
            problems.add(
                f"unknown fact '{shown(value)}'{did_you_mean(str(value), fact_index)}", test.value_location(key)
            )
            return None
        return Known(value, loc) if key == "known" else Not(Known(value, loc), loc)
    fact = fact_index.get(key)
    if fact is None:
        problems.add(f"unknown fact '{shown(key)}'{did_you_mean(key, fact_index)}", test.key_location(key))
        return None
    values = list(value) if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, str) or fact.value(v) is None:
            problems.add(
                f"unknown value '{shown(v)}' for '{shown(key)}'{did_you_mean(str(v), fact.value_ids)}",
                test.value_location(key),
            )
            return None
    return Is(key, tuple(values), False, loc)


def contradictions_in(vocab: Vocabulary, facts: Facts) -> tuple[Contradiction, ...]:
    """The contradictions whose every test holds of ``facts``."""
    return tuple(c for c in vocab.contradictions if all(_holds(cond, facts) for cond in c.when))


def _holds(cond: Condition, facts: Facts) -> bool:
    if isinstance(cond, Is):
        return any(v in cond.values for v in facts.values_of(cond.key))
    if isinstance(cond, Known):
        return cond.key in facts
    if isinstance(cond, Not):
        return not _holds(cond.part, facts)
    raise TypeError(f"not a fact test: {cond!r}")


def _done_when(
    body: YamlMap, step_id: str, fact_index: Mapping[str, FactKey], problems: Problems
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = body.get("done_when")
    if raw is None:
        return ()
    if not isinstance(raw, YamlList):
        problems.add(f"'done_when' of next step '{shown(step_id)}' must be a list", where(body, "done_when"))
        return ()
    out: list[tuple[str, tuple[str, ...]]] = []
    for i, item in enumerate(raw):
        loc = raw.item_location(i)
        if isinstance(item, str):
            key, values = item, ()
        elif isinstance(item, YamlMap) and len(item) == 1:
            key, raw_values = next(iter(item.items()))
            values = tuple(raw_values) if isinstance(raw_values, list) else (raw_values,)
        else:
            problems.add("a 'done_when' item is a fact key or {key: [values]}", loc)
            continue
        fact = fact_index.get(key)
        if fact is None:
            problems.add(f"unknown fact key '{shown(key)}'{did_you_mean(key, fact_index)}", loc)
            continue
        for v in values:
            if fact.value(v) is None:
                problems.add(
                    f"unknown value '{shown(v)}' for '{shown(key)}'{did_you_mean(str(v), fact.value_ids)}", loc
                )
        out.append((key, tuple(str(v) for v in values)))
    return tuple(out)


def load_vocabulary(path: str | Path) -> Vocabulary:
    data = load_yaml_file(path, expect=dict)
    return parse_vocabulary(data, str(path))


# --------------------------------------------------------------------- facts


def _fact_value(
    vocab: Vocabulary,
    key: str,
    raw: Any,
    loc: Location | None,
    problems: Problems,
    key_loc: Location | None = None,
) -> FactValue | None:
    """Check one fact; ``loc`` is where its value is written, ``key_loc`` its key."""
    fact = vocab.fact(key)
    if fact is None:
        hint = did_you_mean(key, [f.id for f in vocab.facts])
        if vocab.conclusion(key) is not None:
            problems.add(
                f"'{shown(key)}' is a conclusion the rules derive, not a fact a case can state", key_loc or loc
            )
        else:
            problems.add(f"unknown fact '{shown(key)}'{hint}", key_loc or loc)
        return None
    values = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    if not values:
        problems.add(f"'{shown(key)}' needs at least one value", loc)
        return None
    if len(values) > 1 and not fact.multi:
        problems.add(f"'{shown(key)}' takes one value, not a list", loc)
        return None
    clean: dict[str, None] = {}  # in order, each once
    bad = False
    for v in values:
        if isinstance(v, bool) or v is None or not isinstance(v, str):
            got = "nothing" if v is None else repr(v)
            problems.add(f"'{shown(key)}' must be one of {', '.join(fact.value_ids)}; got {got}", loc)
            bad = True
        elif fact.value(v) is None:
            problems.add(f"unknown value '{shown(v)}' for '{shown(key)}'{did_you_mean(v, fact.value_ids)}", loc)
            bad = True
        else:
            clean[v] = None
    if bad:
        return None
    if fact.multi:
        return tuple(sorted(clean))
    return next(iter(clean), None)


def parse_facts(
    vocab: Vocabulary, data: Any, location: Location | None = None, problems: Problems | None = None
) -> Facts:
    """Validate a mapping of fact key -> value(s); collect every problem."""
    own = problems is None
    problems = problems or Problems()
    result: dict[str, FactValue] = {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add("facts must be a mapping of fact key: value", location)
    else:
        for key, raw in data.items():
            loc = where(data, key) if isinstance(data, YamlMap) else location
            key_loc = where(data, key, value=False) if isinstance(data, YamlMap) else location
            value = _fact_value(vocab, str(key), raw, loc, problems, key_loc)
            if value is not None:
                result[str(key)] = value
    if own:
        problems.raise_if_any()
    return Facts.of(result)


def parse_fact_options(vocab: Vocabulary, options: Iterable[str], problems: Problems | None = None) -> Facts:
    """Parse ``KEY=VALUE`` strings; ``KEY=a,b`` gives a list.

    A multi-valued key may be given several times; values accumulate. A problem
    is located at the string as given (its location's path), or at ``KEY`` for
    a bad value; a front end may say where the strings came from.
    """
    own = problems is None
    problems = problems or Problems()
    data: dict[str, list[str]] = {}
    for option in options:
        loc = Location(option)
        if "=" not in option:
            problems.add("expected KEY=VALUE", loc)
            continue
        key, _, value = option.partition("=")
        key, value = key.strip(), value.strip()
        parts = [p.strip() for p in value.split(",") if p.strip()]
        fact = vocab.fact(key)
        if fact is not None and not fact.multi and key in data:
            problems.add(f"'{shown(key)}' given twice; it takes one value", loc)
            continue
        if not parts:
            problems.add(f"'{shown(key)}' needs a value", loc)
            continue
        data.setdefault(key, []).extend(parts)
    result: dict[str, FactValue] = {}
    for key, values in data.items():
        value = _fact_value(
            vocab,
            key,
            values if len(values) > 1 or _is_multi(vocab, key) else values[0],
            Location(key),
            problems,
        )
        if value is not None:
            result[key] = value
    if own:
        problems.raise_if_any()
    return Facts.of(result)


def _is_multi(vocab: Vocabulary, key: str) -> bool:
    fact = vocab.fact(key)
    return bool(fact and fact.multi)
