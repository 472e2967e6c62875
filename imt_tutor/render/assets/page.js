/* imt-tutor: a fictional case in the browser. TEACHING AID ONLY - not a diagnostic tool.
 *
 * Everything this script shows was worked out by imt-tutor when the page was
 * exported (the data in #imt-data: the case's key and the terminal's words);
 * the script only chooses what to show, and scores the picks with a direct
 * port of imt_tutor/scoring.py (score_question, score_case) and
 * imt_tutor/feedback.py (grade). The short feedback and the summary are put
 * together as imt_tutor/render/text.py (short_feedback) and
 * imt_tutor/runner.py (review_lines) do; tests check both word for word.
 * Text is only ever inserted with textContent, never as markup.
 */
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("imt-data").textContent);
  var STUDENT_KEY = "imt-tutor:student";

  // ------------------------------------------------------------------ exact fractions

  function gcd(a, b) {
    a = Math.abs(a);
    b = Math.abs(b);
    while (b) {
      var t = a % b;
      a = b;
      b = t;
    }
    return a;
  }

  function F(n, d) {
    if (d === undefined) d = 1;
    if (d < 0) {
      n = -n;
      d = -d;
    }
    var g = gcd(n, d) || 1;
    return { n: n / g, d: d / g };
  }

  function add(a, b) { return F(a.n * b.d + b.n * a.d, a.d * b.d); }
  function sub(a, b) { return F(a.n * b.d - b.n * a.d, a.d * b.d); }
  function mul(a, b) { return F(a.n * b.n, a.d * b.d); }
  function div(a, b) { return F(a.n * b.d, a.d * b.n); }
  function cmp(a, b) { var x = a.n * b.d - b.n * a.d; return x < 0 ? -1 : x > 0 ? 1 : 0; }
  function isZero(a) { return a.n === 0; }

  /** A decimal as Python's str(float) writes it ("0.1", "1e-05", "2.5") -> an exact fraction. */
  function parseDecimal(text) {
    var m = /^(-?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(String(text).trim());
    if (!m) return F(0);
    var digits = (m[2] || "0") + (m[3] || "");
    var exp = (m[4] ? parseInt(m[4], 10) : 0) - (m[3] || "").length;
    var n = parseInt(digits, 10) * (m[1] ? -1 : 1);
    return exp >= 0 ? F(n * Math.pow(10, exp)) : F(n, Math.pow(10, -exp));
  }

  /** scoring._round: to 2 decimals, halves away from zero (ROUND_HALF_UP), as a float. */
  function round2(a) {
    var sign = a.n < 0 ? -1 : 1;
    var cents = Math.floor((200 * Math.abs(a.n) + a.d) / (2 * a.d));
    return (sign * cents) / 100;
  }

  // ------------------------------------------------------------------ scoring.py

  var WRONG_PENALTY = F(4, 5);
  var CONTRADICTED_WEIGHT = 2;
  var PARTIAL_CREDIT = F(1, 2);
  var ALMOST = 0.99;

  function unique(ids) {
    var seen = new Set();
    var out = [];
    for (var i = 0; i < ids.length; i++) {
      if (!seen.has(ids[i])) {
        seen.add(ids[i]);
        out.push(ids[i]);
      }
    }
    return out;
  }

  function deduction(kind, option, points, rule, expectedCount, gap) {
    return {
      kind: kind,
      option: option === undefined ? null : option,
      points: points,
      rule: rule === undefined ? null : rule,
      expected_count: expectedCount || 0,
      gap: gap === undefined ? null : gap,
    };
  }

  /** scoring.score_question, line by line. `opts`: accepted, partial, gaps (Map), rules (Map), hints, hintPenalty (text). */
  function scoreQuestion(picked, expected, options, opts) {
    opts = opts || {};
    var want = unique(expected);
    var allowed = unique(opts.accepted || []).filter(function (a) { return want.indexOf(a) < 0; });
    var halves = unique(opts.partial || []).filter(function (p) {
      return want.indexOf(p) < 0 && allowed.indexOf(p) < 0;
    });
    var every = unique(picked);
    var taken = every.filter(function (p) { return allowed.indexOf(p) >= 0; });
    var partialPicks = want.length ? every.filter(function (p) { return halves.indexOf(p) >= 0; }) : [];
    var picks = every.filter(function (p) { return allowed.indexOf(p) < 0 && partialPicks.indexOf(p) < 0; });
    var offered = unique([].concat(options, every, want));
    var kinds = opts.gaps || new Map();
    var why = opts.rules || new Map();
    var hits = picks.filter(function (p) { return want.indexOf(p) >= 0; });
    var wrong = picks.filter(function (p) { return want.indexOf(p) < 0; });
    var missed = want.filter(function (w) { return picks.indexOf(w) < 0; });
    function weight(option) { return kinds.get(option) === "contradicted" ? CONTRADICTED_WEIGHT : 1; }
    function rule(option) { return why.has(option) ? why.get(option) : null; }
    var totalWeight = 0;
    offered.forEach(function (o) {
      if (want.indexOf(o) < 0 && allowed.indexOf(o) < 0 && partialPicks.indexOf(o) < 0) totalWeight += weight(o);
    });
    var deductions = [];
    var credit;
    if (!wrong.length && !missed.length && !partialPicks.length) {
      credit = F(1);
    } else if (!picks.length && !partialPicks.length) {
      credit = F(0);
      deductions.push(deduction("nothing_picked", null, 1.0, null, want.length));
    } else {
      var share = want.length ? F(1, want.length) : F(0);
      var standIns = partialPicks.slice(0, missed.length);
      credit = want.length ? F(hits.length, want.length) : F(1);
      credit = add(credit, mul(mul(PARTIAL_CREDIT, share), F(standIns.length)));
      missed.forEach(function (m, index) {
        if (index < standIns.length) {
          deductions.push(deduction("less_specific", standIns[index], round2(mul(share, PARTIAL_CREDIT)), rule(m)));
        } else {
          deductions.push(deduction("missed", m, round2(share), rule(m)));
        }
      });
      partialPicks.slice(standIns.length).forEach(function (p) {
        deductions.push(deduction("less_specific", p, 0.0, rule(p)));
      });
      wrong.forEach(function (w) {
        var cost = div(mul(WRONG_PENALTY, F(weight(w))), F(Math.max(totalWeight, 1)));
        credit = sub(credit, cost);
        deductions.push(deduction("wrong", w, round2(cost), rule(w), 0, kinds.has(w) ? kinds.get(w) : null));
      });
    }
    if (cmp(credit, F(0)) < 0) credit = F(0);
    var hints = opts.hints || 0;
    var penaltyEach = parseDecimal(opts.hintPenalty || "0");
    if (hints && cmp(penaltyEach, F(0)) > 0) {
      var penalty = mul(penaltyEach, F(hints));
      if (cmp(penalty, credit) > 0) penalty = credit;
      if (!isZero(penalty)) {
        credit = sub(credit, penalty);
        deductions.push(deduction("hints", null, round2(penalty), null, hints));
      }
    }
    var points = round2(credit);
    if (deductions.length && points >= 1.0) points = ALMOST;
    return {
      points: points,
      hits: hits,
      wrong: wrong,
      missed: missed,
      deductions: deductions,
      accepted: taken,
      partial: partialPicks,
      answered: true,
    };
  }

  function scoreUnanswered(expected) {
    var want = unique(expected);
    return {
      points: 0.0, hits: [], wrong: [], missed: want, accepted: [], partial: [], answered: false,
      deductions: [deduction("unanswered", null, 1.0, null, want.length)],
    };
  }

  function isFull(score) {
    return score.answered && !score.wrong.length && !score.missed.length && !score.partial.length;
  }

  /** Python's round(x, 2) of a float: the exact value, correctly rounded, ties (only x = j/8, j odd) to even. */
  function pyRound2(x) {
    var eighths = x * 8;
    if (Number.isInteger(eighths) && Math.abs(eighths) % 2 === 1) {
      var low = Math.floor(x * 100);
      return (low % 2 === 0 ? low : low + 1) / 100;
    }
    return Number(x.toFixed(2));
  }

  function cents(points) { return Math.round(points * 100); }
  function fixed2(points) {
    var c = cents(points);
    var sign = c < 0 ? "-" : "";
    c = Math.abs(c);
    return sign + Math.floor(c / 100) + "." + String(c % 100).padStart(2, "0");
  }

  /** scoring.score_case: points (each times its whole-number weight, default 1), max_points, percent and
   *  CaseScore.text(). */
  function scoreCase(scores, weights) {
    var total = 0;
    var max = 0;
    scores.forEach(function (s, i) {
      var w = weights ? weights[i] : 1;
      total += cents(s.points) * w;
      max += w;
    });
    var tenths = max ? Math.floor((total * 10 * 2 + max) / (2 * max)) : 0;
    var percent = Math.floor(tenths / 10) + "." + (tenths % 10);
    return {
      points: total / 100,
      max_points: max,
      percent: tenths / 10,
      text: fixed2(total / 100) + " / " + fixed2(max) + " (" + percent + "%)",
    };
  }

  // ------------------------------------------------------------------ feedback.grade

  function optionIds(q) { return q.options.map(function (o) { return o.id; }); }

  function grade(q, picks, hints, hintPenalty) {
    if (picks === null) return { qid: q.id, picks: null, score: scoreUnanswered(q.expected), hints: hints || 0 };
    var chosen = unique(picks);
    var ids = optionIds(q);
    chosen.forEach(function (p) {
      if (ids.indexOf(p) < 0) throw new Error("not an option of " + q.id + ": " + JSON.stringify(p));
    });
    var rules = new Map();
    var gaps = new Map();
    var partial = [];
    q.options.forEach(function (entry) {
      if (entry.verdict === "expected" && entry.because.length) rules.set(entry.id, entry.because[0]);
      else if (entry.gaps.length) rules.set(entry.id, entry.gaps[0].rule);
      if (entry.kind !== null) gaps.set(entry.id, entry.kind);
      if (entry.kind === "less_specific") partial.push(entry.id);
    });
    var score = scoreQuestion(chosen, q.expected, ids, {
      accepted: q.accepted, partial: partial, gaps: gaps, rules: rules, hints: hints || 0, hintPenalty: hintPenalty,
    });
    return { qid: q.id, picks: chosen, score: score, hints: hints || 0 };
  }

  // ------------------------------------------------------------------ the terminal's words

  function collapse(text) { return text.split(/\s+/).filter(Boolean).join(" "); }

  function labelsOf(q) {
    var labels = new Map();
    q.options.forEach(function (o) { labels.set(o.id, o.label); });
    return labels;
  }

  /** render.text.short_feedback: the title and the lines (unwrapped). */
  function shortFeedback(caseData, q, graded) {
    var words = caseData.words.questions[q.id];
    var score = graded.score;
    var labels = labelsOf(q);
    function label(o) { return labels.get(o); }
    var amounts = new Map();
    score.deductions.forEach(function (d) { if (d.option !== null) amounts.set(d.option, d.points); });
    var none = score.deductions.some(function (d) { return d.kind === "nothing_picked" || d.kind === "unanswered"; });
    if (none && q.expected.length) {
      var share = pyRound2(1 / q.expected.length);
      q.expected.forEach(function (o) { amounts.set(o, share); });
    }
    function amount(o) { return fixed2(amounts.has(o) ? amounts.get(o) : 0); }
    var lines = [];
    if (graded.picks === null) {
      lines.push("Not answered (0 points).");
    } else if (!graded.picks.length && !q.expected.length) {
      var reason = q.nothing_reason || "no rule expects any of these options at this stage.";
      lines.push("Right: nothing applies here. " + reason);
    }
    if (isFull(score) && graded.picks !== null && q.expected.length && !score.accepted.length) {
      // all right: the one sentence of each rule behind the answer, each rule once, each section cited once
      var bySource = new Map();
      q.expected.forEach(function (option) {
        var piece = words.right[option];
        if (!piece) {
          if (!bySource.has("")) bySource.set("", []);
          bySource.get("").push(q.author_reason || "");
          return;
        }
        if (!bySource.has(piece[0])) bySource.set(piece[0], []);
        var sentences = bySource.get(piece[0]);
        if (sentences.indexOf(piece[1]) < 0) sentences.push(piece[1]);
      });
      var body = [];
      bySource.forEach(function (sentences, cited) {
        body.push(("- " + sentences.join(" ") + " " + cited).replace(/\s+$/, ""));
      });
      return {
        title: "Score: " + fixed2(score.points) + " / 1 - all right.",
        lines: body.map(collapse).filter(function (line) { return line.length; }),
        full: true,
      };
    }
    var groups = new Map();
    q.expected.forEach(function (option) {
      var sentence = words.because[option] || (q.author_reason || "");
      if (!groups.has(sentence)) groups.set(sentence, []);
      groups.get(sentence).push(option);
    });
    groups.forEach(function (options, sentence) {
      var hits = options.filter(function (o) { return score.hits.indexOf(o) >= 0; });
      var missed = options.filter(function (o) { return score.hits.indexOf(o) < 0; });
      var parts = [];
      if (hits.length) parts.push("Right: " + hits.map(label).join(", ") + ".");
      missed.forEach(function (o) {
        var standin = null;
        for (var i = 0; i < score.deductions.length; i++) {
          var d = score.deductions[i];
          if (d.kind === "less_specific" && d.option) {
            standin = d.option;
            break;
          }
        }
        if (standin !== null && q.key === "working_diagnosis") {
          parts.push(
            "Less specific: " + label(standin) + " is true, but less specific than " + label(o) +
              " (-" + amount(standin) + ")."
          );
        } else {
          parts.push("Missed: " + label(o) + " (-" + amount(o) + ").");
        }
      });
      lines.push(parts.concat([sentence]).join(" ").trim());
    });
    var wrongGroups = new Map();
    score.wrong.forEach(function (option) {
      var leaf = words.leaf[option];
      if (!wrongGroups.has(leaf)) wrongGroups.set(leaf, []);
      wrongGroups.get(leaf).push(option);
    });
    wrongGroups.forEach(function (options, leaf) {
      var costs = options.map(function (o) { return "-" + amount(o); });
      var same = costs.every(function (c) { return c === costs[0]; });
      var cost = costs.length > 1 && same ? costs[0] + " each" : costs.join(", ");
      lines.push("Not expected: " + options.map(label).join(", ") + " (" + cost + "): " + leaf + ".");
    });
    score.accepted.forEach(function (option) {
      lines.push("Also acceptable (no penalty): " + label(option) + "." + (words.also[option] || ""));
    });
    var used = score.deductions.filter(function (d) { return d.kind === "hints"; })[0];
    if (used) lines.push("Hints used: " + used.expected_count + " (-" + fixed2(used.points) + ").");
    return {
      title: "Score: " + fixed2(score.points) + " / 1",
      lines: lines.map(collapse).filter(function (line) { return line.length; }),
      full: isFull(score),
    };
  }

  function helpWords(h) {
    var words = [];
    if (h.hints) words.push(h.hints + " hint" + (h.hints > 1 ? "s" : ""));
    if (h.why) words.push("why");
    if (h.why_not.length) words.push("why-not " + h.why_not.join(" "));
    if (h.how) words.push("how");
    return words;
  }

  function helpAny(h) { return Boolean(h.hints || h.why || h.why_not.length || h.how); }

  // ------------------------------------------------------------------ one case: state

  function storageKey(caseData) { return "imt-tutor:" + caseData.case + ":" + caseData.stamp; }

  function freshState() { return { v: 1, answers: {}, help: {}, stage: 0 }; }

  function readStorage(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function writeStorage(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
      return true;
    } catch (e) {
      return false;
    }
  }

  function emptyHelp() { return { hints: 0, why: 0, why_not: [], how: 0 }; }

  /** A saved state, kept only where it fits this page's questions (else a fresh one). */
  function loadState(caseData) {
    var raw = readStorage(storageKey(caseData));
    if (!raw) return freshState();
    try {
      var saved = JSON.parse(raw);
      var state = freshState();
      var model = caseData.model;
      var order = model.questions;
      for (var i = 0; i < order.length; i++) {
        var q = order[i];
        var picks = saved.answers && saved.answers[q.id];
        if (!Array.isArray(picks)) break; // answers are kept in order only
        var ids = optionIds(q);
        if (!picks.every(function (p) { return ids.indexOf(p) >= 0; })) break;
        state.answers[q.id] = unique(picks);
      }
      order.forEach(function (q) {
        var h = saved.help && saved.help[q.id];
        if (h && typeof h === "object") {
          state.help[q.id] = {
            hints: Math.max(0, Math.min(3, h.hints | 0)),
            why: Math.max(0, h.why | 0),
            why_not: Array.isArray(h.why_not) ? h.why_not.filter(function (x) { return typeof x === "string"; }) : [],
            how: Math.max(0, h.how | 0),
          };
        }
      });
      var last = 0;
      order.forEach(function (q) { if (state.answers[q.id] !== undefined) last = Math.max(last, q.stage_index); });
      state.stage = Math.max(last, Math.min(model.stages.length - 1, Math.max(0, saved.stage | 0)));
      return state;
    } catch (e) {
      return freshState();
    }
  }

  // ------------------------------------------------------------------ DOM helpers

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /** Lines as the terminal prints them (indentation kept), wrapping at the page's width. */
  function linesBlock(lines, className) {
    var block = make("div", "lines" + (className ? " " + className : ""));
    lines.forEach(function (line) {
      var row = make("div", "line");
      var indent = line.length - line.replace(/^ +/, "").length;
      if (indent) row.className = "line i" + Math.min(6, Math.ceil(indent / 2));
      row.textContent = line.replace(/^ +/, "");
      block.appendChild(row);
    });
    return block;
  }

  function details(summary, content, className) {
    var node = make("details", className || "");
    node.appendChild(make("summary", "", summary));
    node.appendChild(content);
    return node;
  }

  function nowText() {
    return new Date().toISOString().replace(/\.\d+Z$/, "+00:00").replace(/Z$/, "+00:00");
  }

  // ------------------------------------------------------------------ one case: the view

  function CaseView(article, caseData) {
    this.article = article;
    this.data = caseData;
    this.model = caseData.model;
    this.words = caseData.words.questions;
    this.key = storageKey(caseData);
    this.state = loadState(caseData);
    this.built = {};
    this.bind();
    this.render(false);
  }

  CaseView.prototype.questions = function () { return this.model.questions; };

  CaseView.prototype.node = function (q) { return document.getElementById(this.article.id + "-q" + q.number); };

  CaseView.prototype.help = function (qid) {
    if (!this.state.help[qid]) this.state.help[qid] = emptyHelp();
    return this.state.help[qid];
  };

  CaseView.prototype.save = function () {
    var ok = writeStorage(this.key, JSON.stringify(this.state));
    var saved = this.article.querySelector(".saved");
    saved.textContent = ok ? "" : "Your browser does not let this page keep your progress; download your answers.";
  };

  CaseView.prototype.graded = function (q) {
    var picks = this.state.answers[q.id];
    if (picks === undefined) return null;
    var hints = this.state.help[q.id] ? this.state.help[q.id].hints : 0;
    var g = grade(q, picks, hints, this.data.hint_penalty);
    g.weight = q.weight || 1;
    return g;
  };

  CaseView.prototype.current = function () {
    var qs = this.questions();
    for (var i = 0; i < qs.length; i++) if (this.state.answers[qs[i].id] === undefined) return qs[i];
    return null;
  };

  CaseView.prototype.stageDone = function (index) {
    var self = this;
    return this.questions().every(function (q) {
      return q.stage_index !== index || self.state.answers[q.id] !== undefined;
    });
  };

  CaseView.prototype.finished = function () { return this.current() === null; };

  CaseView.prototype.bind = function () {
    var self = this;
    var student = this.article.querySelector("input.student");
    student.value = readStorage(STUDENT_KEY) || "";
    student.addEventListener("change", function () {
      writeStorage(STUDENT_KEY, student.value.trim());
      document.querySelectorAll("input.student").forEach(function (other) { other.value = student.value; });
    });
    this.article.querySelector("button.download").addEventListener("click", function () { self.download(); });
    var confirmBox = this.article.querySelector(".confirm");
    this.article.querySelector("button.restart").addEventListener("click", function () {
      confirmBox.hidden = false;
      confirmBox.querySelector(".restart-no").focus();
    });
    confirmBox.querySelector(".restart-no").addEventListener("click", function () {
      confirmBox.hidden = true;
      self.article.querySelector("button.restart").focus();
    });
    confirmBox.querySelector(".restart-yes").addEventListener("click", function () {
      confirmBox.hidden = true;
      self.restart();
    });
    this.article.querySelectorAll(".stage").forEach(function (section) {
      var index = Number(section.getAttribute("data-stage"));
      var next = section.querySelector("button.next-stage");
      if (next) {
        next.addEventListener("click", function () {
          self.state.stage = Math.max(self.state.stage, index + 1);
          self.save();
          self.render(false);
          var heading = document.getElementById(self.article.id + "-s" + (index + 1) + "-h");
          if (heading) heading.focus();
        });
      }
    });
    this.questions().forEach(function (q) { self.bindQuestion(q); });
  };

  CaseView.prototype.bindQuestion = function (q) {
    var self = this;
    var node = this.node(q);
    var words = this.words[q.id];
    var form = node.querySelector("form");
    var nothing = form.querySelector("input[data-nothing]");
    if (nothing) {
      form.addEventListener("change", function (event) {
        var target = event.target;
        if (target === nothing && nothing.checked) {
          form.querySelectorAll("input[name='" + node.id + "']").forEach(function (box) { box.checked = false; });
        } else if (target !== nothing && target.checked) {
          nothing.checked = false;
        }
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.check(q);
    });
    var whyButton = node.querySelector("[data-tool='why']");
    var whyOut = document.getElementById(node.id + "-why");
    whyOut.appendChild(linesBlock(words.why));
    whyButton.addEventListener("click", function () {
      var open = whyOut.hidden;
      whyOut.hidden = !open;
      whyButton.setAttribute("aria-expanded", String(open));
      if (open) {
        self.help(q.id).why += 1;
        self.save();
      }
    });
    var factsButton = node.querySelector("[data-tool='facts']");
    var factsOut = document.getElementById(node.id + "-facts");
    var stageFacts = document.getElementById(this.article.id + "-s" + q.stage_index).querySelector("ul.facts");
    factsOut.appendChild(stageFacts.cloneNode(true));
    factsButton.addEventListener("click", function () {
      var open = factsOut.hidden;
      factsOut.hidden = !open;
      factsButton.setAttribute("aria-expanded", String(open));
    });
    node.querySelector("[data-tool='hint']").addEventListener("click", function () {
      var h = self.help(q.id);
      if (h.hints >= 3) return;
      h.hints += 1;
      self.save();
      self.showHints(q);
      self.updateStatus();
    });
    var needs = node.querySelector("details.needs");
    var list = needs.querySelector("div");
    q.options.forEach(function (option) {
      var one = details(option.label, linesBlock(words.needs[option.id] || []), "need");
      one.addEventListener("toggle", function () {
        if (one.open && self.state.answers[q.id] === undefined) {
          self.help(q.id).why_not.push(option.id);
          self.save();
        }
      });
      list.appendChild(one);
    });
  };

  CaseView.prototype.showHints = function (q) {
    var node = this.node(q);
    var out = document.getElementById(node.id + "-hints");
    var used = this.state.help[q.id] ? this.state.help[q.id].hints : 0;
    var words = this.words[q.id];
    while (out.children.length > used) out.removeChild(out.lastChild);
    for (var i = out.children.length; i < used; i++) out.appendChild(make("p", "hint", words.hints[i]));
    var button = node.querySelector("[data-tool='hint']");
    var left = 3 - used;
    var cost = Number(this.data.hint_penalty) > 0 ? " (each costs " + fixed2(Number(this.data.hint_penalty)) + ")" : "";
    button.textContent = left > 0 ? (used ? "Another hint (" + left + " left)" : "Hint" + cost) : "No more hints";
    button.disabled = left <= 0;
    if (left <= 0 && words.hints[3]) button.title = words.hints[3];
  };

  CaseView.prototype.picksOf = function (q) {
    var node = this.node(q);
    var form = node.querySelector("form");
    var words = this.words[q.id];
    if (words.yes_no) {
      var choice = form.querySelector("input:checked");
      if (!choice) return { error: "Answer yes or no." };
      return { picks: choice.value ? [choice.value] : [] };
    }
    var picks = [];
    form.querySelectorAll("input[name='" + node.id + "']").forEach(function (box) {
      if (box.checked) picks.push(box.value);
    });
    var nothing = form.querySelector("input[data-nothing]");
    if (!picks.length && !(nothing && nothing.checked)) {
      return { error: words.single ? "Choose one answer." : "Choose at least one option, or “Nothing applies”." };
    }
    return { picks: picks };
  };

  CaseView.prototype.check = function (q) {
    if (this.state.answers[q.id] !== undefined || this.current() !== q) return;
    var got = this.picksOf(q);
    var error = document.getElementById(this.node(q).id + "-error");
    if (got.error) {
      error.textContent = got.error;
      return;
    }
    error.textContent = "";
    this.state.answers[q.id] = got.picks;
    this.help(q.id);
    this.save();
    this.render(true);
    var fb = document.getElementById(this.node(q).id + "-fb");
    fb.focus({ preventScroll: false });
  };

  CaseView.prototype.restart = function () {
    writeStorage(this.key, null);
    this.state = freshState();
    this.built = {};
    var self = this;
    this.questions().forEach(function (q) {
      var node = self.node(q);
      node.querySelectorAll("input").forEach(function (box) {
        box.checked = false;
        box.disabled = false;
      });
      document.getElementById(node.id + "-fb").textContent = "";
      document.getElementById(node.id + "-error").textContent = "";
      document.getElementById(node.id + "-why").hidden = true;
      document.getElementById(node.id + "-facts").hidden = true;
      node.querySelectorAll("details").forEach(function (d) { d.open = false; });
      node.querySelectorAll(".badge").forEach(function (badge) { badge.remove(); });
      node.classList.remove("answered");
    });
    this.render(false);
    document.getElementById(this.article.id + "-h").focus();
  };

  /** Each option of an answered question marked in words (never by colour alone). */
  CaseView.prototype.badges = function (q, graded) {
    var node = this.node(q);
    var score = graded.score;
    function mark(input, text, good) {
      if (!input) return;
      var label = node.querySelector("label[for='" + input.id + "']");
      label.appendChild(make("span", "badge " + (good ? "good" : "bad"), text));
    }
    if (this.words[q.id].yes_no) {
      var yes = graded.picks.length > 0;
      var ok = !score.missed.length && !score.wrong.length;
      mark(node.querySelector("input[data-choice='" + (yes ? "yes" : "no") + "']"), ok ? "✔ right" : "✘ not right", ok);
      return;
    }
    q.options.forEach(function (option, i) {
      var input = document.getElementById(node.id + "-o" + (i + 1));
      if (score.hits.indexOf(option.id) >= 0) mark(input, "✔ right", true);
      else if (score.wrong.indexOf(option.id) >= 0) mark(input, "✘ not expected", false);
      else if (score.accepted.indexOf(option.id) >= 0) mark(input, "✔ also acceptable", true);
      else if (score.partial.indexOf(option.id) >= 0) mark(input, "½ less specific", false);
      else if (score.missed.indexOf(option.id) >= 0) mark(input, "missed: expected", false);
      else if (q.accepted.indexOf(option.id) >= 0) mark(input, "also acceptable", true);
    });
    if (!graded.picks.length) {
      var right = !q.expected.length;
      mark(node.querySelector("input[data-nothing]"), right ? "✔ right" : "✘ not right", right);
    }
  };

  /** The feedback under an answered question (built once per answer). */
  CaseView.prototype.feedback = function (q, graded) {
    this.badges(q, graded);
    var words = this.words[q.id];
    var fb = document.getElementById(this.node(q).id + "-fb");
    fb.textContent = "";
    var said = shortFeedback(this.data, q, graded);
    var head = make("h4", "score " + (said.full ? "good" : "bad"));
    head.appendChild(make("span", "mark", said.full ? "✔ " : "✘ Not all right: "));
    head.appendChild(make("span", "points", said.title));
    fb.appendChild(head);
    var list = make("ul", "short");
    said.lines.forEach(function (line) { list.appendChild(make("li", "", line)); });
    fb.appendChild(list);
    var self = this;
    var how = details("How the rules get there (the whole chain)", linesBlock(words.how), "how");
    how.addEventListener("toggle", function () {
      if (how.open && !how.dataset.counted) {
        how.dataset.counted = "1";
        self.help(q.id).how += 1;
        self.save();
      }
    });
    fb.appendChild(how);
    var labels = labelsOf(q);
    graded.score.wrong.forEach(function (option) {
      fb.appendChild(details("Why not: " + labels.get(option), linesBlock(words.explain[option] || []), "why-not"));
    });
    var all = make("div", "every");
    q.options.forEach(function (option) {
      var item = make("div", "explained");
      item.appendChild(make("p", "option-name", option.label));
      item.appendChild(linesBlock(words.explain[option.id] || []));
      all.appendChild(item);
    });
    fb.appendChild(details("Every option explained", all, "all-options"));
    if (this.recapChanged(q)) fb.appendChild(linesBlock(words.recap, "recap"));
  };

  /** What the rules now conclude once ``q`` is answered: shown under the answer
   * when it differs from the recap after the question before (as the runner shows it only when it changed). */
  CaseView.prototype.recapChanged = function (q) {
    var qs = this.questions();
    var i = qs.indexOf(q);
    var now = JSON.stringify(this.words[q.id].recap);
    return this.words[q.id].recap.length > 0 && (i === 0 || JSON.stringify(this.words[qs[i - 1].id].recap) !== now);
  };

  CaseView.prototype.render = function (fromClick) {
    var self = this;
    var current = this.current();
    var reached = this.state.stage; // a stage is left only by its "go on" button
    var allDone = current === null;
    this.article.querySelectorAll(".stage").forEach(function (section) {
      var index = Number(section.getAttribute("data-stage"));
      section.hidden = index > reached;
      var end = section.querySelector(".stage-end");
      end.hidden = index > reached || !self.stageDone(index);
      var next = end.querySelector("button.next-stage");
      if (next) next.hidden = index < reached;
    });
    this.questions().forEach(function (q) {
      var node = self.node(q);
      var graded = self.graded(q);
      node.hidden = q.stage_index > reached || !(graded !== null || q === current);
      node.querySelectorAll("input").forEach(function (box) { box.disabled = graded !== null; });
      node.querySelector("button.check").hidden = graded !== null;
      node.querySelector(".help").hidden = graded !== null;
      node.classList.toggle("answered", graded !== null);
      self.showHints(q);
      if (graded === null) return;
      self.restorePicks(q, graded.picks);
      if (!self.built[q.id]) {
        self.feedback(q, graded);
        self.built[q.id] = true;
      }
    });
    this.updateStatus();
    var summary = document.getElementById(this.article.id + "-summary");
    summary.hidden = !allDone || reached < this.model.stages.length - 1;
    if (!summary.hidden) this.summary();
    if (fromClick && !summary.hidden) summary.querySelector("h2").focus();
  };

  CaseView.prototype.restorePicks = function (q, picks) {
    var node = this.node(q);
    var form = node.querySelector("form");
    if (this.words[q.id].yes_no) {
      form.querySelectorAll("input").forEach(function (box) { box.checked = (box.value !== "") === (picks.length > 0); });
      return;
    }
    form.querySelectorAll("input[name='" + node.id + "']").forEach(function (box) {
      box.checked = picks.indexOf(box.value) >= 0;
    });
    var nothing = form.querySelector("input[data-nothing]");
    if (nothing) nothing.checked = picks.length === 0;
  };

  CaseView.prototype.scores = function () {
    var self = this;
    return this.questions()
      .map(function (q) { return self.graded(q); })
      .filter(function (g) { return g !== null; });
  };

  CaseView.prototype.updateStatus = function () {
    var qs = this.questions();
    var graded = this.scores();
    var stage = this.state.stage;
    var total = scoreCase(graded.map(function (g) { return g.score; }), graded.map(function (g) { return g.weight; }));
    var progress = this.article.querySelector("progress");
    progress.value = graded.length;
    var text = "Stage " + (stage + 1) + " of " + this.model.stages.length + " · " + graded.length + " of " +
      qs.length + " answered · score " + fixed2(total.points) + " / " + fixed2(total.max_points);
    this.article.querySelector(".progress-text").textContent = text;
  };

  /** runner.CaseRun.review_lines, from this page's answers and help. */
  CaseView.prototype.reviewLines = function () {
    var self = this;
    var lines = [];
    var lost = [];
    this.questions().forEach(function (q) {
      var graded = self.graded(q);
      if (graded === null) return;
      if (isFull(graded.score) && !graded.score.deductions.length) return;
      var labels = labelsOf(q);
      var said = graded.picks.map(function (p) { return labels.get(p); }).join(", ") || "nothing";
      var wanted = q.expected.map(function (e) { return labels.get(e); }).join(", ") || "nothing";
      lines.push("- " + q.id + ": you said " + said + "; expected " + wanted + self.words[q.id].review_tail);
      if (lost.indexOf(q.stage_index) < 0) lost.push(q.stage_index);
    });
    var out = [];
    if (lines.length) out = out.concat(["What to review:"], lines);
    var points = [];
    lost.forEach(function (i) {
      var stage = self.model.stages[i];
      stage.teaching_points.forEach(function (p) { points.push("- (" + stage.id + ") " + p); });
    });
    if (points.length) out = out.concat(["Teaching points of the stages where you lost points:"], points);
    var used = this.questions()
      .map(function (q) { return [q.id, self.state.help[q.id]]; })
      .filter(function (pair) { return pair[1] && helpAny(pair[1]); });
    if (used.length) {
      var hints = 0;
      used.forEach(function (pair) { hints += pair[1].hints; });
      var asked = used
        .filter(function (pair) { return helpWords(pair[1]).length; })
        .map(function (pair) { return pair[0] + " (" + helpWords(pair[1]).join(", ") + ")"; })
        .join(", ");
      out.push("Help used: " + hints + " hint" + (hints !== 1 ? "s" : "") + "; " + asked + ".");
    }
    return out;
  };

  CaseView.prototype.summary = function () {
    var self = this;
    var body = document.getElementById(this.article.id + "-summary").querySelector(".summary-body");
    body.textContent = "";
    var graded = this.scores();
    var total = scoreCase(graded.map(function (g) { return g.score; }), graded.map(function (g) { return g.weight; }));
    body.appendChild(make("p", "total", "Total: " + total.text));
    var table = make("table", "scores");
    table.appendChild(make("caption", "", "Score per question"));
    var head = make("tr");
    ["Question", "Score", "Help used"].forEach(function (t) {
      var th = make("th", "", t);
      th.setAttribute("scope", "col");
      head.appendChild(th);
    });
    var thead = make("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var tbody = make("tbody");
    var byQid = {};
    this.questions().forEach(function (q) {
      var g = self.graded(q);
      byQid[q.id] = q;
      var row = make("tr", isFull(g.score) ? "good" : "bad");
      var cell = make("td");
      var link = make("a", "", q.number + ". " + q.id);
      link.href = "#" + self.node(q).id + "-fb";
      cell.appendChild(link);
      row.appendChild(cell);
      row.appendChild(make("td", "num", fixed2(g.score.points) + " / 1" + (isFull(g.score) ? "" : " ✘")));
      var h = self.state.help[q.id];
      row.appendChild(make("td", "", h && helpAny(h) ? helpWords(h).join(", ") : ""));
      tbody.appendChild(row);
    });
    table.appendChild(tbody);
    var wrap = make("div", "table-wrap");
    wrap.appendChild(table);
    body.appendChild(wrap);
    var review = this.reviewLines();
    var list = null;
    review.forEach(function (line) {
      if (!line.startsWith("- ")) {
        if (line.startsWith("Help used:")) {
          body.appendChild(make("p", "help-used", line));
          list = null;
          return;
        }
        body.appendChild(make("h3", "", line.replace(/:$/, "")));
        list = make("ul", "review");
        body.appendChild(list);
        return;
      }
      var text = line.slice(2);
      var li = make("li");
      var qid = text.split(":")[0];
      if (byQid[qid]) {
        var a = make("a", "", text);
        a.href = "#" + self.node(byQid[qid]).id + "-fb";
        li.appendChild(a);
      } else {
        li.textContent = text;
      }
      list.appendChild(li);
    });
    if (!review.length) body.appendChild(make("p", "good", "✔ Every answer was right, with no help: nothing to review."));
    var every = make("ul", "points");
    this.model.stages.forEach(function (stage) {
      stage.teaching_points.forEach(function (p) { every.appendChild(make("li", "", "(" + stage.id + ") " + p)); });
    });
    if (every.children.length) body.appendChild(details("All the teaching points of the case", every, "all-points"));
    var again = make("p", "after");
    var download = make("button", "download-end primary", "Download my answers");
    download.type = "button";
    download.addEventListener("click", function () { self.download(); });
    again.appendChild(download);
    again.appendChild(
      document.createTextNode(
        " Hand in graded work as this answers file; “Start over” (at the top) works the case again from the beginning."
      )
    );
    body.appendChild(again);
  };

  /** The answers file, exactly as `imt-tutor run --save-answers` writes one (JSON). */
  CaseView.prototype.answersFile = function () {
    var self = this;
    var student = (readStorage(STUDENT_KEY) || this.article.querySelector("input.student").value || "").trim();
    var answers = {};
    this.questions().forEach(function (q) {
      if (self.state.answers[q.id] !== undefined) answers[q.id] = self.state.answers[q.id].slice();
    });
    var doc = { student: student || "anonymous", case: this.data.case, submitted_at: nowText(), answers: answers };
    var hints = {};
    var any = false;
    this.questions().forEach(function (q) {
      var h = self.state.help[q.id];
      if (h && h.hints) {
        hints[q.id] = h.hints;
        any = true;
      }
    });
    if (any) doc.hints = hints;
    return JSON.stringify(doc, null, 2) + "\n";
  };

  CaseView.prototype.download = function () {
    var input = this.article.querySelector("input.student");
    if (input.value.trim()) writeStorage(STUDENT_KEY, input.value.trim());
    var text = this.answersFile();
    var blob = new Blob([text], { type: "application/json" });
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = this.data.case + "-answers.json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    var saved = this.article.querySelector(".saved");
    saved.textContent = "Saved as " + a.download + " (in your downloads folder).";
  };

  // ------------------------------------------------------------------ the page

  var views = [];
  var articles = document.querySelectorAll("article.case");
  DATA.cases.forEach(function (caseData, i) { views.push(new CaseView(articles[i], caseData)); });

  var menu = document.querySelector("nav.menu");
  var baseTitle = document.title;
  var back = document.querySelector("p.back");
  function route() {
    if (!menu) return;
    var match = /^#case=(.+)$/.exec(window.location.hash);
    var open = null;
    views.forEach(function (view) {
      var shown = match !== null && decodeURIComponent(match[1]) === view.data.case;
      view.article.hidden = !shown;
      if (shown) open = view;
    });
    menu.hidden = open !== null;
    back.hidden = open === null;
    document.title = (open ? open.model.title + " · " : "") + baseTitle;
  }
  if (menu) {
    window.addEventListener("hashchange", function () {
      route();
      var open = views.filter(function (v) { return !v.article.hidden; })[0];
      (open ? document.getElementById(open.article.id + "-h") : menu.querySelector("h1")).focus();
    });
    route();
  }

  // Printing: the feedback of every answer, unfolded.
  var unfolded = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll(".feedback details:not([open]), .summary details:not([open])").forEach(function (d) {
      d.open = true;
      unfolded.push(d);
    });
  });
  window.addEventListener("afterprint", function () {
    unfolded.forEach(function (d) { d.open = false; });
    unfolded = [];
  });

  function view(which) {
    if (typeof which === "number") return views[which];
    var found = views.filter(function (v) { return v.data.case === which; })[0];
    if (!found) throw new Error("no case " + JSON.stringify(which) + " on this page");
    return found;
  }

  function question(v, qid) {
    return v.model.questions.filter(function (q) { return q.id === qid; })[0];
  }

  /** For tests and the curious: the page's scoring and words, as data. */
  window.imtTutor = {
    scoreQuestion: scoreQuestion,
    scoreCase: scoreCase,
    grade: function (which, qid, picks, hints, hintPenalty) {
      var v = view(which);
      return grade(question(v, qid), picks, hints || 0, hintPenalty === undefined ? v.data.hint_penalty : hintPenalty);
    },
    score: function (which, qid, picks, hints, hintPenalty) {
      return this.grade(which, qid, picks, hints, hintPenalty).score;
    },
    feedback: function (which, qid, picks, hints, hintPenalty) {
      var v = view(which);
      var g = this.grade(which, qid, picks, hints, hintPenalty);
      return shortFeedback(v.data, question(v, qid), g);
    },
    batch: function (which, items) {
      var self = this;
      return items.map(function (item) {
        var g = self.grade(which, item[0], item[1], item[2], item[3]);
        var v = view(which);
        return { score: g.score, feedback: shortFeedback(v.data, question(v, item[0]), g) };
      });
    },
    review: function (which) { return view(which).reviewLines(); },
    total: function (which) {
      var graded = view(which).scores();
      return scoreCase(graded.map(function (g) { return g.score; }), graded.map(function (g) { return g.weight; }));
    },
    state: function (which) { return JSON.parse(JSON.stringify(view(which).state)); },
    answersFile: function (which) { return view(which).answersFile(); },
    cases: function () { return views.map(function (v) { return v.data.case; }); },
  };
})();
