"""Per-evaluation cost of the durable_rules adapter, the builtin evaluator and raw durable_rules.

Usage: ``python benchmarks/engine.py [--n N]``

Raw durable_rules runs the same compiled ruleset on a bare ``Host``: it asserts
the same patient fact, its actions only assert the conclusion facts, and the
session is deleted; no trace, no checks. Goal: the adapter within 2x of raw,
and one evaluation well under 5 ms.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from imt_tutor import files
from imt_tutor.engines import durable as engine_mod
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.loading import load_yaml_file
from imt_tutor.models import Facts, RuleBase
from imt_tutor.rulebase import load_rulebase
from imt_tutor.vocabulary import parse_facts

IMT = "myofibroblastic_spindle_cells_with_inflammatory_infiltrate"
REPRESENTATIVE: dict[str, dict[str, Any]] = {
    "empty": {},
    "unused fact only": {"recurrence": "absent"},
    "lung, cough": {"site": "lung", "symptoms": ["cough"]},
    "ALK+ unresectable": {
        "site": "abdomen",
        "symptoms": ["pain", "bloating"],
        "imaging": ["ct", "mri"],
        "imaging_finding": "mass",
        "histology": IMT,
        "alk_ihc": "positive",
        "resectability": "unresectable",
        "metastasis": "absent",
        "local_invasion": "present",
    },
    "ALK- recurred": {
        "site": "pelvis",
        "histology": IMT,
        "alk_ihc": "negative",
        "ros1": "rearranged",
        "pdgfrb": "not_rearranged",
        "excision": "incomplete",
        "recurrence": "present",
        "metastasis": "present",
    },
}
WIDTHS = (22, 6, 12, 12, 10, 13, 13)
GOAL_RATIO = 2.0
GOAL_MS = 5.0


def cases(base: RuleBase) -> list[tuple[str, Facts]]:
    out = []
    for path in sorted(files.examples_dir().glob("*.yaml")):
        out.append((path.name, parse_facts(base.vocabulary, load_yaml_file(path))))
    for name, raw in REPRESENTATIVE.items():
        out.append((name, parse_facts(base.vocabulary, raw)))
    return out


def raw_durable(base: RuleBase) -> Callable[[Facts], None]:
    """The same ruleset on a bare durable_rules Host: assert, fire, delete; nothing else."""
    from durable import engine as durable_engine

    slots = engine_mod.conclusion_slots(base)
    asserts = {r.id: engine_mod.conclusion_facts(r, slots) for r in base.rules}
    observed = durable_engine.MessageObservedException

    def action_for(rule_id: str) -> Callable[[Any], None]:
        facts = asserts.get(rule_id, ())

        def action(c: Any) -> None:
            for fact in facts:
                try:
                    c.assert_fact(dict(fact))
                except observed:
                    pass

        return action

    class Host(durable_engine.Host):  # type: ignore[misc]
        def _run(self) -> None:
            pass

        def get_action(self, action_name: str) -> Callable[[Any], None]:
            return action_for(action_name)

    host = Host()
    host.set_rulesets({"raw": copy.deepcopy(engine_mod.compile_ruleset(base))})
    sids = itertools.count()

    def run(facts: Facts) -> None:
        sid = f"raw-{next(sids)}"
        host.assert_fact("raw", engine_mod.patient_fact(facts, sid))
        host.delete_state("raw", sid)

    return run


def per_call_ms(func: Callable[[Facts], object], facts: Facts, n: int, repeat: int = 3) -> float:
    """Best of ``repeat`` runs of ``n`` calls, in ms per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            func(facts)
        best = min(best, time.perf_counter() - start)
    return best / n * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="evaluations per measurement (default 2000)")
    args = parser.parse_args(argv)
    base = load_rulebase(files.rules_dir())
    builtin = BuiltinEngine(base)
    have_durable = engine_mod.available()
    adapter = engine_mod.DurableEngine(base) if have_durable else None
    raw = raw_durable(base) if have_durable else None

    print(f"engine: {engine_mod.engine_label()}; {len(base.rules)} rules; best of 3 x {args.n} evaluations")
    header = ("case", "fired", "adapter ms", "builtin ms", "raw ms", "adapter/raw", "builtin/raw")
    print("".join(f"{h:<22}" if i == 0 else f"{h:>{WIDTHS[i]}}" for i, h in enumerate(header)))
    rows: list[tuple[float, float, float]] = []
    for name, facts in cases(base):
        fired = len(builtin.infer(facts).fired)
        b = per_call_ms(builtin.infer, facts, args.n)
        if adapter is None or raw is None:
            print(f"{name:<22}{fired:>6}{'-':>12}{b:>12.3f}{'-':>10}{'-':>13}{'-':>13}")
            continue
        assert adapter.infer(facts).trace == builtin.infer(facts).trace
        a = per_call_ms(adapter.infer, facts, args.n)
        r = per_call_ms(raw, facts, args.n)
        rows.append((a, b, r))
        print(f"{name:<22}{fired:>6}{a:>12.3f}{b:>12.3f}{r:>10.3f}{a / r:>13.2f}{b / r:>13.2f}")
    if adapter is None:
        print("durable_rules is not available on this Python: only the builtin evaluator was measured")
        return 0
    adapter.close()
    a_mean = statistics.mean(a for a, _, _ in rows)
    b_mean = statistics.mean(b for _, b, _ in rows)
    r_mean = statistics.mean(r for _, _, r in rows)
    ratios = f"{a_mean / r_mean:>13.2f}{b_mean / r_mean:>13.2f}"
    print(f"{'mean':<22}{'':>6}{a_mean:>12.3f}{b_mean:>12.3f}{r_mean:>10.3f}{ratios}")
    worst_ratio = max(a / r for a, _, r in rows)
    worst_ms = max(a for a, _, _ in rows)
    print(
        f"goal: adapter within {GOAL_RATIO:g}x of raw durable_rules (worst case {worst_ratio:.2f}x: "
        f"{'met' if worst_ratio <= GOAL_RATIO else 'NOT met'}); one evaluation well under {GOAL_MS:g} ms "
        f"(slowest {worst_ms:.3f} ms: {'met' if worst_ms < GOAL_MS else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
