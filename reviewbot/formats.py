"""Machine-readable output of `reviewbot review`: JSON, SARIF 2.1.0, reviewdog's rdjson and
`path:line:col: severity: title` text. Every format reads where each finding was placed, so
they all tell the same truth as the review."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from reviewbot import __version__, ledger
from reviewbot.anchor import Placed
from reviewbot.chunking import CHARS_PER_TOKEN
from reviewbot.diff import RIGHT, Skipped
from reviewbot.filters import content_decided
from reviewbot.findings import SEVERITIES
from reviewbot.kinds import Status
from reviewbot.markers import fingerprint
from reviewbot.redact import inert_line
from reviewbot.render import comment_body
from reviewbot.review import Prepared, ReviewResult

# Line breaks JSON leaves raw (it escapes only those below U+0020): escaped, every document
# line is JSON's own, so none can start with `::` (a workflow command to the Actions runner,
# which reads stdout line by line) or be split by a reader that splits on them.
_RAW_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def dumps(doc: object) -> str:
    """`doc` as indented JSON text, one JSON token per line (see `_RAW_BREAKS`)."""
    return json.dumps(doc, indent=2, ensure_ascii=False).translate(_RAW_BREAKS) + "\n"


def as_json(result: ReviewResult) -> str:
    """The `--format json` document of DESIGN.md section 3: each finding where it was placed,
    the model's own numbers under `model_*` keys when they differ."""
    findings = []
    for p in result.placed:
        f = p.finding
        item: dict[str, Any] = {
            "path": f.path,
            "line": p.line,
            "start_line": p.start_line,
            "side": p.side,
            "severity": f.severity,
            "title": f.title,
            "body": f.body,
            "code": f.code,
            "suggestion": f.suggestion,
            "anchored": p.inline,
            **ledger.finding_fields(result.checked, f),
        }
        if not p.inline:
            item["reason"] = p.reason
        for key, model_value in (("line", f.line), ("start_line", f.start_line), ("side", f.side)):
            if item[key] != model_value:
                item[f"model_{key}"] = model_value
        findings.append(item)
    findings += ledger.withheld_json(result.checked)  # not posted: `verified: false`, reason
    doc = {
        "status": result.status,
        "summary": result.summary,
        "findings": findings,
        "comments": [
            {
                "path": c.path,
                "line": c.line,
                "start_line": c.start_line,
                "side": c.side,
                "body": comment_body(c),
            }
            for c in result.comments
        ],
        "not_reviewed": [{"path": s.path, "reason": s.reason} for s in result.skipped],
        "file_summaries": [{"path": p, "summary": line} for p, line in result.file_summaries],
        "problems": list(result.problems),
        "usage": {
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "cached_tokens": result.usage.cached_tokens,
            "requests": result.usage.requests,
        },
        **ledger.json_fields(result),
    }
    return dumps(doc)


def sarif_region(p: Placed) -> tuple[int, int] | None:
    """New-file (start, end) lines for code scanning, which needs a start line on every result
    (sarif-sdk rule GH1003); None for a finding that has no place in the new files."""
    if not p.finding.path or not p.in_diff or p.line < 1:
        return None
    if p.side == RIGHT:
        start = p.start_line or p.line
        return min(start, p.line), max(start, p.line)
    if p.new_line is not None:  # a deleted line: where the deletion sits in the new file
        return p.new_line, p.new_line
    return None


_LEVEL = {"critical": "error", "major": "error", "minor": "warning", "nit": "note"}


def as_sarif(result: ReviewResult, filtered: Collection[Skipped] = ()) -> str:
    """SARIF 2.1.0 for GitHub code scanning: one rule per severity, one result per finding
    that has a place in the new files (see `sarif_region`), and an invocation that says
    whether the whole diff was reviewed, with one notification per file that was not
    (`filtered`: those the include/exclude rules and default skips left out, only notes)."""
    rules = [
        {
            "id": f"reviewbot/{s}",
            "name": f"Reviewbot{s.capitalize()}",
            "shortDescription": {"text": f"{s.capitalize()} finding from an AI code review"},
            "defaultConfiguration": {"level": _LEVEL[s]},
        }
        for s in SEVERITIES
    ]
    results = []
    for p in result.placed:
        region = sarif_region(p)
        if region is None:  # the CLI says so on stderr
            continue
        f = p.finding
        loc = {
            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": region[0], "endLine": region[1]},
        }
        results.append(
            {
                "ruleId": f"reviewbot/{f.severity}",
                "ruleIndex": SEVERITIES.index(f.severity),
                "level": _LEVEL[f.severity],
                "message": {"text": f"{f.title}\n\n{f.body}".strip()},
                "partialFingerprints": {"reviewbot/v1": fingerprint(f)},
                "locations": [{"physicalLocation": loc}],
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "reviewbot",
                        "version": __version__,
                        "informationUri": "https://github.com/reviewbot/reviewbot",
                        "rules": rules,
                    }
                },
                "results": results,
                "invocations": [_invocation(result, filtered)],
            }
        ],
    }
    return dumps(log)


def _invocation(result: ReviewResult, filtered: Collection[Skipped]) -> dict[str, Any]:
    """`executionSuccessful` is false unless everything to review was reviewed (a partial
    review, or none), so a consumer of the log alone cannot take it for a clean bill."""
    failed = result.status == Status.FAILED
    notes: list[dict[str, Any]] = []
    if failed:
        why = result.failure or "no request succeeded"
        notes.append(_notification("error", f"Nothing was reviewed: {why}"))
    for s in result.skipped:
        quiet = s in filtered and not (failed and content_decided(s.reason))
        level = "note" if quiet else "error" if failed else "warning"
        notes.append(_notification(level, f"Not reviewed: {s.reason}", s.path))
    return {
        "executionSuccessful": result.status in (Status.REVIEWED, Status.SKIPPED),
        "toolExecutionNotifications": notes,
    }


def _notification(level: str, text: str, path: str = "") -> dict[str, Any]:
    note: dict[str, Any] = {
        "descriptor": {"id": "reviewbot/not-reviewed" if path else "reviewbot/failed"},
        "level": level,
        "message": {"text": text},
    }
    if path:
        uri = {"uri": path, "uriBaseId": "%SRCROOT%"}
        note["locations"] = [{"physicalLocation": {"artifactLocation": uri}}]
    return note


def not_reviewed_line(skipped: Sequence[Skipped], names: int = 10) -> str:
    """One stderr line naming the files that were not reviewed, and why."""
    shown = "; ".join(f"{s.path} ({s.reason})" for s in skipped[:names])
    more = f"; and {len(skipped) - names} more" if len(skipped) > names else ""
    return f"reviewbot: not reviewed: {len(skipped)} file(s): {shown}{more}"


_RDJSON_SEVERITY = {"critical": "ERROR", "major": "ERROR", "minor": "WARNING", "nit": "INFO"}


def as_rdjson(result: ReviewResult) -> str:
    """reviewdog's Diagnostic Format (rdjson), so every reviewdog reporter and filter works."""
    diagnostics = []
    for p in result.placed:
        region = sarif_region(p)
        if region is None:
            continue
        f = p.finding
        item: dict[str, Any] = {
            "message": f"{f.title}\n\n{f.body}".strip(),
            "location": {
                "path": f.path,
                "range": {"start": {"line": region[0]}, "end": {"line": region[1]}},
            },
            "severity": _RDJSON_SEVERITY[f.severity],
            "code": {"value": f"reviewbot/{f.severity}"},
        }
        if p.suggestion is not None:  # a whole-line replacement of start_line..line
            start = p.start_line or p.line
            item["suggestions"] = [
                {
                    "range": {"start": {"line": start}, "end": {"line": p.line}},
                    "text": p.suggestion.rstrip("\n"),
                }
            ]
        diagnostics.append(item)
    doc = {
        "source": {"name": "reviewbot", "url": "https://github.com/reviewbot/reviewbot"},
        "diagnostics": diagnostics,
    }
    return dumps(doc)


def as_text(result: ReviewResult) -> str:
    """One line per finding, `path:line:col: severity: title` (editors, errorformat)."""
    lines = []
    for p in result.placed:
        region = sarif_region(p)
        if region is None:
            continue
        title = " ".join(p.finding.title.split())
        # one line per finding even for a file name with a line break in it
        lines.append(inert_line(f"{p.finding.path}:{region[0]}:1: {p.finding.severity}: {title}"))
    return "".join(f"{ln}\n" for ln in lines)


def left_out(result: ReviewResult) -> list[Placed]:
    """Findings SARIF, rdjson and text cannot carry: no place in the new files."""
    return [p for p in result.placed if sarif_region(p) is None]


def plan_json(prepared: Prepared) -> str:
    """`--dry-run --format json`: the request plan and the rendered prompts."""
    doc = {
        "requests": [
            {
                "files": [f.path for f in chunk.files],
                "tokens": chunk.tokens,
                "input": req.input,
            }
            for chunk, req in zip(prepared.plan.chunks, prepared.requests, strict=True)
        ],
        "tokens": prepared.plan.tokens,
        "instructions": prepared.requests[0].instructions if prepared.requests else "",
        "not_reviewed": [
            {"path": s.path, "reason": s.reason}
            for s in (*prepared.skipped, *prepared.plan.not_reviewed)
        ],
    }
    return dumps(doc)


def plan_text(prepared: Prepared) -> str:
    """`--dry-run`: the request plan, then the rendered prompts."""
    plan = prepared.plan
    out = [f"# Request plan: {len(plan.chunks)} request(s), ~{plan.tokens:,} diff tokens"]
    stats = prepared.context
    if stats is not None:
        out.append(
            f"# Scope context: {stats.with_scope} of {stats.hunks} hunks widened "
            f"({stats.whole_scope} with their whole enclosing scope), {stats.lines:,} lines, "
            f"~{round(stats.chars / CHARS_PER_TOKEN):,} tokens (counted in the plan)"
        )
    elif prepared.context_note:
        out.append(f"# {prepared.context_note}")
    for i, chunk in enumerate(plan.chunks, 1):
        names = ", ".join(f.path for f in chunk.files)
        out.append(f"{i}. ~{chunk.tokens:,} tokens, {len(chunk.files)} file(s): {names}")
    out += [f"not reviewed: {s.path}: {s.reason}" for s in (*prepared.skipped, *plan.not_reviewed)]
    if prepared.requests:
        out += [
            "",
            "# instructions (the same for every request)",
            "",
            prepared.requests[0].instructions,
        ]
    for i, req in enumerate(prepared.requests, 1):
        out += ["", f"# input of request {i} of {len(prepared.requests)}", "", req.input]
    return "\n".join(out) + "\n"


def as_format(fmt: str, result: ReviewResult, prepared: Prepared, model: str) -> str:
    """The review in one of the CLI's `--format`s (markdown: as GitHub would show it)."""
    if fmt == "json":
        return as_json(result)
    if fmt == "sarif":
        return as_sarif(result, prepared.skipped)
    if fmt == "rdjson":
        return as_rdjson(result)
    if fmt == "text":
        return as_text(result)
    from reviewbot.render import markdown

    return markdown(result, {f.path: f for f in prepared.files}, model)
