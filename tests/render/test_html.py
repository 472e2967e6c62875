"""The browser pages (``imt-tutor export html``), without a browser: the markup
parses and nests, every string is escaped, every option of every question
carries its feedback, the stamp is the gradebook's, nothing loads from
elsewhere, and the colours meet WCAG AA. ``tests/test_browser.py`` drives the
pages in Chromium."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from imt_tutor import DISCLAIMER, __version__
from imt_tutor.cases import load_case
from imt_tutor.cli.export_html import PAGE_LIMIT, SINGLE_FILE, case_page_for, page_stamp
from imt_tutor.engines import engine_label
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.feedback import build_key, key_from_json
from imt_tutor.files import cases_dir, rules_dir
from imt_tutor.models import Case, RuleBase, Vocabulary
from imt_tutor.render.html import (
    CasePage,
    Markup,
    case_page,
    el,
    index_page,
    script_json,
    single,
    single_file_page,
    yes_no,
)

VOID = {"meta", "input", "br", "link", "img", "hr", "area", "base", "col", "embed", "source", "track", "wbr"}
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> & \u2028 </script><!--'


# --------------------------------------------------------------------- helpers


class Page(HTMLParser):
    """A strict reading of a page: tags nest, ids are unique; what it holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[tuple[str, str]] = []  # (innermost tag, text)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if len(found) != len(attrs):
            self.errors.append(f"<{tag}> repeats an attribute")
        self.tags.append((tag, found))
        if "id" in found:
            self.ids.append(str(found["id"]))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        where = self.stack[-1] if self.stack else ""
        if where == "script":
            attrs = next(a for t, a in reversed(self.tags) if t == "script")
            self.scripts.append((attrs, data))
        elif where == "style":
            self.styles.append(data)
        elif where == "title":
            self.title += data
        elif data.strip():
            self.text.append((where, data))

    def all_text(self) -> str:
        return " ".join(t for _, t in self.text)

    def attrs_of(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert page.errors == []
    assert page.stack == []
    assert len(page.ids) == len(set(page.ids)), [i for i in page.ids if page.ids.count(i) > 1]
    return page


def data_of(page: Page) -> dict[str, Any]:
    ((_, raw),) = [(a, s) for a, s in page.scripts if a.get("type") == "application/json"]
    data: dict[str, Any] = json.loads(raw)
    return data


@pytest.fixture(scope="module")
def pages(base: RuleBase, bundled_cases: tuple[Case, ...]) -> dict[str, CasePage]:
    engine = BuiltinEngine(base)
    return {c.id: case_page_for(base, engine, c, page_stamp(rules_dir(), c, engine)) for c in bundled_cases}


@pytest.fixture(scope="module")
def rendered(vocab: Vocabulary, pages: dict[str, CasePage]) -> dict[str, str]:
    return {case_id: case_page(vocab, page) for case_id, page in pages.items()}


def hostile_case(tmp_path: Path, vocab: Vocabulary) -> Case:
    """The lung case with markup, a closing script tag and U+2028 in every kind of text an author writes."""
    text = (cases_dir() / "lung-cough-alk-positive.yaml").read_text(encoding="utf-8")
    quoted = json.dumps(HOSTILE)
    text = text.replace("title: A cough that would not settle", f"title: {quoted}")
    text = text.replace(
        'teaser: "A fictional primary-school teacher has had a cough for weeks, and now chest pain."',
        f"teaser: {quoted}",
    )
    block = HOSTILE.replace("\u2028", "")  # a line break, in a YAML block
    text = text.replace("several weeks, and now some chest pain as well.", f"several weeks {block}")
    text = text.replace(
        "prompt: Which of the presentations described for IMTs does this one fit? (Several may.)",
        f"prompt: {quoted}",
    )
    text = text.replace(
        "- IMTs are rare, benign tumours; the lungs are one of the three places where they turn up most often.",
        f"- {quoted}",
    )
    assert text.count("__pwned") >= 5 * 2
    path = tmp_path / "lung-cough-alk-positive.yaml"
    path.write_text(text, encoding="utf-8")
    return load_case(path, vocab)


# --------------------------------------------------------------------- the markup


def test_el_escapes_text_and_attributes() -> None:
    made = el("p", {"title": '"><script>', "hidden": True, "x-no": None}, "<b>&</b>", el("em", {}, "ok"))
    assert made == '<p title="&quot;&gt;&lt;script&gt;" hidden>&lt;b&gt;&amp;&lt;/b&gt;<em>ok</em></p>'
    assert isinstance(made, Markup)
    assert el("input", {"type": "checkbox"}) == '<input type="checkbox">'
    with pytest.raises(ValueError):
        el("p onclick=x", {})
    with pytest.raises(ValueError):
        el("p", {"on click": "x"})


def test_script_json_cannot_end_the_script() -> None:
    text = script_json({"a": "</script><!-- & \u2028\u2029 >"})
    assert not set("<>&") & set(text)
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029 >"}


def test_every_bundled_page_parses_and_nests(rendered: dict[str, str]) -> None:
    for text in rendered.values():
        page = parse(text)
        assert text.startswith('<!DOCTYPE html>\n<html lang="en">')
        assert [t for t, _ in page.tags].count("h1") == 1


def test_the_disclaimer_is_in_the_title_the_description_and_at_the_top(rendered: dict[str, str]) -> None:
    for text in rendered.values():
        page = parse(text)
        assert DISCLAIMER in page.title
        (description,) = [a for a in page.attrs_of("meta") if a.get("name") == "description"]
        assert DISCLAIMER in str(description["content"])
        first = next(t for w, t in page.text if w in ("strong", "p"))
        assert first == DISCLAIMER


def test_landmarks_headings_and_labels(rendered: dict[str, str], pages: dict[str, CasePage]) -> None:
    for case_id, text in rendered.items():
        page = parse(text)
        names = [t for t, _ in page.tags]
        for landmark in ("header", "main", "footer"):
            assert landmark in names
        levels = [int(t[1]) for t in names if re.fullmatch(r"h[1-6]", t)]
        assert levels[0] == 1
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels  # no level skipped
        labelled = {a["for"] for a in page.attrs_of("label")}
        inputs = page.attrs_of("input")
        assert inputs and all(a["id"] in labelled for a in inputs)
        key = pages[case_id].key
        for q in key.questions:
            prefix = f"c0-q{q.number}"
            kinds = {a["type"] for a in inputs if str(a["id"]).startswith(f"{prefix}-")}
            names_here = [a for a in inputs if a.get("name") == prefix]
            if yes_no(q):
                assert kinds == {"radio"} and len(names_here) == 2
            elif single(q):
                assert kinds == {"radio"} and len(names_here) == len(q.options)
            else:  # checkboxes, and "nothing applies"
                assert kinds == {"checkbox"} and len(names_here) == len(q.options)
                assert any(a["id"] == f"{prefix}-none" for a in inputs)
        live = [a for t, a in page.tags if a.get("aria-live")]
        assert len([a for a in live if "feedback" in str(a.get("class"))]) == len(key.questions)


def test_nothing_loads_from_elsewhere(rendered: dict[str, str], vocab: Vocabulary, pages: dict[str, CasePage]) -> None:
    index = index_page(list(pages.values()), __version__, SINGLE_FILE)
    for text in [*rendered.values(), index]:
        page = parse(text)
        assert "://" not in text
        assert not [a for _, a in page.tags if "src" in a]
        assert not page.attrs_of("link") and not page.attrs_of("iframe") and not page.attrs_of("img")
        for a in page.attrs_of("a"):
            href = str(a["href"])
            assert href.startswith("#") or re.fullmatch(r"[a-z0-9-]+\.html", href), href
        (policy,) = [a for a in page.attrs_of("meta") if a.get("http-equiv") == "Content-Security-Policy"]
        content = str(policy["content"])
        assert "default-src 'none'" in content and "unsafe" not in content
        for attrs, body in page.scripts:
            if attrs.get("type") != "application/json":
                digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in content
        for body in page.styles:
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in content
        assert "@import" not in "".join(page.styles) and "url(" not in "".join(page.styles)


def test_a_bundled_page_is_small(rendered: dict[str, str]) -> None:
    sizes = {case_id: len(text.encode("utf-8")) for case_id, text in rendered.items()}
    assert max(sizes.values()) < PAGE_LIMIT, sizes


def test_an_authors_markup_shows_as_text(tmp_path: Path, base: RuleBase, vocab: Vocabulary) -> None:
    case = hostile_case(tmp_path, vocab)
    engine = BuiltinEngine(base)
    page = case_page_for(base, engine, case, page_stamp(rules_dir(), case, engine))
    text = case_page(vocab, page)
    parsed = parse(text)
    tags = [t for t, _ in parsed.tags]
    assert tags.count("script") == 2  # the page's data and its own script, nothing else
    assert tags.count("img") == 0
    assert "<script>window" not in text and "<img" not in text
    shown = parsed.all_text()
    assert shown.count("<script>window.__pwned=1</script>") >= 4  # title, teaser, narrative, prompt, point
    assert HOSTILE in parsed.title
    data = data_of(parsed)
    assert data["cases"][0]["model"]["title"] == HOSTILE
    for _, body in parsed.scripts:
        assert "</script" not in body.lower() and "<!--" not in body
    # and the index and the single file too
    for other in (index_page([page], __version__, SINGLE_FILE), single_file_page(vocab, [page], __version__)):
        assert "<script>window" not in other
        assert "<script>window.__pwned=1</script>" in parse(other).all_text()


def test_every_option_of_every_question_carries_its_feedback(
    rendered: dict[str, str], pages: dict[str, CasePage], base: RuleBase
) -> None:
    builtin = BuiltinEngine(base)
    for case_id, text in rendered.items():
        data = data_of(parse(text))["cases"][0]
        key = pages[case_id].key
        assert key_from_json(data["model"]) == key
        assert key == build_key(
            base, builtin, next(c for c in [load_case(cases_dir() / f"{case_id}.yaml", base.vocabulary)])
        )
        for q in key.questions:
            words = data["words"]["questions"][q.qid]
            assert len(words["hints"]) == 4 and all(words["hints"]) and words["why"] and words["how"]
            assert words["recap"][0] == "What the rules now conclude:"
            for o in q.options:
                assert words["needs"][o.option], (q.qid, o.option)
                assert words["explain"][o.option], (q.qid, o.option)
                assert o.option in words["leaf"] and o.option in words["because"]
                model = next(m for m in data["model"]["questions"] if m["id"] == q.qid)
                entry = next(m for m in model["options"] if m["id"] == o.option)
                assert entry["verdict"] in ("expected", "accepted", "not_expected")
                if o.verdict == "not_expected":
                    assert o.gaps or o.because or o.kind == "unsupported"
                    assert all(g.rule in "\n".join(words["explain"][o.option]) for g in o.gaps)
                else:
                    assert words["because"][o.option] or q.author_reason or o.verdict == "accepted"
            for a in q.accepted:
                assert a in words["also"]


def test_before_its_answer_an_option_is_said_to_need_not_to_hold(rendered: dict[str, str]) -> None:
    for text in rendered.values():
        data = data_of(parse(text))["cases"][0]
        for words in data["words"]["questions"].values():
            for lines in words["needs"].values():
                joined = "\n".join(lines)
                assert " IS " not in joined and ", but " not in joined and "not suggested" not in joined


def _leaks(lines: list[str], hidden: set[tuple[str, str]], vocab: Vocabulary) -> list[str]:
    """Lines that state a hidden conclusion (``Key: ... value ...``, or a value listed in the differential)."""
    found = []
    in_differential = False
    for line in lines:
        text = line.strip()
        if text.endswith(":") and not text.startswith("-"):
            in_differential = text == "Still in the differential:"
        for key, value in hidden:
            label = vocab.label(key, value)
            if text.startswith(f"{vocab.label(key)}:") and label in text.split(":", 1)[1]:
                found.append(line)
            if key == "differential" and in_differential and text == label:
                found.append(line)
    return found


def test_no_conclusion_is_shown_before_its_question(rendered: dict[str, str], vocab: Vocabulary) -> None:
    for text in rendered.values():
        data = data_of(parse(text))["cases"][0]
        questions = data["model"]["questions"]
        for n, q in enumerate(questions):
            later = {(str(m["key"]), v) for m in questions[n + 1 :] if m["kind"] == "conclusion" for v in m["expected"]}
            words = data["words"]["questions"][q["id"]]
            assert _leaks(words["recap"], later, vocab) == [], q["id"]
            assert _leaks(words["how"], later, vocab) == [], q["id"]
            before = {(str(m["key"]), v) for m in questions[n:] if m["kind"] == "conclusion" for v in m["expected"]}
            assert _leaks(words["why"] + words["hints"], before, vocab) == [], q["id"]
        # the markup itself holds no recap: conclusions only come with answers
        assert "What the rules now conclude" not in parse(text).all_text()


def test_the_stamp_is_the_gradebooks(tmp_path: Path, base: RuleBase, vocab: Vocabulary) -> None:
    from imt_tutor.grading import stamp

    engine = BuiltinEngine(base)
    source = cases_dir() / "lung-no-mass-on-imaging.yaml"
    case = load_case(source, vocab)
    rules = [(p.name, p.read_bytes()) for p in sorted(rules_dir().glob("*.yaml"))]
    expected = stamp(rules, source.read_bytes(), __version__, engine_label("builtin"))
    assert page_stamp(rules_dir(), case, engine) == expected
    text = case_page(vocab, case_page_for(base, engine, case, expected))
    page = parse(text)
    assert {"name": "imt-tutor-stamp", "content": expected} in page.attrs_of("meta")
    assert data_of(page)["cases"][0]["stamp"] == expected
    assert f"Page stamp {expected}" in page.all_text()
    # another case file, another stamp; another engine, another stamp
    copy = tmp_path / source.name
    copy.write_text(source.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert page_stamp(rules_dir(), load_case(copy, vocab), engine) != expected
    assert stamp(rules, source.read_bytes(), __version__, "durable_rules 2.0.28") != expected


def test_index_and_single_file(vocab: Vocabulary, pages: dict[str, CasePage]) -> None:
    listed = list(pages.values())
    index = parse(index_page(listed, __version__, SINGLE_FILE))
    hrefs = [a["href"] for a in index.attrs_of("a")]
    assert hrefs[1:] == [f"{p.key.case_id}.html" for p in listed] + [SINGLE_FILE]
    assert not index.scripts
    text = single_file_page(vocab, listed, __version__)
    one = parse(text)
    assert [c["case"] for c in data_of(one)["cases"]] == [p.key.case_id for p in listed]
    assert len([a for a in one.attrs_of("article")]) == len(listed)
    assert [a["href"] for a in one.attrs_of("a") if a.get("data-open")] == [f"#case={p.key.case_id}" for p in listed]


def test_the_script_and_the_style_are_package_data() -> None:
    from importlib import resources

    folder = resources.files("imt_tutor.render").joinpath("assets")
    script = folder.joinpath("page.js").read_text(encoding="utf-8")
    style = folder.joinpath("page.css").read_text(encoding="utf-8")
    assert "</" not in script and "</style" not in style
    assert "window.imtTutor" in script and "textContent" in script
    assert "innerHTML" not in script and "eval(" not in script and "insertAdjacentHTML" not in script
    for feature in ("prefers-color-scheme: dark", "prefers-reduced-motion", "@media print", "max-width"):
        assert feature in style


# --------------------------------------------------------------------- colours


def _luminance(colour: str) -> float:
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


PAIRS = [
    ("fg", "bg"),
    ("fg", "panel"),
    ("muted", "bg"),
    ("muted", "panel"),
    ("accent", "bg"),
    ("accent", "panel"),
    ("accent-fg", "accent"),
    ("good", "bg"),
    ("good", "panel"),
    ("good", "good-bg"),
    ("fg", "good-bg"),
    ("bad", "bg"),
    ("bad", "panel"),
    ("fg", "bad-bg"),
    ("bad", "bad-bg"),
    ("warn-fg", "warn-bg"),
    ("fg", "warn-bg"),
]


def test_colours_meet_wcag_aa_in_light_and_dark() -> None:
    from importlib import resources

    style = resources.files("imt_tutor.render").joinpath("assets", "page.css").read_text(encoding="utf-8")
    light_block = style[style.index(":root {") : style.index("}", style.index(":root {"))]
    dark_at = style.index("@media (prefers-color-scheme: dark)")
    dark_block = style[dark_at : style.index("}", dark_at)]
    for block in (light_block, dark_block):
        palette = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6});", block))
        assert len(palette) == 14
        for fg, bg in PAIRS:
            assert _contrast(palette[fg], palette[bg]) >= 4.5, (fg, bg, palette[fg], palette[bg])
        # the focus ring and the borders are large marks: 3:1 (WCAG 1.4.11)
        assert _contrast(palette["focus"], palette["bg"]) >= 3
        assert _contrast(palette["border"], palette["bg"]) >= 3


# --------------------------------------------------------------------- the command


def test_export_html_writes_pages_and_an_index(invoke, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "site"
    result = invoke(
        [
            "--engine",
            "builtin",
            "export",
            "html",
            "lung-no-mass-on-imaging",
            "lung-cough-alk-positive",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html",
        "lung-cough-alk-positive.html",
        "lung-no-mass-on-imaging.html",
    ]
    assert DISCLAIMER in result.output and "for practice" in result.output
    page = parse((out / "lung-cough-alk-positive.html").read_text(encoding="utf-8"))
    assert data_of(page)["cases"][0]["engine"] == "builtin evaluator"
    # again, with --single-file and the rules folder named: the files are replaced, nothing is left behind
    result = invoke(
        [
            "export",
            "html",
            "lung-no-mass-on-imaging",
            "--out",
            str(out),
            "--single-file",
            "--rules-dir",
            str(rules_dir()),
        ]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        SINGLE_FILE,
        "index.html",
        "lung-cough-alk-positive.html",
        "lung-no-mass-on-imaging.html",
    ]
    assert SINGLE_FILE in (out / "index.html").read_text(encoding="utf-8")


def test_export_html_errors(invoke, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["export", "html", "lung-cough", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "unknown case 'lung-cough'" in result.output and "imt-tutor cases" in result.output
    assert not (tmp_path / "x").exists()
    result = invoke(["export", "html", "lung-cough-alk-positive"])
    assert result.exit_code == 2 and "--out" in result.output
    result = invoke(["export", "html", "--out", str(tmp_path / "y"), "--cases-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no case to export" in result.output


def test_export_help_lists_its_formats_without_loading_them(invoke) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["export", "--help"])
    assert result.exit_code == 0
    assert "html" in result.output and DISCLAIMER in " ".join(result.output.split())
    result = invoke(["export", "html", "--help"])
    assert result.exit_code == 0 and "--single-file" in result.output and "answer key" in result.output


def test_export_short_help_is_each_commands_own() -> None:
    import click

    from imt_tutor.cli.export import EXPORTERS

    for name, lazy in EXPORTERS.items():
        command = lazy.load()
        assert command.name == name
        for limit in (45, 94):
            assert click.Command(name, help=lazy.short_help).get_short_help_str(limit) == command.get_short_help_str(
                limit
            )
