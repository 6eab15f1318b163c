"""The walkthrough: one comment per pull request that says what the PR does, file by file, what
each review covered and what it could not. Every review edits it in place.

Pure: it renders text from values. What it must remember between reviews (the file lines of
files a later, incremental review does not see again, and the review history) it carries in a
hidden line of the comment itself, read back only from a comment the bot wrote; everything
read back is checked and capped, and sanitised again when shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from reviewbot.diff import Skipped
from reviewbot.findings import MAX_FILE_SUMMARY
from reviewbot.kinds import Status
from reviewbot.manifest import ManifestEntry
from reviewbot.markers import read_walkthrough_state, walkthrough_tail
from reviewbot.markup import inline_code, sanitize
from reviewbot.render import GITHUB_BODY_LIMIT, skipped_groups

MAX_FILES = 100  # rows of the file table (and file lines remembered)
MAX_ROUNDS = 20  # reviews kept in the history
MAX_SUMMARY = 2_000
HEAD = re.compile(r"[0-9a-f]{7,12}")
MAX_STATE = 24_000  # characters of the hidden state line


@dataclass(frozen=True, slots=True)
class Round:
    """One review in the history."""

    head: str  # the reviewed head, abbreviated
    kind: str  # "full" or "incremental"
    status: str
    findings: int
    resolved: int
    tokens: int


@dataclass(frozen=True, slots=True)
class State:
    """What the walkthrough remembers: what the PR does, a line per file, earlier reviews."""

    summary: str = ""
    files: tuple[tuple[str, str], ...] = ()
    rounds: tuple[Round, ...] = ()

    def encode(self) -> bytes:
        data = {
            "summary": self.summary,
            "files": [list(f) for f in self.files],
            "rounds": [
                [r.head, r.kind, r.status, r.findings, r.resolved, r.tokens] for r in self.rounds
            ],
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def read_state(body: str) -> State:
    """The state a walkthrough carries; an empty one when it is absent or not ours in shape."""
    raw = read_walkthrough_state(body)
    try:
        data = json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError):  # nested too deeply for the decoder: not ours
        data = None
    if not isinstance(data, dict):
        return State()
    files = [
        (f[0], f[1])
        for f in data.get("files") or []
        if isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)
    ]
    rounds = []
    for r in data.get("rounds") or []:  # shown as they are: only values we could have written
        if (
            isinstance(r, list)
            and len(r) == 6
            and isinstance(r[0], str)
            and HEAD.fullmatch(r[0])
            and r[1] in ("full", "incremental")
            and r[2] in {s.value for s in Status}
            and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in r[3:])
        ):
            rounds.append(Round(r[0], r[1], r[2], r[3], r[4], r[5]))
    summary = data.get("summary")
    return State(
        summary[:MAX_SUMMARY] if isinstance(summary, str) else "",
        tuple((p[:1000], line[:MAX_FILE_SUMMARY]) for p, line in files[:MAX_FILES]),
        tuple(rounds[-MAX_ROUNDS:]),
    )


def update(
    before: State,
    summary: str,
    incremental: bool,
    file_lines: Sequence[tuple[str, str]],
    pr_paths: Sequence[str],
    this: Round,
) -> State:
    """The state after this review: a full review restates what the PR does; file lines are
    replaced for the files reviewed now and kept for the rest that are still in the PR."""
    lines = dict(before.files) | dict(file_lines)
    files = tuple((p, lines[p]) for p in pr_paths if p in lines)[:MAX_FILES]
    what = summary if not incremental or not before.summary else before.summary
    return State(what[:MAX_SUMMARY], files, (*before.rounds, this)[-MAX_ROUNDS:])


def render(
    state: State,
    manifest: Sequence[ManifestEntry],
    skipped: Sequence[Skipped],
    push_summary: str = "",
    *,
    redact: Callable[[str], str],
) -> str:
    """The comment: what the PR does, a table of its files, what was not reviewed, history.
    The state's text is redacted before it is shown or encoded: a secret the model echoed
    would otherwise survive, base64-encoded, in the hidden line (and in every later review)."""
    state = replace(
        state,
        summary=redact(state.summary),
        files=tuple((redact(p), redact(line)) for p, line in state.files),
    )
    push_summary = redact(push_summary)
    out = ["### reviewbot walkthrough", ""]
    out += [sanitize(state.summary or "No summary yet.", MAX_SUMMARY), ""]
    last = state.rounds[-1] if state.rounds else None
    if push_summary and last is not None:  # only an incremental review passes one
        out += [f"**Latest push** (`{last.head}`): {sanitize(push_summary, MAX_SUMMARY)}", ""]
    lines = dict(state.files)
    rows = [
        f"| {_cell(inline_code(m.path))} | {m.status} | +{m.added} −{m.removed} | "
        f"{_cell(sanitize(lines[m.path], 400)) if m.path in lines else '—'} |"
        for m in manifest[:MAX_FILES]
    ]
    if rows:
        out += ["| File | Status | Lines | What changed |", "| --- | --- | --- | --- |", *rows]
        if len(manifest) > MAX_FILES:
            out.append(f"\n…and {len(manifest) - MAX_FILES} more file(s).")
        out.append("")
    if skipped and last is not None:
        out += [f"<b>Not reviewed at `{last.head}`</b>", "", *skipped_groups(skipped), ""]
    if state.rounds:
        out += [
            "<details><summary>Review history</summary>",
            "",
            "| Head | Review | Status | Findings | Resolved | Tokens |",
            "| --- | --- | --- | --- | --- | --- |",
            *(
                f"| `{r.head}` | {r.kind} | {r.status} | {r.findings} | {r.resolved} | "
                f"{r.tokens:,} |"
                for r in state.rounds
            ),
            "",
            "</details>",
        ]
    tail = walkthrough_tail(state.encode())
    while len(tail) > MAX_STATE and state.files:  # only with very long paths and lines
        state = replace(state, files=state.files[: len(state.files) // 2])
        tail = walkthrough_tail(state.encode())
    body = redact("\n".join(out))  # paths and skip reasons too
    budget = GITHUB_BODY_LIMIT - 100 - len(tail)
    if len(body) > budget:  # the state is kept whole: it is what the next review reads
        body = body[: budget - 60].rstrip() + "\n\n…(walkthrough truncated)"
    return body + "\n\n" + tail


def _cell(text: str) -> str:
    """Text safe inside a table cell: one line, pipes escaped (GFM unescapes them in spans)."""
    return " ".join(text.split()).replace("|", "\\|")
