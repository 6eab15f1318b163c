"""The model's output: one schema definition in code, and checked parsing of what comes back."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reviewbot.kinds import SEVERITIES, SEVERITY_RANK, SIDES

__all__ = ["SEVERITIES", "SEVERITY_RANK", "SIDES", "Finding", "parse_output", "response_schema"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str
    description: str
    nullable: bool = False
    enum: tuple[str, ...] = ()


# The single definition of a finding: the JSON schema sent to the model and the validation
# below are both generated from it.
FINDING_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("path", "string", "File path exactly as in the diff header."),
    FieldSpec("line", "integer", "Line the comment is about: the number after R or L in the diff."),
    FieldSpec(
        "start_line",
        "integer",
        "First line of a multi-line range (same side and hunk, below `line`), else null.",
        nullable=True,
    ),
    FieldSpec(
        "side", "string", "RIGHT for R lines (new file), LEFT for L lines (old).", enum=SIDES
    ),
    FieldSpec("severity", "string", "How much it matters.", enum=SEVERITIES),
    FieldSpec(
        "confidence",
        "number",
        "How sure you are, from 0 to 1, that this is a real problem the author should fix.",
    ),
    FieldSpec("title", "string", "One-line statement of the problem."),
    FieldSpec("body", "string", "Why it is a problem and how to fix it; concise markdown."),
    FieldSpec(
        "code",
        "string",
        "The exact text of line `line`, copied from the diff without its number and marker.",
        nullable=True,
    ),
    FieldSpec(
        "suggestion",
        "string",
        "Full replacement text for lines start_line..line (RIGHT only), or null.",
        nullable=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem the model reported; `line` 0 means it gave no usable line."""

    path: str
    line: int
    start_line: int | None
    side: str
    severity: str
    title: str
    body: str
    code: str | None = None
    suggestion: str | None = None
    confidence: float | None = None  # 0 to 1, as the model rated it (None: it did not say)

    @property
    def key(self) -> tuple[str, str, int, int | None, str]:
        """Identity used to deduplicate findings across chunks."""
        return (self.path, self.side, self.line, self.start_line, norm(self.title))


@dataclass(frozen=True, slots=True)
class ParsedOutput:
    summary: str
    findings: tuple[Finding, ...]
    problems: tuple[str, ...]
    resolved: tuple[str, ...] = ()  # ids of earlier findings the model says are fixed
    file_summaries: tuple[tuple[str, str], ...] = ()  # (path, one line on what changed there)


class MalformedOutput(ValueError):
    """The model's text is not the JSON object the schema asks for."""


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": [spec.type, "null"] if spec.nullable else spec.type,
        "description": spec.description,
    }
    if spec.enum:
        schema["enum"] = list(spec.enum)
    return schema


def response_schema() -> dict[str, Any]:
    """The strict JSON schema for `text.format` (every property required, no extras)."""
    finding = {
        "type": "object",
        "additionalProperties": False,
        "properties": {s.name: _field_schema(s) for s in FINDING_FIELDS},
        "required": [s.name for s in FINDING_FIELDS],
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "summary": {"type": "string", "description": "Two to five sentences on the change."},
            "findings": {"type": "array", "items": finding},
            "resolved": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Ids of the earlier findings listed for re-checking that the "
                "changes now fix; empty when none were listed.",
            },
            "file_summaries": {
                "type": "array",
                "description": "One entry per file in this request: what changed there.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "path": {"type": "string", "description": "As in the diff header."},
                        "summary": {"type": "string", "description": "One short line."},
                    },
                    "required": ["path", "summary"],
                },
            },
        },
        "required": ["summary", "findings", "resolved", "file_summaries"],
    }


MAX_FILE_SUMMARY = 200  # characters of one file's line in the walkthrough

_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def parse_output(text: str) -> ParsedOutput:
    """Parse the model's JSON (fenced or bare); raise MalformedOutput when it is not usable."""
    raw = text.strip()
    m = _FENCE.match(raw)
    if m:
        raw = m.group(1)
    try:
        data = json.loads(raw)
    except RecursionError:  # hostile nesting; json gives up before the stack does
        raise MalformedOutput("JSON nested too deeply") from None
    except json.JSONDecodeError:
        start, end = raw.find("{"), raw.rfind("}")
        try:
            data = json.loads(raw[start : end + 1]) if 0 <= start < end else None
        except RecursionError:
            raise MalformedOutput("JSON nested too deeply") from None
        except json.JSONDecodeError:
            data = None
        if data is None:
            raise MalformedOutput(f"not JSON: {_preview(text)}") from None
    if not isinstance(data, dict):
        raise MalformedOutput(f"expected a JSON object, got {type(data).__name__}")
    summary = data.get("summary")
    raw_findings = data.get("findings", [])
    problems: list[str] = []
    if not isinstance(summary, str):
        problems.append("the model gave no summary")
        summary = ""
    if not isinstance(raw_findings, list):
        raise MalformedOutput("`findings` is not a list")
    findings: list[Finding] = []
    for i, item in enumerate(raw_findings):
        finding, issue = _finding(item)
        if issue:
            problems.append(f"finding {i + 1}: {issue}")
        if finding is not None:
            findings.append(finding)
    resolved = data.get("resolved")
    ids = (
        tuple(str(x) for x in resolved if isinstance(x, str)) if isinstance(resolved, list) else ()
    )
    return ParsedOutput(
        summary.strip(), tuple(findings), tuple(problems), ids, _file_summaries(data)
    )


def _file_summaries(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(path, one line) pairs; optional for parsing (older prompts and samples omit them)."""
    raw = data.get("file_summaries")
    out: list[tuple[str, str]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            path = _path(item.get("path"))
            line = " ".join(_text(item.get("summary")).split())
            if path and line:
                out.append((path, line[:MAX_FILE_SUMMARY]))
    return tuple(out)


def output_problem(text: str) -> str | None:
    """Why `text` is not a usable review (None when it is): the client retries such output."""
    try:
        parse_output(text)
    except MalformedOutput as exc:
        return f"malformed model output ({exc})"
    return None


def _finding(item: object) -> tuple[Finding | None, str | None]:
    """Build a Finding from one raw item, repairing what is safe and saying what was wrong."""
    if not isinstance(item, dict):
        return None, f"not an object ({_preview(json.dumps(item))})"
    notes: list[str] = []
    title = _text(item.get("title"))
    body = _text(item.get("body"))
    if not title and not body:
        return None, f"no title or body ({_preview(json.dumps(item))})"
    path = _path(item.get("path"))
    line = _int(item.get("line"))
    if line is None or line < 1:
        notes.append("no valid line number")
        line = 0
    start = _int(item.get("start_line"))
    side = _text(item.get("side")).upper() or "RIGHT"
    if side not in SIDES:
        notes.append(f"unknown side {side!r}, used RIGHT")
        side = "RIGHT"
    severity = _text(item.get("severity")).lower()
    if severity not in SEVERITIES:
        notes.append(f"unknown severity {severity!r}, used minor")
        severity = "minor"
    if not path:
        notes.append("no path")
    confidence = _fraction(item.get("confidence"))
    if item.get("confidence") is not None and confidence is None:
        notes.append(f"confidence {_preview(json.dumps(item.get('confidence')), 20)} is not 0 to 1")
    finding = Finding(
        path=path,
        line=line,
        start_line=start if start and start > 0 else None,
        side=side,
        severity=severity,
        title=title.strip() or body.strip().split("\n")[0][:120],
        body=body.strip(),
        code=_opt_text(item.get("code")),
        # An empty suggestion would delete the lines; models write "" for "none", so it is none.
        suggestion=_opt_text(item.get("suggestion"), strip=False),
        confidence=confidence,
    )
    return finding, "; ".join(notes) or None


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """Drop exact repeats (same place, same title) that overlapping chunks can produce."""
    seen: set[tuple[str, str, int, int | None, str]] = set()
    out: list[Finding] = []
    for f in findings:
        if f.key not in seen:
            seen.add(f.key)
            out.append(f)
    return out


def norm(s: str) -> str:
    """Text compared loosely: case and runs of white space do not matter."""
    return " ".join(s.casefold().split())


def _path(v: object) -> str:
    """A path as the model wrote it, without the `b/` or `./` it sometimes adds."""
    return _text(v).strip().removeprefix("b/").removeprefix("./")


def _text(v: object) -> str:
    return v if isinstance(v, str) else ""


def _opt_text(v: object, strip: bool = True) -> str | None:
    if not isinstance(v, str):
        return None
    if not v.strip():
        return None
    return v.strip() if strip else v


def _int(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def _fraction(v: object) -> float | None:
    """A confidence: a number from 0 to 1 (a percentage above 1 is not guessed at)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if 0 <= v <= 1 else None


def _preview(s: str, n: int = 80) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"
