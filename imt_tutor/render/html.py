"""Cases in the browser: one self-contained HTML page per case (and an index,
and all cases in one file), rendered from the feedback model.

The page carries the case's key (:func:`imt_tutor.feedback.key_to_json`) and
the terminal's words, worked out in advance: everything a student can see on
the page is a string computed here or by the runner, and the page's script
(``assets/page.js``) only chooses which to show, and scores the picks with a
direct port of :func:`imt_tutor.scoring.score_question`. What depends on the
picks (the short feedback, the summary) is put together by the script from
pieces made here with :mod:`imt_tutor.render.text`'s own helpers; the browser
tests check that the result equals :func:`imt_tutor.render.text.short_feedback`
and :meth:`imt_tutor.runner.CaseRun.review_lines` word for word.

Every string is escaped: the markup is built with :func:`el`, which escapes
text and attribute values with :func:`html.escape`, and the data the script
reads is JSON inside ``<script type="application/json">`` with ``<``, ``>``,
``&`` and U+2028/U+2029 written as ``\\u`` escapes (:func:`script_json`). The
page's Content-Security-Policy allows only its own inline style and script
(by hash): no external resource can load. No I/O here but reading the
package's own CSS and script (``importlib.resources``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .. import DISCLAIMER
from ..feedback import WORKING_DIAGNOSIS, CaseKey, OptionKey, QuestionKey, key_to_json
from ..models import Vocabulary
from .text import _because, _leaf_words, cite
from .words import pair_text

__all__ = [
    "CasePage",
    "Markup",
    "QuestionWords",
    "case_page",
    "el",
    "index_page",
    "page_words",
    "script_json",
    "single_file_page",
]

PAGE_FORMAT = "imt-tutor-page 1"
_NAME = re.compile(r"[a-z][a-z0-9-]*")
_VOID = frozenset({"meta", "input", "br", "link"})


# --------------------------------------------------------------------- escaping


class Markup(str):
    """Text that is already HTML (made by :func:`el`): never escaped again."""


def _children(children: Iterable[Any]) -> Iterable[str]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, Markup):
            yield child
        elif isinstance(child, str):
            yield html.escape(child, quote=False)
        elif isinstance(child, (int, float)):
            yield html.escape(str(child), quote=False)
        else:
            yield from _children(child)


def el(tag: str, attrs: Mapping[str, str | int | bool | None] | None = None, *children: Any) -> Markup:
    """``<tag attrs>children</tag>``: text children and every attribute value
    escaped (``True``: a bare attribute; ``None``/``False``: left out)."""
    if not _NAME.fullmatch(tag):
        raise ValueError(f"not a tag name: {tag!r}")
    parts = [f"<{tag}"]
    for name, value in (attrs or {}).items():
        if not _NAME.fullmatch(name):
            raise ValueError(f"not an attribute name: {name!r}")
        if value is None or value is False:
            continue
        if value is True:
            parts.append(f" {name}")
        else:
            parts.append(f' {name}="{html.escape(str(value), quote=True)}"')
    parts.append(">")
    if tag in _VOID:
        if children:
            raise ValueError(f"<{tag}> takes no children")
        return Markup("".join(parts))
    return Markup("".join(parts) + "".join(_children(children)) + f"</{tag}>")


def script_json(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``,
    ``>`` or ``&`` (so no ``</script>`` nor ``<!--``), and no U+2028/U+2029."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _paragraphs(text: str) -> list[str]:
    """A case's text as paragraphs (blank lines separate them; white space collapsed), as the terminal wraps it."""
    return [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]


# --------------------------------------------------------------------- assets


@cache
def _asset(name: str) -> str:
    text = resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")
    if "</" in text and name.endswith(".js"):
        raise ValueError(f"{name} must not contain '</' (it is inlined in a <script>)")
    if "</style" in text.lower():
        raise ValueError(f"{name} must not contain '</style'")
    return text


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _policy(style: str, script: str | None) -> str:
    """Only this page's own inline style and script run; nothing loads from anywhere."""
    scripts = _hash(script) if script is not None else "'none'"
    return (
        f"default-src 'none'; style-src {_hash(style)}; script-src {scripts}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


# --------------------------------------------------------------------- the words


@dataclass(frozen=True)
class QuestionWords:
    """What the runner says about one question, worked out in advance (by
    :mod:`imt_tutor.cli.export_html` from a :class:`~imt_tutor.runner.CaseRun`
    answered with the key, in order):

    * ``why``: what the question decides (``why``);
    * ``hints``: the three tiers, then what a fourth ``hint`` says;
    * ``needs``: before the answer, what each option needs (``why-not N``);
    * ``explain``: after the answer, each option's full explanation (``why-not N``);
    * ``how``: after the answer, the chains behind the expected and accepted
      options, with the conclusions of later questions masked (``how``);
    * ``recap``: what the rules conclude once this question is answered, no
      conclusion of a later question shown.
    """

    qid: str
    why: tuple[str, ...]
    hints: tuple[str, ...]
    needs: tuple[tuple[str, tuple[str, ...]], ...]
    explain: tuple[tuple[str, tuple[str, ...]], ...]
    how: tuple[str, ...]
    recap: tuple[str, ...]


@dataclass(frozen=True)
class CasePage:
    """Everything one case's page shows: the key, the runner's words, the stamp."""

    key: CaseKey
    words: tuple[QuestionWords, ...]
    stamp: str
    version: str
    engine: str

    def words_of(self, qid: str) -> QuestionWords:
        for entry in self.words:
            if entry.qid == qid:
                return entry
        raise KeyError(qid)


def single(question: QuestionKey) -> bool:
    """The working-diagnosis question takes one answer (as the runner asks it)."""
    return question.kind == "conclusion" and question.key == WORKING_DIAGNOSIS


def yes_no(question: QuestionKey) -> bool:
    """A question with one option is answered yes or no."""
    return len(question.options) == 1


def _review_tail(question: QuestionKey) -> str:
    """``, because ... Reread: SECTION`` of the runner's review line (as :meth:`CaseRun.review_lines` words it)."""
    firing = next(
        (f for e in question.expected for f in question.option(e).how if f.rule in question.option(e).because),
        None,
    )
    if firing is None:
        return ""
    return f", because {firing.explanation[0].lower()}{firing.explanation[1:]} Reread: {firing.source}"


def _right(option: OptionKey) -> list[str] | None:
    """``[cited section, sentence]`` of the rule that gives ``option``, as an all-right answer says it."""
    rule = option.because[0] if option.because else None
    firing = next((f for f in option.how if f.rule == rule), None)
    return None if firing is None else [f"[{firing.source}]", firing.explanation]


def _also(question: QuestionKey, option: str) -> str:
    """The sentence after an accepted pick in the short feedback (or nothing)."""
    entry = question.option(option)
    firing = next((f for f in entry.how if f.rule in entry.because), None)
    return f" {firing.explanation} {cite(firing.rule, firing.source, False)}" if firing is not None else ""


def page_words(vocab: Vocabulary, page: CasePage) -> dict[str, Any]:
    """The words of the page, as the script reads them (JSON-ready)."""
    questions: dict[str, Any] = {}
    for q in page.key.questions:
        words = page.words_of(q.qid)
        questions[q.qid] = {
            "single": single(q),
            "yes_no": yes_no(q),
            "why": list(words.why),
            "hints": list(words.hints),
            "needs": {o: list(lines) for o, lines in words.needs},
            "explain": {o: list(lines) for o, lines in words.explain},
            "how": list(words.how),
            "recap": list(words.recap),
            "because": {o.option: _because(o, False) for o in q.options},
            "right": {o.option: _right(o) for o in q.options},
            "leaf": {o.option: _leaf_words(vocab, o) for o in q.options},
            "also": {o: _also(q, o) for o in q.accepted},
            "review_tail": _review_tail(q),
        }
    return {"questions": questions}


def page_data(vocab: Vocabulary, page: CasePage) -> dict[str, Any]:
    """The JSON the script of a page reads for one case."""
    return {
        "format": PAGE_FORMAT,
        "case": page.key.case_id,
        "stamp": page.stamp,
        "version": page.version,
        "engine": page.engine,
        "hint_penalty": str(float(page.key.hint_penalty)),
        "model": key_to_json(page.key),
        "words": page_words(vocab, page),
    }


# --------------------------------------------------------------------- the markup


def _facts(vocab: Vocabulary, page: CasePage, index: int) -> Markup:
    stage = page.key.stages[index]
    new = set(stage.new)
    items = [
        el(
            "li",
            {"class": "fact-new" if key in new else None},
            pair_text(vocab, key, value),
            [" ", el("span", {"class": "new"}, "(new)")] if key in new else None,
        )
        for key, value in stage.facts.items
    ]
    return el("ul", {"class": "facts"}, items or [el("li", {}, "(nothing known yet)")])


def _question(page: CasePage, prefix: str, q: QuestionKey, total: int) -> Markup:
    qid = f"{prefix}-q{q.number}"
    if yes_no(q):
        kind, hint = "radio", "Answer yes or no."
        choices = [("yes", "Yes", q.options[0].option), ("no", "No", "")]
        inputs = [
            el(
                "li",
                {"class": "option"},
                el("input", {"type": "radio", "id": f"{qid}-{n}", "name": qid, "value": value, "data-choice": n}),
                el("label", {"for": f"{qid}-{n}"}, label),
            )
            for n, label, value in choices
        ]
        statement = el("p", {"class": "statement"}, f"“{q.options[0].label}”")
    else:
        kind = "radio" if single(q) else "checkbox"
        hint = "Pick one answer." if single(q) else "Pick all that apply, or “Nothing applies”."
        inputs = [
            el(
                "li",
                {"class": "option"},
                el("input", {"type": kind, "id": f"{qid}-o{n}", "name": qid, "value": o.option}),
                el("label", {"for": f"{qid}-o{n}"}, o.label),
            )
            for n, o in enumerate(q.options, 1)
        ]
        if kind == "checkbox":
            inputs.append(
                el(
                    "li",
                    {"class": "option nothing"},
                    el("input", {"type": "checkbox", "id": f"{qid}-none", "name": f"{qid}-none", "data-nothing": True}),
                    el("label", {"for": f"{qid}-none"}, "Nothing applies"),
                )
            )
        statement = None
    return el(
        "div",
        {"class": "question", "id": qid, "data-qid": q.qid, "data-kind": kind, "hidden": True},
        el(
            "form",
            {"class": "answer", "novalidate": True, "aria-labelledby": f"{qid}-h"},
            el(
                "h3",
                {"id": f"{qid}-h", "class": "qhead"},
                f"Question {q.number} of {total}" + (f", worth {q.weight} points" if q.weight != 1 else ""),
            ),
            el(
                "fieldset",
                {},
                el("legend", {}, q.prompt),
                statement,
                el("p", {"class": "how-to", "id": f"{qid}-howto"}, hint),
                el("ul", {"class": "options", "aria-describedby": f"{qid}-howto"}, inputs),
            ),
            el("p", {"class": "form-error", "id": f"{qid}-error", "role": "alert"}),
            el("div", {"class": "actions"}, el("button", {"type": "submit", "class": "check"}, "Check answer")),
        ),
        el(
            "div",
            {"class": "help", "role": "group", "aria-label": f"Help with question {q.number}"},
            el(
                "button",
                {"type": "button", "data-tool": "why", "aria-expanded": "false", "aria-controls": f"{qid}-why"},
                "Why this question?",
            ),
            el("button", {"type": "button", "data-tool": "hint", "aria-controls": f"{qid}-hints"}, "Hint"),
            el(
                "button",
                {"type": "button", "data-tool": "facts", "aria-expanded": "false", "aria-controls": f"{qid}-facts"},
                "Facts",
            ),
            el("details", {"class": "needs"}, el("summary", {}, "What does each option need?"), el("div", {})),
        ),
        el("div", {"class": "tool-out why-out lines", "id": f"{qid}-why", "hidden": True}),
        el("div", {"class": "tool-out facts-out", "id": f"{qid}-facts", "hidden": True}),
        el("div", {"class": "tool-out hints-out", "id": f"{qid}-hints", "aria-live": "polite"}),
        el(
            "section",
            {
                "class": "feedback",
                "id": f"{qid}-fb",
                "aria-live": "polite",
                "tabindex": "-1",
                "aria-label": f"Feedback on question {q.number}",
            },
        ),
    )


def _stage(vocab: Vocabulary, page: CasePage, prefix: str, index: int) -> Markup:
    key = page.key
    stage = key.stages[index]
    sid = f"{prefix}-s{index}"
    questions = [q for q in key.questions if q.stage_index == index]
    last = index == len(key.stages) - 1
    points = stage.teaching_points
    end = el(
        "div",
        {"class": "stage-end", "hidden": True},
        el("h3", {}, "Teaching points") if points else None,
        el("ul", {"class": "points"}, [el("li", {}, p) for p in points]) if points else None,
        None
        if last
        else el(
            "button",
            {"type": "button", "class": "next-stage primary"},
            f"Go on to stage {index + 2} of {len(key.stages)}",
        ),
    )
    return el(
        "section",
        {"class": "stage", "id": sid, "aria-labelledby": f"{sid}-h", "data-stage": index, "hidden": True},
        el("h2", {"id": f"{sid}-h", "tabindex": "-1"}, f"Stage {index + 1} of {len(key.stages)}: {stage.stage_id}"),
        el("div", {"class": "narrative"}, [el("p", {}, p) for p in _paragraphs(stage.narrative)]),
        el("h3", {"class": "facts-head"}, "Facts known so far"),
        _facts(vocab, page, index),
        [_question(page, prefix, q, len(key.questions)) for q in questions],
        end,
    )


def _article(vocab: Vocabulary, page: CasePage, index: int) -> Markup:
    key = page.key
    prefix = f"c{index}"
    count = f"{len(key.questions)} questions in {len(key.stages)} stages."
    return el(
        "article",
        {
            "class": "case",
            "id": prefix,
            "data-case": key.case_id,
            "data-index": index,
            "aria-labelledby": f"{prefix}-h",
        },
        el("h1", {"id": f"{prefix}-h", "tabindex": "-1"}, f"Case: {key.title}"),
        [el("p", {"class": "teaser"}, p) for p in _paragraphs(key.teaser or key.summary)],
        el("p", {"class": "meta"}, count, " A practice page: it scores your answers but keeps no record elsewhere."),
        el(
            "div",
            {"class": "controls", "role": "group", "aria-label": "Your answers"},
            el("label", {"for": f"{prefix}-student"}, "Your name or student ID (for the answers file)"),
            el("input", {"type": "text", "id": f"{prefix}-student", "class": "student", "autocomplete": "name"}),
            el(
                "div",
                {"class": "buttons"},
                el("button", {"type": "button", "class": "download"}, "Download my answers"),
                el("button", {"type": "button", "class": "restart"}, "Start over"),
            ),
            el(
                "div",
                {"class": "confirm", "hidden": True, "role": "group", "aria-label": "Start over?"},
                el("p", {}, "Start over? This erases your answers to this case on this computer."),
                el("button", {"type": "button", "class": "restart-yes"}, "Yes, start over"),
                " ",
                el("button", {"type": "button", "class": "restart-no"}, "Cancel"),
            ),
            el("p", {"class": "saved", "aria-live": "polite"}),
        ),
        el(
            "section",
            {"class": "status", "aria-label": "Your progress"},
            el("progress", {"max": len(key.questions), "value": 0, "aria-labelledby": f"{prefix}-progress"}),
            el("p", {"class": "progress-text", "id": f"{prefix}-progress"}, f"0 of {len(key.questions)} answered"),
        ),
        [_stage(vocab, page, prefix, i) for i in range(len(key.stages))],
        el(
            "section",
            {"class": "summary", "id": f"{prefix}-summary", "aria-labelledby": f"{prefix}-summary-h", "hidden": True},
            el("h2", {"id": f"{prefix}-summary-h", "tabindex": "-1"}, "Summary"),
            el("div", {"class": "summary-body"}),
        ),
        el(
            "p",
            {"class": "stamp"},
            f"Page stamp {page.stamp} · imt-tutor {page.version} · engine: {page.engine} · case {key.case_id}",
        ),
    )


def _document(
    title: str, description: str, body: Iterable[Any], data: Any | None, extra_meta: Mapping[str, str]
) -> str:
    style = _asset("page.css")
    script = _asset("page.js") if data is not None else None
    head = el(
        "head",
        {},
        el("meta", {"charset": "utf-8"}),
        el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        el("meta", {"http-equiv": "Content-Security-Policy", "content": _policy(style, script)}),
        el("meta", {"name": "description", "content": description}),
        el("meta", {"name": "color-scheme", "content": "light dark"}),
        el("meta", {"name": "referrer", "content": "no-referrer"}),
        [el("meta", {"name": name, "content": value}) for name, value in extra_meta.items()],
        el("title", {}, title),
        el("style", {}, Markup(style)),
    )
    parts: list[Any] = [
        el("a", {"class": "skip", "href": "#main"}, "Skip to the case"),
        el(
            "header",
            {"class": "site"},
            el("p", {"class": "disclaimer"}, el("strong", {}, DISCLAIMER)),
        ),
        el("main", {"id": "main", "tabindex": "-1"}, body),
        el(
            "footer",
            {"class": "site"},
            el("p", {}, DISCLAIMER),
            el(
                "p",
                {},
                "This page carries its own answer key: it is for practice. Graded work is handed in as an "
                "answers file and graded with imt-tutor grade.",
            ),
        ),
    ]
    if data is not None:
        parts.append(Markup(f'<script type="application/json" id="imt-data">{script_json(data)}</script>'))
        parts.append(Markup(f"<script>{script}</script>"))
    return "<!DOCTYPE html>\n" + el("html", {"lang": "en"}, head, el("body", {}, parts)) + "\n"


def _noscript() -> Markup:
    return el(
        "noscript",
        {},
        el("p", {"class": "noscript"}, "This case needs JavaScript to reveal its stages and check your answers."),
    )


def case_page(vocab: Vocabulary, page: CasePage) -> str:
    """One case's self-contained page."""
    key = page.key
    description = f"{DISCLAIMER} A fictional practice case: {key.teaser or key.title}"
    data = {"cases": [page_data(vocab, page)]}
    meta = {"generator": f"imt-tutor {page.version}", "imt-tutor-stamp": page.stamp, "imt-tutor-case": key.case_id}
    return _document(
        f"{key.title} · imt-tutor practice case · {DISCLAIMER}",
        description,
        [_noscript(), _article(vocab, page, 0)],
        data,
        meta,
    )


def single_file_page(vocab: Vocabulary, pages: Sequence[CasePage], version: str) -> str:
    """Every case in one page, with its own case menu (for an LMS that takes one file)."""
    menu = el(
        "nav",
        {"class": "menu", "aria-labelledby": "menu-h"},
        el("h1", {"id": "menu-h", "tabindex": "-1"}, "imt-tutor practice cases"),
        el("p", {}, "Fictional cases on inflammatory myofibroblastic tumours. Choose one:"),
        el(
            "ul",
            {"class": "case-list"},
            [
                el(
                    "li",
                    {},
                    el("a", {"href": f"#case={p.key.case_id}", "data-open": str(i)}, p.key.title),
                    el("span", {"class": "counts"}, f" ({len(p.key.stages)} stages, {len(p.key.questions)} questions)"),
                    el("br", {}),
                    el("span", {"class": "teaser"}, " ".join((p.key.teaser or p.key.summary).split())),
                )
                for i, p in enumerate(pages)
            ],
        ),
    )
    back = el("p", {"class": "back", "hidden": True}, el("a", {"href": "#", "class": "to-menu"}, "← All cases"))
    data = {"cases": [page_data(vocab, p) for p in pages]}
    return _document(
        f"imt-tutor practice cases · {DISCLAIMER}",
        f"{DISCLAIMER} {len(pages)} fictional practice cases.",
        [_noscript(), menu, back, [_article(vocab, p, i) for i, p in enumerate(pages)]],
        data,
        {"generator": f"imt-tutor {version}"},
    )


def index_page(pages: Sequence[CasePage], version: str, single_file: str | None = None) -> str:
    """The list of the exported cases, each linked to its page (no script)."""
    items = [
        el(
            "li",
            {},
            el("a", {"href": f"{p.key.case_id}.html"}, p.key.title),
            el("span", {"class": "counts"}, f" ({len(p.key.stages)} stages, {len(p.key.questions)} questions)"),
            el("br", {}),
            el("span", {"class": "teaser"}, " ".join((p.key.teaser or p.key.summary).split())),
        )
        for p in pages
    ]
    body = [
        el("h1", {}, "imt-tutor practice cases"),
        el(
            "p",
            {},
            "Fictional cases on inflammatory myofibroblastic tumours, to work through stage by stage. "
            "Each page works offline and keeps your progress on this computer.",
        ),
        el("ul", {"class": "case-list"}, items),
        el("p", {}, "All cases in one file: ", el("a", {"href": single_file}, single_file)) if single_file else None,
    ]
    return _document(
        f"imt-tutor practice cases · {DISCLAIMER}",
        f"{DISCLAIMER} {len(pages)} fictional practice cases.",
        body,
        None,
        {"generator": f"imt-tutor {version}"},
    )
