"""The walls of ``shared/design.md``, checked on the source (``ast``) and on what
a real process imports (``sys.modules`` of a subprocess), like click's
``tests/test_imports.py``.

- only ``imt_tutor/cli/`` imports click, prints, writes to stdout or exits;
- only ``imt_tutor/engines/durable.py`` imports durable_rules, inside a function;
- ``imt-tutor --version`` and ``--help`` load no rule engine, no renderer, no
  runner and no command module;
- each layer imports only the layers below it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "imt_tutor"
MODULES = sorted(PACKAGE.rglob("*.py"))
DURABLE = ("durable", "durable_rules", "durable_rules_engine")

# design.md, "Walls": each layer imports only those below it (and its own).
LAYERS: list[tuple[str, ...]] = [
    ("imt_tutor", "imt_tutor.errors", "imt_tutor.models", "imt_tutor.scoring"),
    ("imt_tutor.files", "imt_tutor.plain_yaml", "imt_tutor.loading"),
    (
        "imt_tutor.vocabulary",
        "imt_tutor.rulebase",
        "imt_tutor.graph",
        "imt_tutor.cases",
        "imt_tutor.answers",
        "imt_tutor.fidelity",
    ),
    ("imt_tutor.engines",),
    ("imt_tutor.explain", "imt_tutor.feedback", "imt_tutor.whatif"),
    ("imt_tutor.transcript", "imt_tutor.grading", "imt_tutor.check", "imt_tutor.schema"),
    ("imt_tutor.render", "imt_tutor.report"),  # report: the infer report, a renderer until it moves into render/
    ("imt_tutor.runner",),
    ("imt_tutor.cli", "imt_tutor.__main__"),
]

# What 'imt-tutor --version' and '--help' may load of the package: the group and the errors it handles.
STARTUP_MODULES = {"imt_tutor", "imt_tutor.__main__", "imt_tutor.cli", "imt_tutor.errors"}
NEVER_AT_STARTUP = (
    *DURABLE,
    "imt_tutor.render",
    "imt_tutor.report",
    "imt_tutor.runner",
    "imt_tutor.feedback",
    "imt_tutor.engines",
)


# --------------------------------------------------------------------- source


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def imports(path: Path) -> Iterator[tuple[ast.stmt, str, bool]]:
    """``(node, imported module, inside a function)`` for every import of ``path``
    (``from . import x`` names the module ``x`` where there is one)."""
    name = module_name(path)
    package = name if is_package(path) else name.rpartition(".")[0]

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.stmt, str, bool]]:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield child, alias.name, in_function
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                if child.module is None:  # from . import x: x may be a module
                    for alias in child.names:
                        sub = f"{target}.{alias.name}"
                        yield child, sub if module_path(sub) is not None else target, in_function
                else:
                    yield child, target, in_function
            yield from walk(child, inside)

    yield from walk(parse(path), False)


def module_path(name: str) -> Path | None:
    if not name.startswith("imt_tutor"):
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def layer_of(name: str) -> int | None:
    """The layer of a module of the package: its own entry or its package's (never the root's)."""
    probe = name
    while probe:
        for index, layer in enumerate(LAYERS):
            if probe in layer and (probe != "imt_tutor" or name == "imt_tutor"):
                return index
        probe = probe.rpartition(".")[0]
    return None


def top(name: str) -> str:
    return name.partition(".")[0]


def outside_cli(path: Path) -> bool:
    return not rel(path).startswith("imt_tutor/cli/") and rel(path) != "imt_tutor/__main__.py"


def test_the_scan_sees_every_module() -> None:
    names = {module_name(p) for p in MODULES}
    assert {"imt_tutor.cli", "imt_tutor.engines.durable", "imt_tutor.errors"} <= names
    found = {target for p in MODULES for _, target, _ in imports(p)}
    assert {"click", "imt_tutor.errors", "imt_tutor.engines.durable", "durable_rules_engine"} <= found


def test_click_is_imported_only_under_cli() -> None:
    offenders = [
        f"{rel(p)}:{node.lineno}: imports {target}"
        for p in MODULES
        if outside_cli(p)
        for node, target, _ in imports(p)
        if top(target) == "click"
    ]
    assert offenders == []


def test_durable_rules_is_imported_only_inside_a_function_of_engines_durable() -> None:
    offenders = []
    for p in MODULES:
        for node, target, in_function in imports(p):
            if top(target) not in DURABLE:
                continue
            if rel(p) != "imt_tutor/engines/durable.py":
                offenders.append(f"{rel(p)}:{node.lineno}: imports {target}")
            elif not in_function:
                offenders.append(f"{rel(p)}:{node.lineno}: imports {target} at module level")
    assert offenders == []


OUTPUT_CALLS = {"print", "exit", "quit", "input", "breakpoint"}
OUTPUT_ATTRIBUTES = {
    ("sys", "exit"),
    ("sys", "stdout"),
    ("sys", "stderr"),
    ("sys", "__stdout__"),
    ("sys", "__stderr__"),
    ("os", "_exit"),
    ("click", "echo"),
    ("click", "secho"),
}


def output_uses(path: Path) -> Iterator[str]:
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in OUTPUT_CALLS:
            yield f"{rel(path)}:{node.lineno}: {node.func.id}()"
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in OUTPUT_ATTRIBUTES
        ):
            yield f"{rel(path)}:{node.lineno}: {node.value.id}.{node.attr}"


def test_only_the_command_line_prints_or_exits() -> None:
    assert [use for p in MODULES if outside_cli(p) for use in output_uses(p)] == []
    assert any(True for p in MODULES if not outside_cli(p) for _ in output_uses(p))  # the scan sees them


def test_every_module_has_a_layer() -> None:
    assert [module_name(p) for p in MODULES if layer_of(module_name(p)) is None] == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    offenders = []
    for p in MODULES:
        own = layer_of(module_name(p))
        assert own is not None, module_name(p)
        for node, target, _ in imports(p):
            if top(target) != "imt_tutor":
                continue
            theirs = layer_of(target)
            assert theirs is not None, f"{rel(p)}:{node.lineno}: {target} has no layer"
            if theirs > own:
                offenders.append(f"{rel(p)}:{node.lineno}: {module_name(p)} (layer {own}) imports {target} ({theirs})")
    assert offenders == []


# --------------------------------------------------------------------- a real process

PROBE = """
import atexit, json, runpy, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["imt-tutor", *sys.argv[1:]]
runpy.run_module("imt_tutor", run_name="__main__", alter_sys=True)
"""


def loaded(args: list[str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``imt-tutor ARGS`` as ``python -m imt_tutor`` does; what it printed and imported."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
        check=False,
    )
    _, marker, listed = result.stderr.rpartition("\nMODULES ")
    assert marker, result.stderr
    return result, set(json.loads(listed))


def among(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
def test_version_and_help_load_no_engine_renderer_or_command(args: list[str]) -> None:
    result, modules = loaded(args)
    assert result.returncode == 0, result.stderr
    assert "imt-tutor" in result.stdout
    assert among(modules, NEVER_AT_STARTUP) == []
    assert {m for m in modules if top(m) == "imt_tutor"} <= STARTUP_MODULES
    assert "imt_tutor.cli" in modules


def test_a_command_loads_its_own_module_only() -> None:
    result, modules = loaded(["rules", "--format", "json"])
    assert result.returncode == 0, result.stderr
    assert "imt_tutor.cli.rules" in modules
    assert among(modules, ("imt_tutor.cli.run", "imt_tutor.cli.infer", "imt_tutor.runner", *DURABLE)) == []


def test_the_probe_sees_what_a_command_loads() -> None:
    result, modules = loaded(["run", "--help"])
    assert result.returncode == 0, result.stderr
    assert {"imt_tutor.cli.run", "imt_tutor.runner"} <= modules
