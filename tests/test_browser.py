"""End to end, in headless Chromium: the pages of ``imt-tutor export html``
opened from ``file://``, answered by clicking, reloaded, downloaded from and
graded; and the page's scoring against Python's on generated picks.

One Chromium for the whole session (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium). Where either is missing these tests
are skipped, saying how to install them, unless ``IMT_TUTOR_BROWSER_TESTS``
is set (``.ci/run`` sets it): then a missing browser is a failure.
``IMT_TUTOR_SCREENSHOTS=docs`` writes the screenshots into ``docs/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from imt_tutor.cases import load_case
from imt_tutor.engines.builtin import BuiltinEngine
from imt_tutor.feedback import CaseKey, QuestionKey, grade, key_from_json
from imt_tutor.files import cases_dir
from imt_tutor.models import RuleBase, Vocabulary
from imt_tutor.render.text import short_feedback
from imt_tutor.runner import CaseRun

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = "IMT_TUTOR_BROWSER_TESTS"
INSTALL = "install it with 'apt-get install -y chromium chromium-driver' and \"pip install -e '.[test]'\""
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
)
CASE_IDS = sorted(p.stem for p in cases_dir().glob("*.yaml"))
PENALTIES = ("0.0", "0.05", "0.1", "0.25", "0.3333", "1.0")


# --------------------------------------------------------------------- the browser


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "Chromium is not installed"
    if not shutil.which("chromedriver"):
        return "chromedriver is not installed"
    return None


@dataclass
class Browser:
    driver: Any
    downloads: Path

    def open(self, path: Path, *, fresh: bool = False) -> None:
        """Open the page (unless it is open); ``fresh``: as if it was never opened before."""
        url = path.resolve().as_uri()
        if self.driver.current_url != url:
            self.driver.get(url)
        if fresh:
            self.driver.execute_script("window.localStorage.clear()")
            self.driver.refresh()

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def by_id(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def css(self, selector: str, within: Any = None) -> Any:
        from selenium.webdriver.common.by import By

        return (within or self.driver).find_element(By.CSS_SELECTOR, selector)

    def click(self, element: Any) -> None:
        self.js("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def errors(self) -> list[Any]:
        return [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def viewport(self, width: int, height: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

    def media(self, media: str = "", **features: str) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"media": media, "features": [{"name": k.replace("_", "-"), "value": v} for k, v in features.items()]},
        )


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    missing = _missing()
    if missing is not None:
        if os.environ.get(REQUIRED):
            pytest.fail(f"{missing}, and {REQUIRED} makes the browser tests mandatory here: {INSTALL}")
        pytest.skip(f"{missing}: {INSTALL}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    profile = tempfile.mkdtemp(prefix="imt-tutor-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1280,900")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or ""), options=options)
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        yield Browser(driver, downloads)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every bundled case exported as a student gets it: the command, the default engine, --single-file."""
    from click.testing import CliRunner

    from imt_tutor.cli import main

    out = tmp_path_factory.mktemp("site")
    result = CliRunner().invoke(main, ["export", "html", "--out", str(out), "--single-file"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def keys(site: Path) -> dict[str, CaseKey]:
    """The key each page carries (what the page scores against)."""
    found = {}
    for case_id in CASE_IDS:
        text = (site / f"{case_id}.html").read_text(encoding="utf-8")
        raw = re.search(r'<script type="application/json" id="imt-data">(.*?)</script>', text, re.S)
        assert raw is not None
        found[case_id] = key_from_json(json.loads(raw.group(1))["cases"][0]["model"])
    return found


def words_of(b: Browser, qid: str) -> dict[str, Any]:
    words: dict[str, Any] = b.js("return JSON.parse(document.getElementById('imt-data').textContent)")
    return dict(words["cases"][0]["words"]["questions"][qid])


# --------------------------------------------------------------------- walking a case


def picks_for(b: Browser, prefix: str, q: QuestionKey, picks: tuple[str, ...] | list[str]) -> None:
    """Choose ``picks`` by clicking, as a student does."""
    base = f"{prefix}-q{q.number}"
    if len(q.options) == 1:
        b.click(b.css(f"label[for='{base}-{'yes' if picks else 'no'}']"))
        return
    if not picks:
        b.click(b.css(f"label[for='{base}-none']"))
        return
    for pick in picks:
        b.click(b.css(f"label[for='{base}-o{q.option_ids.index(pick) + 1}']"))


def answer(b: Browser, key: CaseKey, q: QuestionKey, picks: tuple[str, ...] | list[str], prefix: str = "c0") -> Any:
    """Answer ``q`` on the page and go on (to the next stage, where it was the stage's last): its feedback."""
    node = b.by_id(f"{prefix}-q{q.number}")
    assert node.is_displayed(), q.qid
    picks_for(b, prefix, q, picks)
    b.click(b.css("button.check", node))
    feedback = b.by_id(f"{prefix}-q{q.number}-fb")
    assert feedback.is_displayed()
    last_of_stage = all(o.stage_index != q.stage_index or o.number <= q.number for o in key.questions)
    if last_of_stage and q.stage_index < len(key.stages) - 1:
        b.click(b.css(f"#{prefix}-s{q.stage_index} button.next-stage"))
    return feedback


def leaks(text: str, hidden: set[tuple[str, str]], vocab: Vocabulary) -> list[str]:
    """Lines of ``text`` that state a hidden conclusion ('Key: ... value', or a value left in the differential)."""
    found = []
    differential = False
    for line in (raw.strip() for raw in text.splitlines()):
        if line.endswith(":"):
            differential = line == "Still in the differential:"
        for key, value in hidden:
            label = vocab.label(key, value)
            if line.startswith(f"{vocab.label(key)}:") and label in line.split(":", 1)[1]:
                found.append(line)
            if key == "differential" and differential and line == label:
                found.append(line)
    return found


def wrong_picks(q: QuestionKey) -> list[str]:
    """A wrong answer: an option the rules argue against (with a gap, where one has), or 'no'."""
    if len(q.options) == 1:
        return []
    against = [o for o in q.options if o.verdict == "not_expected"]
    with_gaps = [o for o in against if o.gaps]
    chosen = (with_gaps or against)[:1]
    return [o.option for o in chosen] or ([] if q.expected else [q.options[0].option])


# --------------------------------------------------------------------- walks


ANSWER = """
const [base, picks, yesNo, next] = arguments;
const node = document.getElementById(base);
const shown = node.checkVisibility();
const before = document.body.innerText;
const click = (selector) => {
  const found = document.querySelector(selector);
  if (!found) throw new Error("nothing matches " + selector);
  found.click();
};
if (yesNo) click(`label[for='${base}-${picks.length ? "yes" : "no"}']`);
else if (!picks.length) click(`label[for='${base}-none']`);
else picks.forEach((n) => click(`label[for='${base}-o${n}']`));
node.querySelector("button.check").click();
const fb = document.getElementById(base + "-fb");
const result = {
  shown: shown,
  before: before,
  feedback: fb.innerText,
  focused: document.activeElement === fb,
  whyNot: [...fb.querySelectorAll("details.why-not")].map((d) => [
    d.querySelector("summary").textContent,
    d.querySelector(".lines").textContent,
  ]),
};
if (next) click(next);
return result;
"""


def answer_in_page(b: Browser, key: CaseKey, q: QuestionKey, picks: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """:func:`answer` in one round trip: the page's own click events, not WebDriver's."""
    last_of_stage = all(o.stage_index != q.stage_index or o.number <= q.number for o in key.questions)
    go_on = f"#c0-s{q.stage_index} button.next-stage" if last_of_stage and q.stage_index < len(key.stages) - 1 else None
    numbers = [q.option_ids.index(p) + 1 for p in picks]
    result: dict[str, Any] = b.js(ANSWER, f"c0-q{q.number}", numbers, len(q.options) == 1, go_on)
    return result


def hidden_before(key: CaseKey, q: QuestionKey) -> set[tuple[str, str]]:
    """What no page may show before ``q`` is answered: the values its and later conclusion questions expect."""
    return {(str(m.key), v) for m in key.questions[q.number - 1 :] if m.kind == "conclusion" for v in m.expected}


REAL_WALKS = ["lung-cough-alk-positive", "lung-no-mass-on-imaging", "abdomen-incidental-alk-positive-recurrence"]


@pytest.mark.parametrize("case_id", REAL_WALKS)
def test_clicking_through_with_the_key_scores_full_marks(
    browser: Browser, site: Path, keys: dict[str, CaseKey], case_id: str
) -> None:
    b = browser
    key = keys[case_id]
    b.open(site / f"{case_id}.html", fresh=True)
    assert b.errors() == []
    assert b.by_id("c0-s0").is_displayed() and not b.by_id("c0-s1").is_displayed()
    for q in key.questions:
        feedback = answer(b, key, q, q.expected)
        head = feedback.text.split("\n")[0]
        assert head.startswith("✔ Score: 1.00 / 1"), feedback.text
    worth = sum(q.weight for q in key.questions)  # each question's weight, default 1
    assert b.css("#c0-summary .total").text == f"Total: {worth}.00 / {worth}.00 (100.0%)"
    assert b.css("#c0-summary").is_displayed()
    assert b.errors() == []


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_the_key_scores_full_marks_and_nothing_shows_early(
    browser: Browser, site: Path, keys: dict[str, CaseKey], vocab: Vocabulary, case_id: str
) -> None:
    b = browser
    key = keys[case_id]
    b.open(site / f"{case_id}.html", fresh=True)
    for q in key.questions:
        got = answer_in_page(b, key, q, q.expected)
        assert got["shown"], q.qid
        assert leaks(got["before"], hidden_before(key, q), vocab) == [], q.qid
        assert got["feedback"].split("\n")[0].startswith("✔ Score: 1.00 / 1"), got["feedback"]
        assert got["focused"]
    n = len(key.questions)
    worth = sum(q.weight for q in key.questions)
    assert b.js("return window.imtTutor.total(0).text") == f"{worth}.00 / {worth}.00 (100.0%)"
    assert b.js("return window.imtTutor.review(0)") == []
    assert b.js("return document.querySelector('#c0 progress').value") == n
    assert b.errors() == []


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_wrong_answers_name_the_rule_and_the_summary_is_the_runners(
    browser: Browser, site: Path, keys: dict[str, CaseKey], base: RuleBase, vocab: Vocabulary, case_id: str
) -> None:
    b = browser
    key = keys[case_id]
    b.open(site / f"{case_id}.html", fresh=True)
    run = CaseRun(base, BuiltinEngine(base), load_case(cases_dir() / f"{case_id}.yaml", base.vocabulary))
    for q in key.questions:
        picks = wrong_picks(q)
        got = answer_in_page(b, key, q, picks)
        assert leaks(got["before"], hidden_before(key, q), vocab) == [], q.qid
        python = run.answer(q.qid, picks)
        title = got["feedback"].split("\n")[0]
        assert title.endswith(python.sections[0].title) and title.startswith("✘")
        folds = dict(got["whyNot"])
        for pick in picks:
            entry = q.option(pick)
            if entry.verdict == "not_expected":
                assert entry.gaps or entry.because or entry.kind == "unsupported"
                assert all(g.rule in folds[f"Why not: {entry.label}"] for g in entry.gaps), (q.qid, pick)
    assert b.js("return window.imtTutor.review(0)") == run.review_lines()
    assert b.js("return window.imtTutor.total(0).text") == run.case_score().text()
    assert (
        b.js("return document.querySelector('#c0-summary .total').textContent") == f"Total: {run.case_score().text()}"
    )
    links = b.js("return [...document.querySelectorAll('#c0-summary ul.review a')].map(a => a.hash)")
    assert links and all(re.fullmatch(r"#c0-q\d+-fb", h) for h in links)
    assert b.errors() == []


def test_help_on_the_page_is_the_runners_and_is_recorded(
    browser: Browser, site: Path, keys: dict[str, CaseKey], base: RuleBase
) -> None:
    b = browser
    case_id = "lung-cough-alk-positive"
    key = keys[case_id]
    b.open(site / f"{case_id}.html", fresh=True)
    run = CaseRun(base, BuiltinEngine(base), load_case(cases_dir() / f"{case_id}.yaml", base.vocabulary))
    q = key.questions[1]
    answer(b, key, key.questions[0], key.questions[0].expected)
    run.answer(key.questions[0].qid, key.questions[0].expected)
    node = b.by_id("c0-q2")
    words = words_of(b, q.qid)
    # why
    b.click(b.css("[data-tool='why']", node))
    assert b.by_id("c0-q2-why").text.split("\n") == [line.strip() for line in run.why(q.qid)]
    # why-not before answering: what the option needs
    need = b.driver.find_elements("css selector", "#c0-q2 details.need")[1]
    b.click(b.css("details.needs > summary", node))
    b.click(b.css("summary", need))
    lines = run.why_not_command(q.qid, q.options[1].option)
    assert (
        need.text.split("\n")[1:]
        == [line.strip() for line in lines]
        == [w.strip() for w in words["needs"][q.options[1].option]]
    )
    # three hints, tiered, then no more
    hint = b.css("[data-tool='hint']", node)
    for _ in range(3):
        b.click(hint)
        run.hint(q.qid)
    shown = [p.text for p in b.driver.find_elements("css selector", "#c0-q2-hints .hint")]
    assert shown == words["hints"][:3] and shown[0].startswith("Hint 1 of 3")
    assert not hint.is_enabled() and hint.text == "No more hints"
    assert b.js("return window.imtTutor.state(0).help")[q.qid] == {
        "hints": 3,
        "why": 1,
        "why_not": [q.options[1].option],
        "how": 0,
    }
    # the facts
    b.click(b.css("[data-tool='facts']", node))
    assert b.by_id("c0-q2-facts").text.split("\n") == [
        line[2:].replace("  (new)", " (new)") for line in run.fact_lines(q.stage_index)
    ]
    answer(b, key, q, q.expected[:1])
    run.answer(q.qid, q.expected[:1])
    # after the answer: how (the whole chain), and why-not says whether it holds
    fb = b.by_id("c0-q2-fb")
    b.click(b.css("details.how > summary", fb))
    assert b.css("details.how", fb).text.split("\n")[1:] == [line.strip() for line in run.how(q.qid)]
    b.click(b.css("details.all-options > summary", fb))
    everything = b.css("details.all-options", fb).text
    other = CaseRun(base, BuiltinEngine(base), run.case)  # asked of another run, so not recorded in this one
    other.answer(key.questions[0].qid, key.questions[0].expected)
    other.answer(q.qid, q.expected[:1])
    for option in q.option_ids:  # what 'why-not N' says after the answer
        for line in other.why_not_command(q.qid, option):
            assert line.strip() in everything
    for q2 in key.questions[2:]:
        answer(b, key, q2, q2.expected)
        run.answer(q2.qid, q2.expected)
    assert b.js("return window.imtTutor.review(0)") == run.review_lines()
    assert any(line.startswith("Help used: 3 hints;") for line in run.review_lines())
    file = json.loads(b.js("return window.imtTutor.answersFile(0)"))
    assert file["hints"] == {q.qid: 3}


def test_the_keyboard_alone_answers_a_question(browser: Browser, site: Path, keys: dict[str, CaseKey]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    b = browser
    key = keys["lung-cough-alk-positive"]
    b.open(site / "lung-cough-alk-positive.html", fresh=True)
    q = key.questions[0]
    target = f"c0-q1-o{q.option_ids.index(q.expected[0]) + 1}"
    keys_ = ActionChains(b.driver)

    def tab_to(element_id: str | None, css: str | None = None) -> None:
        for _ in range(60):
            keys_.send_keys(Keys.TAB).perform()
            if element_id and b.js("return document.activeElement.id") == element_id:
                return
            if css and b.js("return document.activeElement.matches(arguments[0])", css):
                return
        raise AssertionError(f"the keyboard never reaches {element_id or css}")

    tab_to(target)
    keys_.send_keys(Keys.SPACE).perform()
    assert b.by_id(target).is_selected()
    tab_to(None, "#c0-q1 button.check")
    keys_.send_keys(Keys.ENTER).perform()
    assert b.js("return document.activeElement.id") == "c0-q1-fb"
    assert "Score: 1.00 / 1" in b.by_id("c0-q1-fb").text
    # the working diagnosis is a radio group: arrow keys move the choice
    for q2 in key.questions[1:3]:
        answer(b, key, q2, q2.expected)
    wd = key.questions[3]
    assert wd.key == "working_diagnosis"
    tab_to("c0-q4-o1")
    keys_.send_keys(Keys.ARROW_DOWN).perform()
    assert b.by_id("c0-q4-o2").is_selected() and not b.by_id("c0-q4-o1").is_selected()


def test_progress_survives_a_reload_and_start_over_clears_it(
    browser: Browser, site: Path, keys: dict[str, CaseKey]
) -> None:
    b = browser
    key = keys["lung-cough-alk-positive"]
    b.open(site / "lung-cough-alk-positive.html", fresh=True)
    wrong = wrong_picks(key.questions[2])
    answer(b, key, key.questions[0], key.questions[0].expected)
    answer(b, key, key.questions[1], key.questions[1].expected)
    answer(b, key, key.questions[2], wrong)
    b.click(b.css("#c0-q4 [data-tool='hint']"))
    before = b.by_id("c0-q3-fb").text
    progress = b.css("#c0 .progress-text").text
    b.driver.refresh()
    assert b.by_id("c0-q3-fb").text == before
    assert b.css("#c0 .progress-text").text == progress
    assert b.by_id("c0-s1").is_displayed() and b.by_id("c0-q4").is_displayed()
    assert b.by_id(f"c0-q3-o{key.questions[2].option_ids.index(wrong[0]) + 1}").is_selected()
    assert not b.by_id("c0-q3-o1").is_enabled()
    assert not b.by_id("c0-q5").is_displayed()
    assert b.css("#c0-q4-hints .hint").text.startswith("Hint 1")
    state = b.js("return window.imtTutor.state(0)")
    assert sorted(state["answers"]) == sorted(q.qid for q in key.questions[:3])
    # start over: asked first, then everything is gone
    b.click(b.css("#c0 button.restart"))
    b.click(b.css("#c0 .restart-no"))
    assert b.js("return Object.keys(window.imtTutor.state(0).answers).length") == 3
    b.click(b.css("#c0 button.restart"))
    b.click(b.css("#c0 .restart-yes"))
    assert b.js("return Object.keys(window.imtTutor.state(0).answers).length") == 0
    assert b.by_id("c0-q1").is_displayed() and not b.by_id("c0-q2").is_displayed()
    assert not b.by_id("c0-s1").is_displayed()
    assert b.by_id("c0-q1-fb").text == "" and b.by_id("c0-q1-o1").is_enabled()
    b.driver.refresh()
    assert b.by_id("c0-q1").is_displayed() and not b.by_id("c0-q2").is_displayed()
    assert b.js("return Object.keys(window.imtTutor.state(0).answers).length") == 0


def _download(b: Browser, button: Any, name: str) -> dict[str, Any]:
    for old in b.downloads.iterdir():
        old.unlink()
    b.click(button)
    target = b.downloads / name
    for _ in range(100):
        if target.exists() and not list(b.downloads.glob("*.crdownload")):
            break
        time.sleep(0.05)
    data: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    return data


def _grade(tmp_path: Path, answers: Path, invoke: Callable[..., Any]) -> tuple[float, str]:
    """The points 'imt-tutor grade' gives the file, and the total 'run --answers --summary' prints."""
    from imt_tutor.cli import COMMANDS

    points = float("nan")
    if "grade" in COMMANDS:
        out = tmp_path / "grades.jsonl"
        result = invoke(["grade", str(answers), "--out", str(out)])
        assert result.exit_code == 0, result.output
        (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        points = float(row["points"])
    result = invoke(
        [
            "run",
            "lung-cough-alk-positive",
            "--answers",
            str(answers),
            "--summary",
            "--restart",
            "--transcript",
            str(tmp_path / "t.json"),
        ]
    )
    assert result.exit_code == 0, result.output
    (total,) = [line for line in result.output.splitlines() if line.startswith("Total: ")]
    return points, total


def test_the_downloaded_answers_grade_as_the_page_scored(
    browser: Browser, site: Path, keys: dict[str, CaseKey], tmp_path: Path, invoke: Callable[..., Any]
) -> None:
    b = browser
    key = keys["lung-cough-alk-positive"]
    b.open(site / "lung-cough-alk-positive.html", fresh=True)
    name = b.by_id("c0-student")
    name.clear()
    name.send_keys("Ada Student")
    given_picks: dict[str, list[str]] = {}
    for n, q in enumerate(key.questions):
        picks = list(q.expected) if n % 3 else wrong_picks(q)
        given_picks[q.qid] = picks
        answer(b, key, q, picks)
    total = b.css("#c0-summary .total").text
    data = _download(b, b.css("#c0-summary button.download-end"), "lung-cough-alk-positive-answers.json")
    assert list(data) == ["student", "case", "submitted_at", "answers"]
    assert data["student"] == "Ada Student" and data["case"] == "lung-cough-alk-positive"
    assert data["answers"] == given_picks
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", data["submitted_at"])
    saved = tmp_path / "ada.json"
    saved.write_text(json.dumps(data), encoding="utf-8")
    points, printed = _grade(tmp_path, saved, invoke)
    assert printed == total
    page_points = b.js("return window.imtTutor.total(0).points")
    assert points == pytest.approx(page_points, abs=1e-9) or points != points  # nan: no 'grade' command yet
    # the student's name is asked once: the next page knows it
    b.open(site / "lung-no-mass-on-imaging.html")
    assert b.by_id("c0-student").get_attribute("value") == "Ada Student"


def test_downloaded_hints_are_recorded_and_graded(
    browser: Browser, site: Path, keys: dict[str, CaseKey], tmp_path: Path, invoke: Callable[..., Any]
) -> None:
    b = browser
    key = keys["lung-cough-alk-positive"]
    b.open(site / "lung-cough-alk-positive.html", fresh=True)
    b.click(b.css("#c0-q1 [data-tool='hint']"))
    b.click(b.css("#c0-q1 [data-tool='hint']"))
    for q in key.questions:
        answer(b, key, q, q.expected)
    data = _download(b, b.css("#c0 .controls button.download"), "lung-cough-alk-positive-answers.json")
    assert data["hints"] == {key.questions[0].qid: 2}
    saved = tmp_path / "hints.json"
    saved.write_text(json.dumps(data), encoding="utf-8")
    from imt_tutor.answers import load_answers
    from imt_tutor.errors import DataError

    try:
        load_answers(saved)
    except DataError as error:
        if "unknown key 'hints'" in str(error):
            pytest.xfail("the answers files' reader does not know 'hints' yet (run --save-answers writes it too)")
        raise
    _, printed = _grade(tmp_path, saved, invoke)
    assert printed == b.css("#c0-summary .total").text


# --------------------------------------------------------------------- the two scorers


@pytest.mark.parametrize("case_id", CASE_IDS)
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a batch is large, and the message names the picks
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_the_page_scores_every_pick_as_python_does(
    browser: Browser, site: Path, keys: dict[str, CaseKey], vocab: Vocabulary, case_id: str, data: st.DataObject
) -> None:
    b = browser
    key = keys[case_id]
    b.open(site / f"{case_id}.html")
    items = []
    for q in key.questions:
        ids = st.sampled_from(list(q.option_ids))
        for _ in range(10):
            picks = data.draw(st.lists(ids, max_size=len(q.option_ids) + 1), label=q.qid)
            hints = data.draw(st.integers(0, 3))
            penalty = data.draw(st.sampled_from(PENALTIES))
            items.append((q, picks, hints, penalty))
    got = b.js("return window.imtTutor.batch(0, arguments[0])", [[q.qid, picks, h, p] for q, picks, h, p in items])
    for (q, picks, hints, penalty), page in zip(items, got, strict=True):
        graded = grade(q, picks, hints=hints, hint_penalty=float(penalty))
        score = graded.score
        said = (q.qid, picks, hints, penalty)
        assert page["score"]["points"] == score.points, said
        for field in ("hits", "wrong", "missed", "accepted", "partial"):
            assert tuple(page["score"][field]) == getattr(score, field), (field, said)
        assert [
            (d["kind"], d["option"], d["points"], d["rule"], d["expected_count"], d["gap"])
            for d in page["score"]["deductions"]
        ] == [(d.kind, d.option, d.points, d.rule, d.expected_count, d.gap) for d in score.deductions], said
        python = short_feedback(vocab, key, graded, width=10**6).sections[0]
        assert page["feedback"]["title"] == python.title, said
        assert page["feedback"]["lines"] == list(python.lines), said
        assert page["feedback"]["full"] == score.full, said


def test_the_page_totals_as_score_case_does(browser: Browser, site: Path) -> None:
    from imt_tutor.scoring import QuestionScore, score_case

    b = browser
    b.open(site / "lung-cough-alk-positive.html")
    for points in ([1.0, 0.5, 0.33], [0.99] * 7, [0.05, 0.15, 0.25], [0.0], [], [0.01] * 3 + [0.0] * 11):
        expected = score_case(QuestionScore(p, (), (), (), ()) for p in points)
        page = b.js("return window.imtTutor.scoreCase(arguments[0].map(p => ({points: p})))", points)
        assert page["text"] == expected.text()
        assert page["points"] == expected.points and page["percent"] == expected.percent


# --------------------------------------------------------------------- the page as a whole


def test_the_single_file_has_its_own_case_menu(browser: Browser, site: Path, keys: dict[str, CaseKey]) -> None:
    b = browser
    b.open(site / "all-cases.html", fresh=True)
    b.driver.get((site / "all-cases.html").resolve().as_uri())
    menu = b.css("nav.menu")
    links = menu.find_elements("css selector", "a[data-open]")
    assert [a.text for a in links] == [keys[c].title for c in CASE_IDS]
    assert not any(a.is_displayed() for a in b.driver.find_elements("css selector", "article.case"))
    index = CASE_IDS.index("lung-no-mass-on-imaging")
    b.click(links[index])
    article = b.by_id(f"c{index}")
    assert article.is_displayed() and not menu.is_displayed()
    assert keys["lung-no-mass-on-imaging"].title in b.driver.title
    key = keys["lung-no-mass-on-imaging"]
    for q in key.questions:
        answer(b, key, q, q.expected, prefix=f"c{index}")
    n = len(key.questions)
    assert b.css(f"#c{index}-summary .total").text == f"Total: {n}.00 / {n}.00 (100.0%)"
    b.click(b.css("a.to-menu"))
    assert menu.is_displayed() and not article.is_displayed()
    # the index page links every page
    b.driver.get((site / "index.html").resolve().as_uri())
    hrefs = [a.get_attribute("href") for a in b.driver.find_elements("css selector", "ul.case-list a")]
    assert [h.rsplit("/", 1)[1] for h in hrefs] == [f"{c}.html" for c in CASE_IDS]
    assert b.errors() == []


def test_an_authors_markup_stays_text_in_the_browser(
    browser: Browser, tmp_path: Path, base: RuleBase, vocab: Vocabulary
) -> None:
    from imt_tutor.cli.export_html import case_page_for, page_stamp
    from imt_tutor.files import rules_dir
    from imt_tutor.render.html import case_page

    text = (cases_dir() / "lung-cough-alk-positive.yaml").read_text(encoding="utf-8")
    hostile = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> & </script>'
    text = text.replace("several weeks, and now some chest pain as well.", f"several weeks. {hostile}")
    text = text.replace("title: A cough that would not settle", f"title: {json.dumps(hostile)}")
    path = tmp_path / "lung-cough-alk-positive.yaml"
    path.write_text(text, encoding="utf-8")
    case = load_case(path, vocab)
    engine = BuiltinEngine(base)
    page = tmp_path / "hostile.html"
    page.write_text(case_page(vocab, case_page_for(base, engine, case, page_stamp(rules_dir(), case, engine))))
    b = browser
    b.open(page, fresh=True)
    assert b.js("return window.__pwned === undefined")
    assert hostile in b.css("#c0-s0 .narrative").text
    assert b.css("#c0-h").text == f"Case: {hostile}"
    assert b.js("return document.querySelectorAll('img').length") == 0


def test_light_dark_reduced_motion_and_print(browser: Browser, site: Path, keys: dict[str, CaseKey]) -> None:
    b = browser
    key = keys["lung-cough-alk-positive"]
    b.open(site / "lung-cough-alk-positive.html", fresh=True)
    answer(b, key, key.questions[0], wrong_picks(key.questions[0]))

    def style(selector: str, prop: str) -> str:
        return str(b.js("return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]]", selector, prop))

    try:
        b.media(prefers_color_scheme="light")
        assert style("body", "backgroundColor") == "rgb(255, 255, 255)"
        b.media(prefers_color_scheme="dark")
        assert style("body", "backgroundColor") == "rgb(21, 23, 27)"
        assert style("body", "color") == "rgb(233, 234, 238)"
        b.media(prefers_reduced_motion="no-preference")
        assert style("#c0-q1-fb", "animationName") == "arrive"
        b.media(prefers_reduced_motion="reduce")
        assert style("#c0-q1-fb", "animationName") == "none"
        b.media("print")
        assert style("#c0-q2 .help", "display") == "none"
        assert style("#c0 .controls", "display") == "none"
        assert style("#c0-q1-fb", "display") != "none"
        # printing unfolds the feedback
        b.js("window.dispatchEvent(new Event('beforeprint'))")
        assert b.js("return [...document.querySelectorAll('#c0-q1-fb details')].every(d => d.open)")
        b.js("window.dispatchEvent(new Event('afterprint'))")
        assert b.js("return [...document.querySelectorAll('#c0-q1-fb details')].every(d => !d.open)")
    finally:
        b.media()


def test_screenshots_and_no_horizontal_scrolling_on_a_phone(
    browser: Browser, site: Path, keys: dict[str, CaseKey], tmp_path: Path
) -> None:
    b = browser
    key = keys["lung-cough-alk-positive"]
    folder = ROOT / "docs" if os.environ.get("IMT_TUTOR_SCREENSHOTS") == "docs" else tmp_path
    folder.mkdir(exist_ok=True)

    def no_sideways_scroll(where: str) -> None:
        wide = b.js("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1], (where, wide)

    try:
        for width, height in ((360, 800), (1280, 1450)):
            b.viewport(width, height)
            b.open(site / "lung-cough-alk-positive.html", fresh=True)
            no_sideways_scroll(f"{width}: start")
            q1, q2 = key.questions[:2]
            answer(b, key, q1, [*q1.expected, *wrong_picks(q1)])
            answer(b, key, q2, [*q2.expected[:1], *wrong_picks(q2)])
            for summary in b.driver.find_elements("css selector", "#c0-q2-fb details > summary")[:2]:
                b.click(summary)
            no_sideways_scroll(f"{width}: feedback unfolded")
            b.js("document.activeElement.blur()")
            if width < 600:  # a phone: the second question and its feedback
                b.js("document.getElementById('c0-q2').scrollIntoView({block: 'start'}); window.scrollBy(0, -8)")
            else:  # the top of the page, down to the first answer's feedback
                b.js("window.scrollTo(0, 0)")
            time.sleep(1)  # the feedback's highlight fades
            b.driver.save_screenshot(str(folder / f"browser-{width}.png"))
            for q in key.questions[2:]:
                answer(b, key, q, q.expected)
            b.js("document.querySelectorAll('details').forEach(d => d.open = true)")
            no_sideways_scroll(f"{width}: summary, everything unfolded")
    finally:
        b.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert (folder / "browser-360.png").stat().st_size > 10_000
