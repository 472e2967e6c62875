"""A fuzz test over the whole CLI (issue 11 §8): every command, generated files and arguments.

Hypothesis drives every command of ``imt-tutor`` in-process (click's ``CliRunner``) with
generated files (mutations of the bundled cases, rules, answers files and transcripts; YAML
and JSON from a small grammar; raw bytes), generated rules and cases folders, generated
argument values (drawn from each command's real click parameters, so a new option is fuzzed
without touching this file) and generated standard input. Each example asserts the promise
of the README's "Errors and exit codes":

- an exit code in {0, 1, 2} and no exception but ``SystemExit``;
- no ``Traceback`` on standard output or standard error;
- no control character (C0 but newline and tab, DEL, C1, bidi embeddings, overrides and
  isolates, line and paragraph separators) on either stream that the commands do not show
  for the bundled data (that set is computed once, from the bundled data);
- no file left behind that was not asked for (the outputs named on the command line and
  the default transcript of ``run``), no leftover temporary or lock file, no file of the
  bundled folders changed, nothing written outside the example's own folder (``HOME``,
  ``XDG_DATA_HOME`` and the temporary folder all point into it).

The default runs a few hundred examples in all, deterministically (``derandomize``, no
database). To hunt for bugs: ``IMT_TUTOR_FUZZ_EXAMPLES=3000`` runs that many examples per
test function, and ``IMT_TUTOR_FUZZ_SEED=N`` a random (seeded) search instead of the fixed
one. TEACHING AID ONLY - the cases are fictional.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import stat
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import click
import click.utils
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from imt_tutor.cli import main
from imt_tutor.files import cases_dir, examples_dir, rules_dir

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

# --------------------------------------------------------------------- settings

_EXAMPLES = int(os.environ.get("IMT_TUTOR_FUZZ_EXAMPLES", "0") or 0)
_SEED = os.environ.get("IMT_TUTOR_FUZZ_SEED", "")


def fuzz(default_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings for one fuzz test: ``default_examples`` (or
    IMT_TUTOR_FUZZ_EXAMPLES), no deadline, no database, a fixed search unless
    IMT_TUTOR_FUZZ_SEED asks for a seeded random one."""

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        test = settings(
            max_examples=_EXAMPLES or default_examples,
            deadline=None,
            database=None,
            derandomize=not _SEED,
            print_blob=False,
            suppress_health_check=list(HealthCheck),
        )(test)
        if _SEED:
            test = seed(int(_SEED))(test)
        return test

    return decorate


# --------------------------------------------------------------------- what the output may not contain

#: C0 but newline and tab, DEL, C1, line and paragraph separators, bidi embeddings and
#: overrides (U+202A-202E) and isolates (U+2066-2069).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


#: Option names (long form) whose value names a file or folder the user asks to be written.
OUTPUT_OPTIONS = {"out", "feedback-dir", "report", "transcript", "save-answers"}
OUTPUT_FLAGS = {f"--{name}" for name in OUTPUT_OPTIONS}


# --------------------------------------------------------------------- the bundled data


@dataclass(frozen=True)
class Bundle:
    """What the bundled data offers the generators."""

    case_ids: tuple[str, ...]
    rule_ids: tuple[str, ...]
    facts: dict[str, tuple[str, ...]]  # fact key -> its values
    keys: tuple[str, ...]  # every fact, conclusion and next-step ID
    steps: tuple[str, ...]
    sites: tuple[str, ...]
    words: tuple[str, ...]  # every ID and mapping key of the bundled files
    rules_files: dict[str, bytes]
    cases_files: dict[str, bytes]
    seeds: dict[str, bytes]  # name -> bytes: every bundled and test data file, keys, a transcript
    trees: dict[str, Any]  # name -> parsed document, for the seeds that parse
    key_lines: dict[str, tuple[str, ...]]  # case ID -> its key, as answers typed at the prompts


def _read_tree(data: bytes) -> Any:
    """The document in ``data`` (JSON, else YAML), or ``None``: unparsable, or too
    big or deep to mutate (the hostile test files)."""
    try:
        tree = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        try:
            tree = yaml.safe_load(data)
        except (yaml.YAMLError, RecursionError, ValueError):
            return None
    count = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > 5000 or depth > 30:
            return None
        if isinstance(node, dict):
            stack += [(v, depth + 1) for v in node.values()]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node]
    return tree


def _keys_of(tree: Any) -> Iterator[str]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            if isinstance(key, str):
                yield key
            yield from _keys_of(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _keys_of(value)


def _plain_invoke(args: list[str], folder: Path, input: str | None = None) -> Result:
    env = {"NO_COLOR": "1", "HOME": str(folder), "XDG_DATA_HOME": str(folder), "COLUMNS": "80"}
    return CliRunner().invoke(main, args, input=input, env=env)


@cache
def bundle() -> Bundle:
    from imt_tutor.rulebase import load_rulebase

    base = load_rulebase(rules_dir())
    vocabulary = base.vocabulary
    case_ids = tuple(sorted(p.stem for p in cases_dir().glob("*.yaml")))
    facts = {f.id: tuple(v.id for v in f.values) for f in vocabulary.facts}
    steps = tuple(s.id for s in vocabulary.next_steps)
    keys = (*facts, *(c.id for c in vocabulary.conclusions), *steps)
    rules_files = {p.name: p.read_bytes() for p in sorted(rules_dir().iterdir()) if p.is_file()}
    cases_files = {p.name: p.read_bytes() for p in sorted(cases_dir().iterdir()) if p.is_file()}
    seeds: dict[str, bytes] = {f"rules/{n}": b for n, b in rules_files.items()}
    seeds.update({f"cases/{n}": b for n, b in cases_files.items()})
    seeds.update({f"examples/{p.name}": p.read_bytes() for p in sorted(examples_dir().iterdir()) if p.is_file()})
    for path in sorted(DATA.rglob("*")):
        if path.is_file() and "fuzz" not in path.parts:
            seeds[str(path.relative_to(DATA))] = path.read_bytes()
    # Keys (answers files) and a transcript, made by the CLI itself.
    key_lines: dict[str, tuple[str, ...]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for case_id in case_ids:
            result = _plain_invoke(["key", case_id, "--format", "json"], folder)
            if result.exit_code == 0:
                answers = json.loads(result.stdout)["answers"]
                key_lines[case_id] = tuple(",".join(picks) or "-" for picks in answers.values())
                seeds[f"key/{case_id}.json"] = result.stdout.encode("utf-8")
            result = _plain_invoke(["key", case_id], folder)
            if result.exit_code == 0:
                seeds[f"key/{case_id}.yaml"] = result.stdout.encode("utf-8")
            # A run stopped half-way (end of input): a transcript to resume.
            partial = folder / f"partial-{case_id}.json"
            lines = "".join(f"{line}\n" for line in key_lines.get(case_id, ())[:2])
            _plain_invoke(["run", case_id, "--transcript", str(partial)], folder, input=f"hint\n{lines}")
            if partial.is_file():
                seeds[f"transcript/partial-{case_id}.json"] = partial.read_bytes()
        key = seeds.get("key/lung-cough-alk-positive.yaml")
        if key is not None:
            (folder / "key.yaml").write_bytes(key)
            transcript = folder / "t.json"
            _plain_invoke(
                [
                    "run",
                    "lung-cough-alk-positive",
                    "--answers",
                    str(folder / "key.yaml"),
                    "--transcript",
                    str(transcript),
                ],
                folder,
            )
            if transcript.is_file():
                seeds["transcript/lung-cough-alk-positive.json"] = transcript.read_bytes()
            partial = folder / "partial.json"
            _plain_invoke(
                [
                    "run",
                    "lung-cough-alk-positive",
                    "--transcript",
                    str(partial),
                    "--save-answers",
                    str(folder / "a.json"),
                ],
                folder,
                input="hint\n1,2\nwhy-not 1\n2,3\n",
            )
            for name in ("partial.json", "a.json"):
                if (folder / name).is_file():
                    seeds[f"transcript/{name}"] = (folder / name).read_bytes()
    trees = {name: tree for name, data in seeds.items() if (tree := _read_tree(data)) is not None}
    words = {*case_ids, *(r.id for r in base.rules), *keys, *(v for vs in facts.values() for v in vs)}
    for tree in trees.values():
        words.update(_keys_of(tree))
    return Bundle(
        case_ids=case_ids,
        rule_ids=tuple(r.id for r in base.rules),
        facts=facts,
        keys=keys,
        steps=steps,
        sites=facts.get("site", ("lung",)),
        words=tuple(sorted(words)),
        rules_files=rules_files,
        cases_files=cases_files,
        seeds=seeds,
        trees=trees,
        key_lines=key_lines,
    )


# --------------------------------------------------------------------- the commands, from click itself


@cache
def commands() -> tuple[tuple[tuple[str, ...], click.Command], ...]:
    """Every leaf command of the CLI, with its words (``("export", "html")``)."""
    ctx = click.Context(main)
    found: list[tuple[tuple[str, ...], click.Command]] = []

    def walk(group: click.Group, words: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            if isinstance(command, click.Group):
                walk(command, (*words, name))
            else:
                found.append(((*words, name), command))

    walk(main, ())
    return tuple(found)


def long_name(param: click.Parameter) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    return (longs[0] if longs else param.opts[0]).lstrip("-")


# --------------------------------------------------------------------- generated values

_ARG_TEXT = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
#: Argument text: any character an argv can carry (no NUL), and sometimes what
#: Python makes of bytes that are not UTF-8 (lone surrogates).
arg_text = st.one_of(
    st.text(_ARG_TEXT, max_size=24),
    st.text(st.sampled_from("abc-_.=,/ \t\x1b[\u202e\udcff"), max_size=12),
)


@st.composite
def near(draw: st.DrawFn, word: str) -> str:
    """A word that is nearly ``word``: a typo, another case, a suffix, a path."""
    how = draw(st.integers(0, 11))
    if how == 0 and word:
        i = draw(st.integers(0, len(word) - 1))
        return word[:i] + word[i + 1 :]
    if how == 1 and len(word) > 1:
        i = draw(st.integers(0, len(word) - 2))
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == 2:
        return word.upper()
    if how == 3:
        return word + draw(st.sampled_from([".yaml", ".json", "/", " ", "\t", "\n", "x", "\u202e", "\x1b[2J"]))
    if how == 4:
        return draw(st.sampled_from(["./", "../", "cases/", "~/", "-", "--", " "])) + word
    if how == 5:
        return word.replace("-", "_").replace("_", "-")
    if how == 6:
        return word + "=" + draw(arg_text)
    if how == 7:
        return ",".join([word, word])
    if how == 8:
        return word * draw(st.integers(2, 40))
    if how == 9:
        return word.replace("e", "\u0435")  # a Cyrillic e
    if how == 10:
        return word[: len(word) // 2]
    return draw(arg_text)


def ids(choices: tuple[str, ...], exact_share: int = 4) -> st.SearchStrategy[str]:
    """One of ``choices`` (``exact_share`` times in ``exact_share + 1``), or nearly one."""
    exact = st.sampled_from(choices)
    return st.one_of(*[exact] * exact_share, exact.flatmap(near))


# --------------------------------------------------------------------- generated files

_KNOWN_SCALARS = st.sampled_from(
    [
        "true", "yes", "no", "on", "off", "null", "~", "", " ", "0", "-1", "1e3", "0x10", "0o7", ".nan", "-.inf",
        "2024-01-01", "12:30", "<<", "*a", "&a", "!!python/object:os.system", "-", "?", "%", "@", "`", "{", "[",
        "'", '"', "#", "\\", "\t", "\r", "\x1b[31m", "\x07", "\u202e", "\u2066", "\x85", "\ufeff", "\u2028", "é",
    ]
)  # fmt: skip


def scalars(words: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([0, 1, -1, 2**63, 10**30, 1.5, -0.0]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(words),
        st.sampled_from(words),
        _KNOWN_SCALARS,
        st.text(max_size=30),
    )


def documents(words: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Trees of mappings, lists and scalars whose keys are mostly the bundled files' own."""
    keys = st.one_of(st.sampled_from(words), st.sampled_from(words), st.text(max_size=10), st.integers(), st.none())
    return st.recursive(
        scalars(words),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
        max_leaves=25,
    )


def _nodes(tree: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) of a tree."""
    found: list[tuple[Any, Any]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                found.append((node, key))
                stack.append(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                found.append((node, index))
                stack.append(value)
    return found


def dump(draw: st.DrawFn, tree: Any) -> bytes:
    """``tree`` as YAML or JSON (or JSON Lines where it is a list)."""
    how = draw(st.sampled_from(["yaml", "yaml-flow", "json", "json-compact", "jsonl"]))
    try:
        if how == "json":
            return json.dumps(tree, indent=2, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
        if how == "json-compact":
            return json.dumps(tree, separators=(",", ":")).encode("utf-8", "surrogatepass")
        if how == "jsonl" and isinstance(tree, list):
            return "\n".join(json.dumps(item) for item in tree).encode("utf-8", "surrogatepass")
        flow = how == "yaml-flow"
        text = yaml.safe_dump(tree, allow_unicode=draw(st.booleans()), sort_keys=False, default_flow_style=flow)
        return text.encode("utf-8", "surrogatepass")
    except (TypeError, ValueError, yaml.YAMLError):
        return repr(tree).encode("utf-8", "surrogatepass")


@st.composite
def tree_mutation(draw: st.DrawFn, name: str) -> bytes:
    """A bundled document with a few nodes deleted, replaced, swapped, duplicated or retyped."""
    b = bundle()
    tree = copy.deepcopy(b.trees[name])
    for _ in range(draw(st.integers(1, 3))):
        nodes = _nodes(tree)
        if not nodes:
            tree = draw(documents(b.words))
            break
        container, key = draw(st.sampled_from(nodes))
        op = draw(st.sampled_from(["delete", "replace", "replace", "swap", "duplicate", "wrap", "text", "add"]))
        if op == "delete":
            del container[key]
        elif op == "replace":
            container[key] = draw(documents(b.words))
        elif op == "swap":
            other, other_key = draw(st.sampled_from(nodes))
            try:
                container[key], other[other_key] = copy.deepcopy(other[other_key]), copy.deepcopy(container[key])
            except (KeyError, IndexError):
                pass
        elif op == "duplicate" and isinstance(container, list):
            container.insert(key, copy.deepcopy(container[key]))
        elif op == "wrap":
            container[key] = (
                [container[key]] if draw(st.booleans()) else {draw(st.sampled_from(b.words)): container[key]}
            )
        elif op == "text":
            container[key] = str(container[key])
        elif isinstance(container, dict):
            container[draw(st.sampled_from(b.words))] = draw(documents(b.words))
    return dump(draw, tree)


_YAML_LINES = st.sampled_from(
    [
        b"---", b"...", b"%YAML 1.1", b"%TAG ! tag:x,2000:", b"<<: *a", b"x: &a [1, 2]", b"y: *a", b"? [a, b]",
        b": x", b"- !!python/object/apply:os.system [echo]", b"z: !!binary aGk=", b"k: !custom 1", b"\tk: tab",
        b"  - - - deep", b"a: b: c", b"'unterminated", b'"\\x1b[31m"', b"key: \xff\xfe", b"k: \xc2\x9b2J",
        b"k: \xe2\x80\xae", b"k: \x1b[2J", b"k: |", b"k: >-", b"{", b"[", b"}", b"# comment", b"", b"\r",
        b"&anchor", b"*undefined", b"k: 1e400", b"k: 99999999999999999999999", b"\xef\xbb\xbf", b"k: .inf",
    ]
)  # fmt: skip


@st.composite
def text_mutation(draw: st.DrawFn, name: str) -> bytes:
    """A bundled file with lines dropped, duplicated, swapped or replaced, bytes inserted, or cut."""
    b = bundle()
    lines = b.seeds[name].split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["drop", "duplicate", "swap", "replace", "insert", "indent", "value", "bytes"]))
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if not lines:
            lines = [b""]
        if op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "replace":
            lines[i] = draw(st.one_of(_YAML_LINES, st.binary(max_size=20)))
        elif op == "insert":
            lines.insert(i, draw(_YAML_LINES))
        elif op == "indent":
            lines[i] = draw(st.sampled_from([b"", b" ", b"  ", b"\t", b"    "])) + lines[i].lstrip()
        elif op == "value":
            head, colon, _ = lines[i].partition(b": ")
            value = draw(st.one_of(st.sampled_from(b.words), _KNOWN_SCALARS, st.text(max_size=12)))
            lines[i] = head + (colon or b": ") + value.encode("utf-8", "surrogatepass")
        else:
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.binary(min_size=1, max_size=6)) + line[at:]
    data = b"\n".join(lines)
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def file_contents(prefix: str = "") -> st.SearchStrategy[bytes]:
    """Bytes for a file: a bundled file (whose name starts with ``prefix``) as it
    is or mutated, a generated document, or raw bytes."""
    b = bundle()
    names = sorted(n for n in b.seeds if n.startswith(prefix)) or sorted(b.seeds)
    parsed = sorted(n for n in names if n in b.trees) or sorted(b.trees)
    named = st.sampled_from(names)
    return st.one_of(
        named.map(lambda n: b.seeds[n]),
        named.flatmap(text_mutation),
        named.flatmap(text_mutation),
        st.sampled_from(parsed).flatmap(tree_mutation),
        st.sampled_from(parsed).flatmap(tree_mutation),
        st.composite(lambda draw: dump(draw, draw(documents(b.words))))(),
        st.binary(max_size=300),
        named.map(lambda n: b.seeds[n].decode("utf-8", "replace").encode("utf-16")),
        named.map(lambda n: b"\xef\xbb\xbf" + b.seeds[n]),
    )


# --------------------------------------------------------------------- an example: files, folders, arguments

_EXTENSIONS = [".yaml", ".yml", ".json", ".jsonl", ".csv", ".txt", ""]
_PREFIXES = ["", "cases/", "rules/", "key/", "transcript/", "answers/", "transcripts/", "yaml/", "gradebook/"]


@dataclass
class Folder:
    """A copy of the bundled rules or cases folder: the files kept, and those changed or added."""

    kind: str  # "rules" or "cases"
    kept: tuple[str, ...]
    changed: dict[str, bytes | None] = field(default_factory=dict)  # None: removed

    def files(self) -> dict[str, bytes]:
        bundled = bundle().rules_files if self.kind == "rules" else bundle().cases_files
        files = {name: bundled[name] for name in self.kept}
        for name, data in self.changed.items():
            if data is None:
                files.pop(name, None)
            else:
                files[name] = data
        return files


@dataclass
class Example:
    """One generated run of the CLI, and what it may write."""

    args: list[str]
    files: dict[str, bytes] = field(default_factory=dict)  # relative to the working folder
    folders: dict[str, Folder] = field(default_factory=dict)
    specials: tuple[str, ...] = ()  # "pipe", "dangling", "loop", "folder"
    stdin: bytes | None = None
    env: dict[str, str] = field(default_factory=dict)  # relative folder names, made absolute at run time
    outputs: list[tuple[str, bool]] = field(default_factory=list)  # (path, is a folder)
    new_cases: list[str] = field(default_factory=list)  # new-case: the IDs given ...
    new_case_folders: list[str] = field(default_factory=list)  # ... and the --out folders
    run_transcripts: bool = False  # 'run' may write its default transcript
    tty: str = ""  # "stdin": standard input is a terminal (the lines typed at it); "both": standard output too

    def __repr__(self) -> str:
        lines = [f"imt-tutor {shlex.join(self.args)}"]
        if any("{work}" in a or "{root}" in a for a in [*self.args, *self.env.values()]):
            lines.append("  ({work}: the working folder, w/ in {root}, the example's own folder)")
        lines += [f"  file {name}: {data!r}" for name, data in self.files.items()]
        for name, folder in self.folders.items():
            lines.append(f"  folder {name}: bundled {folder.kind} {list(folder.kept)}, changed:")
            lines += [f"    {n}: {d!r}" for n, d in folder.changed.items()]
        if self.specials:
            lines.append(f"  specials: {self.specials}")
        if self.stdin is not None:
            lines.append(f"  stdin: {self.stdin!r}" + (f" (typed at a terminal: {self.tty})" if self.tty else ""))
        lines.append(f"  env: {self.env}")
        return "\n".join(lines)


class Builder:
    """Draws the arguments of one command, making the files they name as it goes."""

    def __init__(self, draw: st.DrawFn, example: Example, command: tuple[str, ...]) -> None:
        self.draw = draw
        self.example = example
        self.command = command
        self.count = 0

    # ----- files and folders

    def new_file(self, prefix: str = "") -> str:
        self.count += 1
        ext = self.draw(st.sampled_from(_EXTENSIONS))
        name = f"in{self.count}{ext}"
        if self.draw(st.integers(0, 7)) == 0:
            name = f"sub/{name}"
        self.example.files[name] = self.draw(file_contents(prefix))
        return name

    def existing_file(self) -> str | None:
        names = sorted(self.example.files)
        return self.draw(st.sampled_from(names)) if names else None

    def folder(self, kind: str) -> str:
        b = bundle()
        bundled = b.rules_files if kind == "rules" else b.cases_files
        names = sorted(bundled)
        if kind == "rules":
            kept = tuple(names)
        else:  # a few cases keep every command fast
            kept = tuple(sorted(self.draw(st.sets(st.sampled_from(names), min_size=0, max_size=3))))
        changed: dict[str, bytes | None] = {}
        for _ in range(self.draw(st.integers(0, 2))):
            how = self.draw(st.integers(0, 4))
            if how == 0 and kept:
                changed[self.draw(st.sampled_from(kept))] = None
            elif how == 1:
                name = self.draw(st.sampled_from(["extra.yaml", "extra.yml", "extra.json", "README", ".hidden.yaml"]))
                changed[name] = self.draw(file_contents(f"{kind}/"))
            else:
                name = self.draw(st.sampled_from(kept or names))
                changed[name] = self.draw(
                    st.one_of(
                        st.sampled_from([f"{kind}/{name}"]).flatmap(text_mutation),
                        st.sampled_from([f"{kind}/{name}"]).flatmap(tree_mutation),
                        file_contents(f"{kind}/"),
                    )
                )
        folder_name = f"my{kind}{len(self.example.folders)}"
        self.example.folders[folder_name] = Folder(kind, kept, changed)
        return folder_name

    def special(self) -> str:
        name = self.draw(st.sampled_from(["pipe", "dangling", "loop", "folder"]))
        if name not in self.example.specials:
            self.example.specials = (*self.example.specials, name)
        return {"pipe": "pipe.yaml", "dangling": "dangling.yaml", "loop": "loop.yaml", "folder": "folder.yaml"}[name]

    def spelt(self, path: str) -> str:
        """A path as the user may spell it: relative, ``./``, or absolute (made absolute at run time)."""
        how = self.draw(st.integers(0, 4))
        if how == 0:
            return "./" + path
        if how == 1:
            return "{work}/" + path
        return path

    # ----- values of one parameter

    def input_path(self, prefix: str = "", dirs: bool = True, dash: bool = False) -> str:
        how = self.draw(st.integers(0, 15))
        if how <= 6:
            return self.spelt(self.new_file(prefix))
        if how == 7 and (name := self.existing_file()):
            return self.spelt(name)
        if how == 8 and dirs:
            return self.spelt(self.folder(self.draw(st.sampled_from(["rules", "cases"]))))
        if how == 9:
            return self.spelt(self.special())
        if how == 10:  # a bundled file or a test data file, as it is
            bundled = self.draw(st.sampled_from(sorted(bundle().seeds)))
            folder, _, rest = bundled.partition("/")
            real = {"rules": rules_dir(), "cases": cases_dir(), "examples": examples_dir()}.get(folder, DATA / folder)
            return str(real / rest) if (real / rest).is_file() else str(cases_dir())
        if how == 11:
            return self.draw(st.sampled_from(["missing.yaml", "no/such/dir/x.json", "", " ", ".", "..", "~"]))
        if how == 12 and dash:
            return "-"
        if how == 13 and dirs:
            return str(self.draw(st.sampled_from([rules_dir(), cases_dir(), examples_dir()])))
        return self.draw(arg_text)

    def output_path(self, folder: bool) -> str:
        how = self.draw(st.integers(0, 9))
        if how <= 4:
            stem = self.draw(st.sampled_from(["out", "o/out", "deep/a/b/out", "Out put", "out\u00e9", "-", ".out"]))
            ext = (
                ""
                if folder
                else self.draw(
                    st.sampled_from([".csv", ".jsonl", ".json", ".yaml", ".html", ".md", ".xml", ".zip", ".htm", ""])
                )
            )
            path = stem + ext
        elif how == 5 and (name := self.existing_file()):
            path = name  # over an input
        elif how == 6:
            path = self.draw(st.sampled_from([".", "sub", "o", ""]))
        elif how == 7:
            path = self.special()
        elif how == 8:
            path = self.draw(
                st.sampled_from(["out/", "a//b", "out.csv/x", "x\x1b[31m.csv", "x\u202e.csv", "x\udcff.csv"])
            )
        else:
            path = self.draw(st.sampled_from(["out.csv", "outdir"]))
        spelt = self.spelt(path) if path else path
        self.example.outputs.append((spelt, folder))
        return spelt

    def new_case_id(self) -> str:
        case_id = self.draw(
            st.one_of(
                st.sampled_from(["my-new-case", "lung-x", "a", "a-b-c-d"]),
                ids(bundle().case_ids),
                st.sampled_from(["../escape", "sub/x", "x.yaml", "-x", "X", "a--b", "a" * 300, "."]),
                arg_text,
            )
        )
        self.example.new_cases.append(case_id)
        return case_id

    def fact_value(self) -> str:
        b = bundle()
        key = self.draw(ids(tuple(b.facts)))
        values = b.facts.get(key) or b.sites
        how = self.draw(st.integers(0, 6))
        if how <= 2:
            return f"{key}={self.draw(ids(values))}"
        if how == 3:
            picks = self.draw(st.lists(st.sampled_from(values), max_size=4))
            return f"{key}={','.join(picks)}"
        if how == 4:
            return self.draw(st.sampled_from([key, f"{key}=", f"={key}", f"{key}==x", "=", f"{key}=a=b", f"{key}=,,"]))
        return self.draw(arg_text)

    def value(self, param: click.Parameter) -> str:
        """One value of ``param``, by what the command means by it, else by its click type."""
        b = bundle()
        name = long_name(param) if isinstance(param, click.Option) else (param.name or "")
        kind = param.type
        if name in OUTPUT_OPTIONS and isinstance(kind, click.Path):
            path = self.output_path(folder=not kind.file_okay)
            if self.command == ("new-case",):  # only CASE_ID.yaml in it
                self.example.outputs.pop()
                self.example.new_case_folders.append(path)
            return path
        if name in ("case_ref", "case_refs", "case"):
            how = self.draw(st.integers(0, 3))
            return self.input_path("cases/", dirs=False) if how == 0 else self.draw(ids(b.case_ids))
        if name in ("rules-dir", "cases-dir"):
            if self.draw(st.integers(0, 7)):
                return self.spelt(self.folder("rules" if name == "rules-dir" else "cases"))
            return self.input_path(dirs=True)
        if name == "facts_file":
            return self.input_path("examples/", dirs=False, dash=True)
        if name == "answers":
            return self.input_path(self.draw(st.sampled_from(["key/", "answers/", "transcript/"])), dirs=False)
        if name == "roster":
            return self.input_path("gradebook/", dirs=False)
        if name == "paths":
            return self.input_path(self.draw(st.sampled_from(_PREFIXES)))
        if name == "rule_id":
            return self.draw(ids(b.rule_ids))
        if name == "key":
            return self.draw(ids(b.keys))
        if name in ("fact", "what-if"):
            return self.fact_value()
        if name == "why-not":
            return self.draw(ids(b.steps))
        if name == "site":
            return self.draw(ids(b.sites))
        if name == "case_id":
            return self.new_case_id()
        if isinstance(kind, click.Choice):
            return self.draw(ids(tuple(str(c) for c in kind.choices), exact_share=9))
        if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
            bounds = [getattr(kind, "min", None), getattr(kind, "max", None)]
            edges = [int(v) + d for v in bounds if v is not None for d in (-1, 0, 1)]
            return self.draw(
                st.one_of(st.sampled_from([*edges, 0, 1, 2]).map(str), st.integers(-(2**70), 2**70).map(str), arg_text)
            )
        if isinstance(kind, click.Path):
            return self.input_path(dirs=kind.dir_okay)
        if isinstance(kind, click.types.BoolParamType):
            return self.draw(st.sampled_from(["true", "false", "1", "0", "maybe"]))
        return self.draw(st.one_of(st.sampled_from(b.words), arg_text))

    # ----- the tokens of a parameter, of a command

    def tokens(self, param: click.Parameter) -> list[str]:
        if isinstance(param, click.Argument):
            if param.nargs == -1:
                count = self.draw(st.integers(1 if param.required else 0, 3))
                return [self.value(param) for _ in range(count)]
            present = param.required or self.draw(st.booleans())
            if param.required and self.draw(st.integers(0, 30)) == 0:
                present = False  # a missing argument is a usage error
            return [self.value(param)] if present else []
        assert isinstance(param, click.Option)
        if param.hidden or (param.is_eager and param.is_flag and not param.expose_value):
            return []  # --help, --version: run on their own elsewhere
        use = self.draw(st.integers(0, 9)) < (9 if param.required else 3)
        if not use:
            return []
        opt = self.draw(st.sampled_from(param.opts))
        if param.is_flag:
            return [opt]
        repeat = self.draw(st.integers(1, 3)) if param.multiple else 1
        out: list[str] = []
        for _ in range(repeat):
            value = self.value(param)
            if opt.startswith("--") and self.draw(st.integers(0, 5)) == 0:
                out.append(f"{opt}={value}")
            else:
                out += [opt, value]
        return out

    def command_tokens(self, command: click.Command) -> list[str]:
        options: list[list[str]] = []
        arguments: list[str] = []
        for param in command.params:
            got = self.tokens(param)
            if isinstance(param, click.Argument):
                arguments += got
            elif got:
                options.append(got)
        options = self.draw(st.permutations(options)) if options else []
        words = [w for group in options for w in group]
        if arguments and self.draw(st.integers(0, 9)) == 0:
            words.append("--")
        if self.draw(st.booleans()):
            words = arguments + words if not (arguments and words and "--" in words) else words + arguments
        else:
            words += arguments
        if self.draw(st.integers(0, 24)) == 0:  # a stray word: an unknown option, a spare argument
            stray = ["--bogus", "-x", "--format", "--", "extra", "-", "--help", "-h", "--version"]
            junk = self.draw(st.one_of(st.sampled_from(stray), arg_text))
            words.insert(self.draw(st.integers(0, len(words))), junk)
        return words


_PICK_WORDS = [
    "", "1", "2", "3", "1,2", "2,3", "1,2,3,4,5,6,7,8,9,10", "yes", "no", "y", "n", "-", "none", ",,", " , ", "0",
    "-1", "99", "1,1", "1-3", "all", " 1 ", "1;2", "1 2", "\t1", "biopsy", "\x1b[2J", "\u202e1", "HINT", "?",
]  # fmt: skip
_COMMAND_WORDS = ["help", "why", "hint", "how", "facts", "back", "why-not 1", "why-not 2"]
_ODD_COMMANDS = [
    "why-not 99", "why-not", "why-not biopsy", "why-not x\x1b[31m", "what-if", "what-if site", "what-if =",
    "what-if x=y", "HOW", " hint ", "quit", "q", "exit",
]  # fmt: skip


@st.composite
def _what_if(draw: st.DrawFn) -> str:
    facts = bundle().facts
    key = draw(st.sampled_from(sorted(facts)))
    values = draw(st.lists(st.sampled_from(facts[key] or ("x",)), min_size=1, max_size=2))
    return f"what-if {key}={','.join(values)}"


def answer_lines(draw: st.DrawFn, case_id: str | None = None) -> bytes:
    """Lines typed at the prompts: the case's key with commands, mistakes and noise mixed
    in (so that some runs reach the end of the case), or any words."""
    commands = st.one_of(
        st.sampled_from(_COMMAND_WORDS), st.sampled_from(_COMMAND_WORDS), st.sampled_from(_ODD_COMMANDS), _what_if()
    )
    words = st.one_of(
        commands, commands, st.sampled_from(_PICK_WORDS), st.sampled_from(bundle().steps), st.text(max_size=12)
    )
    key = bundle().key_lines.get(case_id or "")
    if key and draw(st.booleans()):
        lines: list[str] = []
        for answer in key:
            lines += draw(st.lists(words, max_size=3)) if draw(st.booleans()) else []
            lines.append(answer if draw(st.integers(0, 5)) else draw(words))
            if draw(st.integers(0, 3)) == 0:  # what may follow an answer
                lines.append(draw(st.sampled_from(["how", "how", "why-not 1", "why-not 3", "back", "facts"])))
        if draw(st.integers(0, 3)) == 0:
            lines = lines[: draw(st.integers(0, len(lines)))]
    else:
        lines = draw(st.lists(words, max_size=30))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data += draw(st.binary(max_size=20))
    return data


def draw_env(draw: st.DrawFn, example: Example) -> None:
    example.env["XDG_DATA_HOME"] = draw(st.sampled_from(["{root}/xdg", "{root}/xdg", "", "relative"]))
    example.env["COLUMNS"] = draw(st.sampled_from(["80", "80", "120", "40", "12", "1", "0", "-5", "x", ""]))


@st.composite
def any_command(draw: st.DrawFn) -> Example:
    """Any leaf command, any of its parameters, with the global options."""
    words, command = draw(st.sampled_from(commands()))
    example = Example(args=[])
    builder = Builder(draw, example, words)
    draw_env(draw, example)
    example.args = [*builder.command_tokens(main), *words, *builder.command_tokens(command)]
    example.run_transcripts = words == ("run",)
    if draw(st.integers(0, 3)) == 0 or words in (("run",), ("infer",)):
        case = next((w for w in example.args if w in bundle().key_lines), None)
        lines = st.composite(answer_lines)(case)
        example.stdin = draw(st.one_of(lines, lines, file_contents("examples/"), st.binary(max_size=50)))
        example.tty = draw(st.sampled_from(["", "", "stdin", "both"]))
    return example


# Commands whose one file argument (or option) is the point: the rest stays valid.
_FILE_COMMANDS: list[tuple[list[str], str, str]] = [
    (["infer", "{file}"], "examples/", ""),
    (["infer", "-"], "examples/", "stdin"),
    (["infer", "{file}", "--format", "json", "--why-not", "biopsy", "--what-if", "site=liver"], "examples/", ""),
    (["run", "{file}"], "cases/", "answers"),
    (["run", "{file}", "--summary", "--answers", "{key}"], "cases/", ""),
    (["run", "lung-cough-alk-positive", "--answers", "{file}"], "key/", ""),
    (["run", "lung-cough-alk-positive", "--answers", "{file}", "--save-answers", "saved.json"], "answers/", ""),
    (["run", "lung-cough-alk-positive", "--resume", "--transcript", "{file}"], "transcript/", "answers"),
    (["run", "lung-cough-alk-positive", "--transcript", "{file}"], "transcript", "answers"),
    (["key", "{file}"], "cases/", ""),
    (["key", "{file}", "--format", "json"], "cases/", ""),
    (["check", "{file}"], "cases/", ""),
    (["check", "{file}", "--format", "json", "--strict"], "rules/", ""),
    (["check", "{file}"], "", ""),
    (["graph", "--case", "{file}", "--format", "dot"], "cases/", ""),
    (["grade", "{file}", "--out", "g.csv"], "key/", ""),
    (["grade", "{file}", "--out", "g.jsonl", "--feedback-dir", "fb", "--report", "r.html"], "answers/", ""),
    (["grade", "{file}", "--out", "g.csv", "--format", "canvas", "--assignment", "IMT case 1"], "transcript/", ""),
    (["grade", "{key}", "--out", "g.csv", "--format", "moodle", "--roster", "{file}", "--assignment", "IMT case 1"],
     "gradebook/", ""),
    (["export", "moodle", "{file}", "--out", "q.xml"], "cases/", ""),
    (["export", "qti", "{file}", "--out", "q.zip"], "cases/", ""),
    (["export", "html", "{file}", "--out", "pages"], "cases/", ""),
]  # fmt: skip


def _outputs_of(args: list[str]) -> list[tuple[str, bool]]:
    folders = {"--feedback-dir"} | ({"--out"} if args[:2] == ["export", "html"] else set())
    found = []
    for i, word in enumerate(args[:-1]):
        if word in OUTPUT_FLAGS:
            found.append((args[i + 1], word in folders))
    return found


@st.composite
def file_command(draw: st.DrawFn) -> Example:
    """A command given one generated file (as its argument, an option or standard input)."""
    template, prefix, extra = draw(st.sampled_from(_FILE_COMMANDS))
    example = Example(args=[])
    builder = Builder(draw, example, ())
    draw_env(draw, example)
    name = builder.new_file(draw(st.sampled_from([prefix, prefix, ""])))
    key = "key.yaml"
    example.files[key] = bundle().seeds["key/lung-cough-alk-positive.yaml"]
    args = [w.replace("{file}", name).replace("{key}", key) for w in template]
    engine = draw(st.sampled_from([[], [], ["--engine", "builtin"], ["--engine", "durable_rules"]]))
    example.args = [*engine, *args]
    example.outputs = _outputs_of(args)
    example.run_transcripts = args[0] == "run"
    if extra == "stdin":
        example.stdin = example.files.pop(name)
    elif extra == "answers":
        example.stdin = answer_lines(draw, "lung-cough-alk-positive")
        example.tty = draw(st.sampled_from(["", "stdin"]))
    return example


_FOLDER_COMMANDS: list[list[str]] = [
    ["cases"], ["cases", "--instructor", "--format", "json"], ["rules"], ["rules", "--by-section"],
    ["rules", "--format", "json"], ["rules", "mass-needs-biopsy"], ["vocab"], ["vocab", "site", "--format", "json"],
    ["infer", str(examples_dir() / "lung-mass.yaml"), "--what-if", "imaging_finding=no_mass"], ["check"],
    ["check", "--coverage", "--strict"], ["graph"], ["graph", "--case", "{case}", "--only-path"], ["key", "{case}"],
    ["run", "{case}"], ["run", "{case}", "--answers", "key.yaml", "--summary", "--transcript", "t.json"],
    ["grade", "key.yaml", "--out", "g.csv", "--report", "items.md"], ["export", "html", "{case}", "--out", "pages"],
    ["export", "moodle", "--out", "q.xml"], ["export", "qti", "{case}", "--out", "q.zip"],
    ["new-case", "new-one", "--site", "liver"],
]  # fmt: skip


@st.composite
def folder_command(draw: st.DrawFn) -> Example:
    """A command on a copy of the bundled rules (--rules-dir) or cases (--cases-dir) with a file changed."""
    template = draw(st.sampled_from(_FOLDER_COMMANDS))
    example = Example(args=[])
    builder = Builder(draw, example, ())
    draw_env(draw, example)
    example.files["key.yaml"] = bundle().seeds["key/lung-cough-alk-positive.yaml"]
    case = draw(ids(bundle().case_ids))
    args = [w.replace("{case}", case) for w in template]
    engine = draw(st.sampled_from([[], ["--engine", "builtin"]]))
    has_cases_dir = any(
        p.name == "cases_dir" for p in dict(commands())[tuple(args[:2]) if args[0] == "export" else (args[0],)].params
    )
    which = draw(st.sampled_from(["rules", "cases", "both"])) if has_cases_dir else "rules"
    before: list[str] = [*engine]
    if which in ("rules", "both"):
        before += ["--rules-dir", builder.spelt(builder.folder("rules"))]
    if which in ("cases", "both"):
        args += ["--cases-dir", builder.spelt(builder.folder("cases"))]
    example.args = [*before, *args]
    example.outputs = _outputs_of(args)
    example.run_transcripts = args[0] == "run"
    if args[0] == "new-case":
        example.new_cases.append("new-one")
    if args[0] == "run":
        example.stdin = answer_lines(draw, case)
        example.tty = draw(st.sampled_from(["", "stdin"]))
    return example


@st.composite
def run_command(draw: st.DrawFn) -> Example:
    """``run`` of a bundled case with generated answers on standard input, and its flags."""
    example = Example(args=[])
    draw_env(draw, example)
    case = draw(st.sampled_from(bundle().case_ids))
    flags = draw(
        st.sampled_from(
            [
                [],
                [],
                [],
                ["--resume"],
                ["--restart"],
                ["--show-rules"],
                ["--resume", "--show-rules"],
                ["--resume", "--restart"],
            ]
        )
    )
    groups: list[list[str]] = []
    partial = f"transcript/partial-{case}.json"
    partial = partial if partial in bundle().trees else "transcript/partial.json"
    if draw(st.booleans()):
        groups.append(["--transcript", "t.json"])
        if draw(st.booleans()):
            example.files["t.json"] = draw(
                st.one_of(
                    st.just(bundle().seeds[partial]),
                    st.sampled_from([partial]).flatmap(tree_mutation),
                    file_contents("transcript"),
                )
            )
    answers = draw(st.integers(0, 4)) == 0
    if answers:
        groups.append(["--answers", "answers.yaml"])
        if draw(st.booleans()):
            groups.append(["--summary"])
        key = f"key/{case}.yaml" if f"key/{case}.yaml" in bundle().trees else "key/lung-cough-alk-positive.yaml"
        example.files["answers.yaml"] = draw(
            st.one_of(st.just(bundle().seeds[key]), st.sampled_from([key]).flatmap(tree_mutation))
        )
    if draw(st.booleans()):
        groups.append(["--student", draw(st.one_of(st.sampled_from(["A. Student", "", "x" * 500]), arg_text))])
    if draw(st.integers(0, 3)) == 0:
        groups.append(["--save-answers", draw(st.sampled_from(["mine.yaml", "mine.json", "mine", "t.json"]))])
    groups = draw(st.permutations(groups)) if draw(st.integers(0, 3)) == 0 else groups
    more = [word for group in groups for word in group]
    example.args = [*draw(st.sampled_from([[], ["--engine", "builtin"]])), "run", case, *flags, *more]
    example.outputs = _outputs_of(example.args[example.args.index("run") :])
    example.run_transcripts = True
    example.stdin = answer_lines(draw, case)
    example.tty = draw(st.sampled_from(["", "stdin", "stdin", "both"]))
    if example.tty and "t.json" in example.files and not flags:  # "Continue it?", "Start over?"
        example.stdin = (
            draw(st.sampled_from([b"\n", b"y\n", b"n\n", b"n\ny\n", b"n\nn\n", b"maybe\ny\n"])) + example.stdin
        )
    return example


# --------------------------------------------------------------------- running an example

_ENV_FOLDERS = ("w", "home", "xdg", "tmp")


@contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Work in ``folder``, with Python's temporary files there too."""
    old_cwd = os.getcwd()
    old_tempdir = tempfile.tempdir
    os.chdir(folder)
    tempfile.tempdir = str(folder.parent / "tmp")
    try:
        yield
    finally:
        os.chdir(old_cwd)
        tempfile.tempdir = old_tempdir


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root``: its kind, and the digest of each regular file."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            mode = path.lstat().st_mode
            if stat.S_ISREG(mode):
                found[rel] = hashlib.sha1(path.read_bytes()).hexdigest()
            elif stat.S_ISDIR(mode):
                found[rel] = "dir"
            else:
                found[rel] = f"special {stat.S_IFMT(mode):o}"
    return found


def _bundled_snapshot() -> dict[str, str]:
    return {f"{d}/{k}": v for d in (rules_dir(), cases_dir(), examples_dir()) for k, v in _snapshot(d).items()}


def _make(example: Example, root: Path) -> None:
    work = root / "w"
    for name in _ENV_FOLDERS:
        (root / name).mkdir()
    for name, data in example.files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for name, folder in example.folders.items():
        (work / name).mkdir()
        for file_name, data in folder.files().items():
            (work / name / file_name).write_bytes(data)
    for special in example.specials:
        path = work / f"{special}.yaml"
        if special == "pipe":
            os.mkfifo(path)
        elif special == "dangling":
            path.symlink_to(work / "nowhere.yaml")
        elif special == "loop":
            path.symlink_to(path)
        else:
            path.mkdir()


def _resolve(text: str, root: Path) -> str:
    return text.replace("{work}", str(root / "w")).replace("{root}", str(root))


def _allowed(example: Example, root: Path) -> list[tuple[Path, bool]]:
    """The paths (and folders: everything under them) the command was asked to write."""
    work = root / "w"
    wanted = list(example.outputs)
    for folder in example.new_case_folders or ["."]:
        wanted += [(f"{folder}/{case_id}.yaml", False) for case_id in example.new_cases]
    allowed = []
    for path, folder in wanted:
        target = Path(os.path.normpath(work / _resolve(path, root)))
        if target.is_relative_to(work):  # never outside the working folder
            allowed.append((target, folder))
    if example.run_transcripts:
        for data in (root / "xdg", root / "home" / ".local" / "share"):
            allowed.append((data / "imt-tutor" / "transcripts", True))
    return allowed


def _is_allowed(rel: str, root: Path, allowed: list[tuple[Path, bool]]) -> bool:
    path = root / rel
    for target, folder in allowed:
        if path == target or target.is_relative_to(path) or (folder and path.is_relative_to(target)):
            return True
    return False


def _problems(
    example: Example,
    result: Result,
    root: Path,
    before: dict[str, str],
    bundled_before: dict[str, str],
    allowed_controls: set[str],
) -> list[str]:
    problems = []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        problems.append("raised:\n" + "".join(traceback.format_exception(*result.exc_info)))
    if result.exit_code not in (0, 1, 2):
        problems.append(f"exit code {result.exit_code}")
    allowed = set(allowed_controls)
    for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if "Traceback" in text:
            problems.append(f"a traceback on {stream}")
        bad = sorted(set(CONTROL.findall(text)) - allowed)
        if bad:
            at = min(text.index(c) for c in bad)
            problems.append(f"control characters {bad!r} on {stream}, first in {text[max(at - 60, 0) : at + 20]!r}")
    after = _snapshot(root)
    outputs = _allowed(example, root)
    for rel in sorted(set(after) - set(before)):
        name = Path(rel).name
        if name.endswith((".tmp", ".lock")) or not _is_allowed(rel, root, outputs):
            problems.append(f"left behind: {rel}")
    for rel in sorted(set(before) & set(after)):
        if before[rel] != after[rel] and not _is_allowed(rel, root, outputs):
            problems.append(f"changed: {rel}")
    for rel in sorted(set(before) - set(after)):
        if not _is_allowed(rel, root, outputs):
            problems.append(f"removed: {rel}")
    if os.listdir(root / "tmp"):
        problems.append(f"left in the temporary folder: {os.listdir(root / 'tmp')}")
    if sorted(os.listdir(root.parent)) != [root.name]:
        problems.append(f"written beside the example's folder: {sorted(os.listdir(root.parent))}")
    bundled_after = _bundled_snapshot()
    for path in sorted(set(bundled_before) | set(bundled_after)):
        if bundled_before.get(path) != bundled_after.get(path):
            problems.append(f"a bundled file changed: {path}")
    return problems


class _Terminal:
    """Standard input as a terminal on which the example's lines were typed: ``isatty()``
    is true and ``fileno()`` a pipe that holds them (the runner reads a terminal's file
    descriptor), so the interactive prompts are fuzzed too."""

    def __init__(self, stream: Any, fd: int) -> None:
        self._stream = stream
        self._fd = fd

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Runner(CliRunner):
    """click's CliRunner, with standard input (and output) made to look like a terminal."""

    def __init__(self, tty: str, fd: int) -> None:
        super().__init__()
        self.tty = tty
        self.fd = fd

    @contextmanager
    def isolation(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with super().isolation(*args, **kwargs) as streams:
            if self.tty:
                sys.stdin = _Terminal(sys.stdin, self.fd)  # type: ignore[assignment]
            if self.tty == "both":
                sys.stdout.isatty = lambda: True  # type: ignore[method-assign]
            yield streams


@contextmanager
def _typed(data: bytes | None) -> Iterator[int]:
    """A pipe holding ``data``, then end of input: its reading end."""
    read, write = os.pipe()
    try:
        os.write(write, data or b"")
        os.close(write)
        yield read
    finally:
        os.close(read)


class Hang(Exception):
    """A command still running after HANG seconds (each takes well under one)."""


HANG = 60


@contextmanager
def _hang_guard() -> Iterator[None]:
    """Turn a hang into a failure (where SIGALRM exists): the command gets :class:`Hang` raised in it."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield  # pragma: no cover - Windows, or a test runner's worker thread
        return

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {HANG} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_example(example: Example, where: Path, allowed_controls: set[str]) -> None:
    """Run ``example`` in a fresh folder under ``where`` and assert the CLI's promise."""
    holder = Path(tempfile.mkdtemp(dir=where))
    root = holder / "example"
    root.mkdir()
    try:
        _make(example, root)
        before = _snapshot(root)
        bundled_before = _bundled_snapshot()
        env = {
            "NO_COLOR": "1",
            "HOME": str(root / "home"),
            "XDG_DATA_HOME": _resolve(example.env.get("XDG_DATA_HOME", "{root}/xdg"), root) or None,
            "COLUMNS": example.env.get("COLUMNS") or None,
            "LINES": None,
        }
        args = [_resolve(a, root) for a in example.args]
        # Keep the ANSI sequences click would strip from a pipe: a real terminal would act on them.
        with (
            _inside(root / "w"),
            mock.patch.object(click.utils, "strip_ansi", lambda value: value),
            _typed(example.stdin) as fd,
            _hang_guard(),
        ):
            result = _Runner(example.tty, fd).invoke(main, args, input=example.stdin, env=env)  # type: ignore[arg-type]
        problems = _problems(example, result, root, before, bundled_before, allowed_controls)
        if problems:
            shown = "\n".join(problems)
            pytest.fail(
                f"{shown}\n--- the example\n{example!r}\n--- exit {result.exit_code}\n"
                f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}",
                pytrace=False,
            )
    finally:
        shutil.rmtree(holder, ignore_errors=True)


# --------------------------------------------------------------------- the baseline

_BASELINE = [
    ["--help"], ["--version"], ["cases"], ["cases", "--instructor"], ["cases", "--format", "json"], ["rules"],
    ["rules", "--by-section"], ["rules", "--format", "markdown"], ["rules", "--format", "json"],
    ["rules", "mass-needs-biopsy"], ["vocab"], ["vocab", "site"], ["vocab", "--format", "json"],
    ["infer", str(examples_dir() / "lung-mass.yaml"), "--why-not", "biopsy", "--what-if", "imaging_finding=no_mass"],
    ["infer", "--fact", "site=lung", "--fact", "symptoms=cough", "--format", "json"], ["check"],
    ["check", "--coverage"],
    ["graph"], ["graph", "--format", "dot", "--case", "lung-no-mass-on-imaging"], ["new-case", "a-new-case"],
    ["export", "html", "lung-cough-alk-positive", "--out", "pages"], ["export", "moodle", "--out", "q.xml"],
    ["export", "qti", "lung-cough-alk-positive", "--out", "q.zip"],
]  # fmt: skip


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def baseline_controls(where: Path) -> set[str]:
    """The control characters the commands show for the bundled data (expected: none)."""
    folder = where / "baseline"
    folder.mkdir()
    runs: list[tuple[list[str], str | None, str]] = [(args, None, "") for args in _BASELINE]
    runs += [([*words, "--help"], None, "") for words, _ in commands()]
    typed = "hint\nhint\nhint\nwhy\nwhy-not 1\nhow\nfacts\nwhat-if site=liver\n1\nhow\nback\n\ny\n2\n" * 3
    for case_id in bundle().case_ids:
        runs.append((["key", case_id], None, ""))
        runs.append((["run", case_id, "--transcript", f"{case_id}.json"], typed, ""))
        runs.append(
            (["run", case_id, "--transcript", f"t-{case_id}.json", "--show-rules"], typed + "-\n" * 20, "stdin")
        )
    runs.append(
        (["grade", str(DATA / "answers"), "--out", "g.csv", "--feedback-dir", "fb", "--report", "r.html"], None, "")
    )
    env = {"NO_COLOR": "1", "HOME": str(folder), "XDG_DATA_HOME": str(folder), "COLUMNS": "80"}
    found: set[str] = set()
    with _inside(folder), mock.patch.object(click.utils, "strip_ansi", lambda value: value):
        (folder.parent / "tmp").mkdir(exist_ok=True)
        for args, text, tty in runs:
            data = None if text is None else text.encode("utf-8")
            with _typed(data) as fd:
                result = _Runner(tty, fd).invoke(main, args, input=data, env=env)
            found.update(CONTROL.findall(result.stdout + result.stderr))
    return found


@pytest.fixture(scope="module")
def allowed_controls(where: Path) -> set[str]:
    return baseline_controls(where)


# --------------------------------------------------------------------- the tests


def test_every_command_is_fuzzed() -> None:
    """The generators know every command (a new one is fuzzed by test_any_command at once)."""
    names = {" ".join(words) for words, _ in commands()}
    assert {"infer", "rules", "cases", "run", "key", "check", "vocab", "new-case", "graph", "grade"} <= names
    assert {"export html", "export moodle", "export qti"} <= names
    assert {long_name(p) for p in main.params} >= {"rules-dir", "engine"}


@fuzz(200)
@given(example=any_command())
def test_any_command(example: Example, where: Path, allowed_controls: set[str]) -> None:
    check_example(example, where, allowed_controls)


@fuzz(200)
@given(example=file_command())
def test_commands_on_a_generated_file(example: Example, where: Path, allowed_controls: set[str]) -> None:
    check_example(example, where, allowed_controls)


@fuzz(100)
@given(example=folder_command())
def test_commands_on_a_changed_rules_or_cases_folder(example: Example, where: Path, allowed_controls: set[str]) -> None:
    check_example(example, where, allowed_controls)


@fuzz(150)
@given(example=run_command())
def test_run_with_generated_answers(example: Example, where: Path, allowed_controls: set[str]) -> None:
    check_example(example, where, allowed_controls)


@pytest.mark.parametrize("broken", ["raises", "control", "traceback", "exit-code", "stray-file", "temporary", "beside"])
def test_the_checks_catch_a_broken_command(
    broken: str, where: Path, allowed_controls: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each check fails a command that breaks its promise (here 'vocab', broken on purpose)."""
    command = dict(commands())[("vocab",)]

    def callback(**params: Any) -> None:
        click.echo("vocabulary")
        if broken == "raises":
            raise RuntimeError("boom")
        if broken == "control":
            click.echo("\x1b]0;a title\x07")
        if broken == "traceback":
            click.echo("Traceback (most recent call last):", err=True)
        if broken == "exit-code":
            raise SystemExit(3)
        if broken == "stray-file":
            Path("stray.txt").write_text("x", encoding="utf-8")
        if broken == "temporary":
            tempfile.mkstemp()
        if broken == "beside":
            Path("../../beside.txt").write_text("x", encoding="utf-8")

    monkeypatch.setattr(command, "callback", callback)
    with pytest.raises(pytest.fail.Exception):
        check_example(Example(args=["vocab"]), where, allowed_controls)
    monkeypatch.undo()
    check_example(Example(args=["vocab"]), where, allowed_controls)  # and passes it mended


def test_a_name_utf8_cannot_encode_is_one_error_not_a_traceback(tmp_path: Path) -> None:
    """Found by the fuzz test: a --assignment in bytes that are not UTF-8 (a lone surrogate
    in Python) used to end 'grade' with a UnicodeEncodeError while the gradebook was written."""
    out = tmp_path / "g.csv"
    args = ["grade", str(DATA / "answers" / "valid.yaml"), "--out", str(out), "--format", "canvas"]
    args += ["--assignment", "Case \udcff", "--roster", str(DATA / "gradebook" / "canvas_export.csv")]
    result = _plain_invoke(args, tmp_path)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{out}: cannot write file: the text holds \\udcff, which UTF-8 cannot encode" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".g.csv.*"))
