"""The item analysis as one self-contained HTML page: inline CSS, inline SVG
charts, no script, no external resource. Every piece of text goes through
:func:`html.escape` (the ``_e`` helper), attributes included."""

from __future__ import annotations

import html

from .. import DISCLAIMER
from ..grading import Analysis, CaseStats, QuestionStats, number_text
from .markdown import GAP_WORDS

__all__ = ["item_analysis_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; line-height: 1.4; }
.disclaimer { border: 2px solid #b00; background: #fee; padding: .6rem 1rem; font-weight: bold; }
table { border-collapse: collapse; margin: .8rem 0; }
th, td { border: 1px solid #bbb; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #eee; }
code { font-size: .95em; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { display: block; margin: .5rem 0; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _histogram(case: CaseStats) -> str:
    """Ten bars: how many students scored 0-10 %, ..., 90-100 % of the points."""
    width, height, pad = 420, 150, 24
    bar = (width - 2 * pad) / 10
    top = max(case.histogram) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" role="img" '
        f'aria-label="{_e(f"Score distribution of {case.case}")}">'
    ]
    for index, count in enumerate(case.histogram):
        h = (height - pad) * count / top
        x = pad + index * bar
        y = height - h
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" height="{h:.1f}" fill="#4a78b5">'
            f"<title>{_e(f'{index * 10}-{100 if index == 9 else (index + 1) * 10} %: {count}')}</title></rect>"
        )
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle">{count}</text>')
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height + 14}" font-size="10" text-anchor="middle">{index * 10}</text>'
        )
    parts.append(f'<text x="{width / 2:.0f}" y="{height + 28}" font-size="11" text-anchor="middle">% of points</text>')
    parts.append("</svg>")
    return "".join(parts)


def _difficulty_bars(case: CaseStats) -> str:
    """One horizontal bar per question: its difficulty (mean credit, 0 to 1)."""
    row, label, width = 18, 40, 300
    height = row * len(case.questions) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label + width + 50}" height="{height}" role="img" '
        f'aria-label="{_e(f"Difficulty of each question of {case.case}")}">'
    ]
    for index, q in enumerate(case.questions):
        y = 5 + index * row
        w = width * max(0.0, min(1.0, q.difficulty))
        parts.append(f'<text x="0" y="{y + 12}" font-size="11">Q{q.number}</text>')
        parts.append(
            f'<rect x="{label}" y="{y}" width="{w:.1f}" height="{row - 4}" fill="#6a9f58">'
            f"<title>{_e(f'{q.qid}: {q.difficulty:.2f}')}</title></rect>"
        )
        parts.append(f'<text x="{label + w + 4:.1f}" y="{y + 12}" font-size="11">{q.difficulty:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _question_rows(q: QuestionStats) -> str:
    wrong = "".join(
        f"<li>{_e(p.label)} ({p.count}): against it <code>{_e(p.rule or 'no rule')}</code>"
        f"{' - ' + _e(GAP_WORDS.get(p.kind, p.kind)) if p.kind else ''}</li>"
        for p in q.wrong
    )
    missed = "".join(
        f"<li>{_e(p.label)} ({p.count}): expected because of <code>{_e(p.rule or 'the author')}</code></li>"
        for p in q.missed
    )
    return (
        f"<tr><td class='num'>{q.number}</td><td><code>{_e(q.qid)}</code><br>{_e(q.prompt)}</td>"
        f"<td class='num'>{q.difficulty:.2f}</td><td class='num'>{_e(_num(q.item_total))}</td>"
        f"<td class='num'>{_e(_num(q.upper_lower))}</td><td class='num'>{q.answered} / {q.students}</td>"
        f"<td><ul>{wrong}</ul></td><td><ul>{missed}</ul></td></tr>"
    )


def _case(case: CaseStats, min_students: int) -> str:
    if case.alpha is None:
        why = "not enough students" if case.students < min_students else "no variance"
        alpha = f"{why} (needs at least {min_students} students and some spread)"
    else:
        alpha = f"{case.alpha:.2f}"
    enough = (
        ""
        if case.students >= min_students
        else f"<p>Discrimination: not enough students (fewer than {min_students}).</p>"
    )
    rows = "".join(_question_rows(q) for q in case.questions)
    return (
        f"<section><h2>{_e(case.title)} (<code>{_e(case.case)}</code>)</h2>"
        f"<ul><li>Students: {case.students}; points possible: {_e(number_text(case.max_points))}</li>"
        f"<li>Mean: {case.mean:.2f}; median: {case.median:.2f}</li>"
        f"<li>Cronbach's alpha: {_e(alpha)}</li><li>Stamp: <code>{_e(case.stamp)}</code></li></ul>"
        f"<h3>Score distribution</h3>{_histogram(case)}"
        f"<h3>Difficulty (mean credit) per question</h3>{_difficulty_bars(case)}{enough}"
        "<table><thead><tr><th>#</th><th>Question</th><th>Difficulty</th><th>Item-total r</th>"
        "<th>Upper-lower 27 %</th><th>Answered</th><th>Most common wrong picks</th><th>Most common misses</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def item_analysis_html(analysis: Analysis) -> str:
    """The item analysis (see :func:`imt_tutor.render.markdown.item_analysis_markdown`) as a page."""
    if analysis.contradicted:
        rows = "".join(
            f"<tr><td><code>{_e(r.rule)}</code></td><td>{_e(r.source)}</td><td class='num'>{r.count}</td>"
            f"<td>{_e('; '.join(f'{label} ({qid})' for qid, label in r.examples))}</td></tr>"
            for r in analysis.contradicted
        )
        contradicted = (
            "<table><thead><tr><th>Rule</th><th>Section</th><th>Wrong picks it rules out</th><th>For example</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    else:
        contradicted = "<p>No pick was ruled out by a finding of its case.</p>"
    cases = "".join(_case(c, analysis.min_students) for c in analysis.cases)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Item analysis - imt-tutor</title>"
        f"<style>{_STYLE}</style></head><body>"
        f'<p class="disclaimer">{_e(DISCLAIMER)}</p>'
        "<h1>Item analysis</h1>"
        f"<h2>The rules most often contradicted by students' picks</h2>{contradicted}"
        f"{cases}</body></html>\n"
    )
