"""The eval report: one JSON document (the record `--compare` reads), and the terminal table
and markdown made from it, so every output says the same thing."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from reviewbot.cost import Price, usd
from reviewbot.evaluation.cases import Case
from reviewbot.evaluation.run import CaseRun, Outcome
from reviewbot.evaluation.score import UNRATED, Tally
from reviewbot.kinds import SEVERITIES
from reviewbot.model import Usage

FORMAT_VERSION = 1
METRICS = ("precision", "recall", "f1")
FAILED = ("failed", "error")


def build(
    outcome: Outcome,
    cases: Sequence[Case],
    settings: Mapping[str, Any],
    runs: int,
    prices: tuple[Price | None, Price | None] = (None, None),
) -> dict[str, Any]:
    """The report: overall figures pooled over every finished case run, per severity, per run
    (with the spread when `runs` > 1) and per case; `prices`: the reviewing model's and the
    judge's (US$, when the config's `prices` has them)."""
    pooled: dict[str, Tally] = {}
    usage, judge_usage = Usage(), Usage()
    for r in outcome.runs:
        for key, t in r.tallies.items():
            pooled[key] = pooled.get(key, Tally()) + t
        usage, judge_usage = usage + r.usage, judge_usage + r.judge_usage
    overall = pooled.get("all", Tally())
    per_run = []
    for n in range(1, runs + 1):
        these = [r for r in outcome.runs if r.run == n]
        if not these:
            continue
        t = sum((r.tallies["all"] for r in these), Tally())
        per_run.append(
            {
                "run": n,
                **t.figures(),
                "cases": len(these),
                "no_finding": sum(1 for r in these if not r.found),
                "seconds": round(sum(r.seconds for r in these), 2),
            }
        )
    golden_total = {c.id: len(c.golden) for c in cases}
    by_case: dict[str, list[CaseRun]] = {}
    for r in outcome.runs:
        by_case.setdefault(r.case_id, []).append(r)
    report: dict[str, Any] = {
        "reviewbot_eval": FORMAT_VERSION,
        "settings": dict(settings),
        **overall.figures(),
        "by_severity": {s: pooled[s].figures() for s in (*SEVERITIES, UNRATED) if s in pooled},
        "cases_total": len(cases),
        "runs_planned": runs,
        "case_runs_done": len(outcome.runs),
        "case_runs_planned": outcome.planned,
        "interrupted": outcome.interrupted,
        "findings_per_case": round(overall.findings / len(outcome.runs), 2)
        if outcome.runs
        else None,
        "no_finding": sorted({r.case_id for r in outcome.runs if not r.found}),
        "failed": sorted({r.case_id for r in outcome.runs if r.status in FAILED}),
        "tokens": _usage(usage),
        "judge_tokens": _usage(judge_usage),
        "money": _money(usage, judge_usage, prices),
        "seconds": round(outcome.seconds, 2),
        "runs": per_run,
        "cases": [
            {"id": c.id, "golden": golden_total[c.id], "runs": [_case_run(r) for r in rs]}
            for c in cases
            if (rs := by_case.get(c.id))
        ],
    }
    if len(per_run) > 1:
        report["spread"] = {m: _spread([p[m] for p in per_run]) for m in METRICS}
    return report


def _case_run(r: CaseRun) -> dict[str, Any]:
    t = r.tallies["all"]
    out: dict[str, Any] = {
        "run": r.run,
        "status": r.status,
        **{m: v for m, v in t.figures().items() if m in METRICS},
        "findings": t.findings,
        "matched": t.golden_matched,
        "seconds": round(r.seconds, 2),
        "tokens": r.usage.input_tokens + r.usage.output_tokens,
        "matches": [
            {
                "golden": j,
                "path": r.found[i].path,
                "line": r.found[i].line,
                "title": r.found[i].title,
            }
            for i, j in r.pairs
        ],
        "unmatched_findings": [
            {"path": f.path, "line": f.line, "severity": f.severity, "title": f.title}
            for i, f in enumerate(r.found)
            if i not in {p[0] for p in r.pairs}
        ],
    }
    if r.problems:
        out["problems"] = list(r.problems)
    if r.judge_problem:
        out["judge_problem"] = r.judge_problem
    return out


def _money(
    usage: Usage, judge_usage: Usage, prices: tuple[Price | None, Price | None]
) -> float | None:
    """What the run cost, when every model it asked has a price (None otherwise)."""
    price, judge = prices
    if price is None or (judge_usage.requests and judge is None):
        return None
    spent = price.of(usage) + (judge.of(judge_usage) if judge is not None else 0.0)
    return round(spent, 4)


def _usage(u: Usage) -> dict[str, int]:
    return {
        "input": u.input_tokens,
        "output": u.output_tokens,
        "cached": u.cached_tokens,
        "requests": u.requests,
    }


def _spread(values: Sequence[float | None]) -> dict[str, float | None]:
    xs = [v for v in values if v is not None]
    if not xs:
        return {"min": None, "max": None, "stdev": None}
    return {"min": min(xs), "max": max(xs), "stdev": round(statistics.pstdev(xs), 4)}


def _ratio(a: int, b: int) -> str:
    return f"{a}/{b}"


def num(v: object) -> str:
    """A figure for people: 3 decimals, "—" when undefined."""
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _matching(report: Mapping[str, Any]) -> str:
    s = report["settings"]
    how = f"judge {s['judge_model']}" if s.get("judge_model") else "position"
    return f"tolerance {s.get('tolerance')} lines, matched by {how}"


def table(report: Mapping[str, Any]) -> str:
    """The report for a terminal."""
    s = report["settings"]
    out = [
        f"reviewbot eval: {report['cases_total']} cases × {report['runs_planned']} run(s), "
        f"model {s.get('model')}, context {s.get('context')}, {_matching(report)}"
    ]
    if report["interrupted"]:
        out.append(
            f"INTERRUPTED: {report['case_runs_done']} of {report['case_runs_planned']} case runs "
            "done; the figures cover those only"
        )
    out += ["", f"{'':12}{'precision':>10}{'recall':>8}{'f1':>7}{'findings':>10}{'golden':>8}"]
    rows = [("overall", report), *report["by_severity"].items()]
    for name, f in rows:
        out.append(
            f"{name:12}{num(f['precision']):>10}{num(f['recall']):>8}{num(f['f1']):>7}"
            f"{_ratio(f['findings_matched'], f['findings']):>10}"
            f"{_ratio(f['golden_matched'], f['golden']):>8}"
        )
    out.append("(findings and golden: matched/total; precision by the finding's severity, recall")
    out.append(" by the golden one's)")
    if "spread" in report:
        out.append("")
        for m, sp in report["spread"].items():
            out.append(
                f"{m} over runs: min {num(sp['min'])}, max {num(sp['max'])}, "
                f"stdev {num(sp['stdev'])}"
            )
    out += ["", f"{'case':40}{'run':>4} {'status':9}{'findings':>9}{'matched':>9}{'seconds':>9}"]
    for c in report["cases"]:
        for r in c["runs"]:
            out.append(
                f"{c['id'][:40]:40}{r['run']:>4} {r['status']:9}{r['findings']:>9}"
                f"{r['matched']:>5}/{c['golden']:<3}{r['seconds']:>9.2f}"
            )
            out += [f"    problem: {p}" for p in r.get("problems", [])[:3]]
            if r.get("judge_problem"):
                out.append(f"    judge: {r['judge_problem']} (scored by position)")
    out.append("")
    out += _footer(report)
    return "\n".join(out) + "\n"


def _footer(report: Mapping[str, Any]) -> list[str]:
    t, j = report["tokens"], report["judge_tokens"]
    lines = [
        f"findings per case: {num(report['findings_per_case'])}; cases with no finding: "
        f"{len(report['no_finding'])}"
        + (f" ({', '.join(report['no_finding'][:10])})" if report["no_finding"] else ""),
        f"tokens: {t['input']:,} in ({t['cached']:,} cached), {t['output']:,} out, "
        f"{t['requests']} requests"
        + (f"; judge: {j['input']:,} in, {j['output']:,} out" if j["requests"] else ""),
        f"money: {usd(report['money'])}"
        if report.get("money") is not None
        else "money: not estimated (no price for the model under `prices`)",
        f"wall time: {report['seconds']:.1f} s",
    ]
    if report["failed"]:
        lines.append(
            f"not reviewed (counted as finding nothing): {', '.join(report['failed'][:10])}"
        )
    return lines


def markdown(report: Mapping[str, Any]) -> str:
    """The report as a markdown document (for a PR description or a wiki)."""
    s = report["settings"]
    out = [
        "# reviewbot eval",
        "",
        f"{report['cases_total']} cases × {report['runs_planned']} run(s); "
        f"model `{s.get('model')}`, context `{s.get('context')}`, {_matching(report)}.",
        "",
    ]
    if report["interrupted"]:
        out += [
            f"**Interrupted**: {report['case_runs_done']} of {report['case_runs_planned']} "
            "case runs done; the figures cover those only.",
            "",
        ]
    out += [
        "| | precision | recall | F1 | findings matched | golden matched |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in [("**overall**", report), *report["by_severity"].items()]:
        out.append(
            f"| {name} | {num(f['precision'])} | {num(f['recall'])} | {num(f['f1'])} "
            f"| {f['findings_matched']}/{f['findings']} | {f['golden_matched']}/{f['golden']} |"
        )
    if "spread" in report:
        out += ["", "| over runs | min | max | stdev |", "|---|---|---|---|"]
        for m, sp in report["spread"].items():
            out.append(f"| {m} | {num(sp['min'])} | {num(sp['max'])} | {num(sp['stdev'])} |")
    out += [
        "",
        "| case | run | status | findings | matched | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for c in report["cases"]:
        for r in c["runs"]:
            out.append(
                f"| `{c['id']}` | {r['run']} | {r['status']} | {r['findings']} "
                f"| {r['matched']}/{c['golden']} | {r['seconds']:.2f} |"
            )
    out += ["", *(f"- {line}" for line in _footer(report))]
    return "\n".join(out) + "\n"


def compare(a: Mapping[str, Any], b: Mapping[str, Any], names: tuple[str, str]) -> str:
    """Two reports side by side: settings that differ, figures, and per-case wins and losses
    (B against A: more golden findings matched wins; at equal matches, fewer unmatched
    findings wins)."""
    na, nb = names
    out = [f"A: {na}", f"B: {nb}", ""]
    sa, sb = a.get("settings", {}), b.get("settings", {})
    out.append(f"{'setting':22}{'A':>28}  {'B':>28}")
    for key in sorted(set(sa) | set(sb)):
        va, vb = sa.get(key), sb.get(key)
        mark = "  *" if va != vb else ""
        out.append(f"{key:22}{str(va)[-28:]:>28}  {str(vb)[-28:]:>28}{mark}")
    out += ["", f"{'':22}{'A':>10}{'B':>10}{'B − A':>10}"]
    for m in (*METRICS, "findings_per_case", "seconds"):
        va, vb = a.get(m), b.get(m)
        delta = (
            f"{vb - va:+.3f}"
            if isinstance(va, int | float) and isinstance(vb, int | float)
            else "—"
        )
        out.append(f"{m:22}{num(va):>10}{num(vb):>10}{delta:>10}")
    ta, tb = a.get("tokens", {}), b.get("tokens", {})
    out.append(
        f"{'tokens in/out':22}{ta.get('input', 0):>10,}{tb.get('input', 0):>10,}  "
        f"(out {ta.get('output', 0):,} → {tb.get('output', 0):,})"
    )
    ca, cb = _per_case(a), _per_case(b)
    wins, losses, ties = [], [], 0
    for cid in [c for c in ca if c in cb]:
        (ma, fa), (mb, fb) = ca[cid], cb[cid]
        if (mb, -fb) > (ma, -fa):
            wins.append(f"{cid}: matched {ma:g} → {mb:g}, unmatched findings {fa:g} → {fb:g}")
        elif (mb, -fb) < (ma, -fa):
            losses.append(f"{cid}: matched {ma:g} → {mb:g}, unmatched findings {fa:g} → {fb:g}")
        else:
            ties += 1
    out += ["", f"per case (B against A): {len(wins)} better, {len(losses)} worse, {ties} same"]
    out += [f"  better  {w}" for w in wins] + [f"  worse   {w}" for w in losses]
    only = sorted(set(ca) ^ set(cb))
    if only:
        out.append(f"in one report only (not compared): {', '.join(only)}")
    return "\n".join(out) + "\n"


def _per_case(report: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """Case id → (golden matched, unmatched findings), averaged over its runs."""
    out = {}
    for c in report.get("cases", []):
        rs = c.get("runs") or []
        if rs:
            matched = sum(r["matched"] for r in rs) / len(rs)
            extra = sum(r["findings"] - len(r["matches"]) for r in rs) / len(rs)
            out[c["id"]] = (matched, extra)
    return out
