"""The eval case format (JSONL, one case per line) and its validation.

A case is where the code is (an inline unified diff, or a local repository and two revisions)
and the golden findings: the problems a good review should raise. Every bad line is named in
one error, so a hand-edited set is fixed in one pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewbot.errors import UsageError
from reviewbot.kinds import SEVERITIES, SIDES

CASE_KEYS = frozenset(
    {"id", "diff", "repo", "base", "head", "golden", "title", "description", "source"}
)
GOLDEN_KEYS = frozenset(
    {"path", "line", "start_line", "side", "severity", "description", "category"}
)
MAX_ERRORS_SHOWN = 20  # a wholly wrong file names its first bad lines, not ten thousand


@dataclass(frozen=True, slots=True)
class Golden:
    """A problem a good review raises: `start_line..line` on `side` of `path`. `path` None is
    a golden with no place (Code Review Bench's comments): only `--judge` can match it."""

    path: str | None
    line: int
    start_line: int
    side: str = "RIGHT"
    severity: str | None = None
    description: str = ""
    category: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.path is not None:
            out |= {"line": self.line, "start_line": self.start_line, "side": self.side}
        if self.severity:
            out["severity"] = self.severity
        if self.description:
            out["description"] = self.description
        if self.category:
            out["category"] = self.category
        return out


@dataclass(frozen=True, slots=True)
class Case:
    """One review to run and score. `diff` inline, or `repo` with `base`/`head` (then the
    diff is `git diff base head` and file contents give the scope context)."""

    id: str
    golden: tuple[Golden, ...]
    diff: str | None = None
    repo: Path | None = None
    base: str | None = None
    head: str | None = None
    title: str = ""
    description: str = ""
    source: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.repo is not None:
            out |= {"repo": str(self.repo), "base": self.base, "head": self.head}
        if self.diff is not None:
            out["diff"] = self.diff
        if self.title:
            out["title"] = self.title
        if self.description:
            out["description"] = self.description
        out["golden"] = [g.to_json() for g in self.golden]
        if self.source:
            out["source"] = dict(self.source)
        return out


class CaseError(ValueError):
    """What is wrong with one case line."""


def dump_cases(cases: Iterable[Case]) -> Iterator[str]:
    """Each case as one JSONL line (with its newline)."""
    for case in cases:
        yield json.dumps(case.to_json(), ensure_ascii=False) + "\n"


def load_cases(path: Path) -> list[Case]:
    """Read and validate a JSONL case file; UsageError (exit 2) names every bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read cases {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"cases {path} is not UTF-8 text") from None
    base_dir = path.resolve().parent
    cases: list[Case] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            case = parse_case(line, base_dir)
        except CaseError as exc:
            errors.append(f"{path}:{number}: {exc}")
            continue
        if case.id in seen:
            errors.append(f"{path}:{number}: id {case.id!r} repeats line {seen[case.id]}")
            continue
        seen[case.id] = number
        cases.append(case)
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        tail = [f"…and {more} more bad lines"] if more else []
        raise UsageError("bad cases:\n" + "\n".join([*shown, *tail]))
    if not cases:
        raise UsageError(f"no cases in {path}")
    return cases


def parse_case(line: str, base_dir: Path) -> Case:
    """One JSONL line → Case; CaseError says what is wrong (the first problem)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CaseError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise CaseError("a case is a JSON object")
    unknown = sorted(set(data) - CASE_KEYS)
    if unknown:
        raise CaseError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(CASE_KEYS))})")
    case_id = data.get("id")
    if not isinstance(case_id, str) or not case_id.strip():
        raise CaseError("`id` must be a non-empty string")
    where = f"case {case_id!r}"
    diff, repo = data.get("diff"), data.get("repo")
    if diff is None and repo is None:
        raise CaseError(f"{where}: give `diff` (a unified diff) or `repo` with `base` and `head`")
    if diff is not None and (not isinstance(diff, str) or not diff.strip()):
        raise CaseError(f"{where}: `diff` must be a non-empty string")
    repo_path: Path | None = None
    if repo is not None:
        if not isinstance(repo, str) or not repo:
            raise CaseError(f"{where}: `repo` must be a path")
        for key in ("base", "head"):
            value = data.get(key)
            if not isinstance(value, str) or not value or value.startswith("-"):
                raise CaseError(f"{where}: `repo` needs `{key}`, a revision")
        repo_path = Path(repo).expanduser()
        if not repo_path.is_absolute():
            repo_path = base_dir / repo_path  # relative to the case file, not the shell
    elif data.get("base") is not None or data.get("head") is not None:
        raise CaseError(f"{where}: `base`/`head` need `repo`")
    raw_golden = data.get("golden")
    if not isinstance(raw_golden, list):
        raise CaseError(f"{where}: `golden` must be a list (it may be empty)")
    golden = tuple(_golden(g, f"{where}, golden {i + 1}") for i, g in enumerate(raw_golden))
    for key in ("title", "description"):
        if not isinstance(data.get(key, ""), str):
            raise CaseError(f"{where}: `{key}` must be a string")
    source = data.get("source", {})
    if not isinstance(source, dict):
        raise CaseError(f"{where}: `source` must be an object")
    return Case(
        id=case_id,
        golden=golden,
        diff=diff,
        repo=repo_path,
        base=data.get("base"),
        head=data.get("head"),
        title=data.get("title", ""),
        description=data.get("description", ""),
        source=source,
    )


def _golden(item: object, where: str) -> Golden:
    if not isinstance(item, dict):
        raise CaseError(f"{where}: a golden finding is a JSON object")
    unknown = sorted(set(item) - GOLDEN_KEYS)
    if unknown:
        raise CaseError(f"{where}: unknown key {unknown[0]!r}")
    severity = item.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise CaseError(f"{where}: `severity` must be one of {', '.join(SEVERITIES)}")
    description = item.get("description", "")
    category = item.get("category")
    if not isinstance(description, str) or not isinstance(category, str | None):
        raise CaseError(f"{where}: `description` and `category` are strings")
    path = item.get("path")
    if path is None:
        if not description.strip():
            raise CaseError(f"{where}: a golden with no `path` needs a `description`")
        return Golden(None, 0, 0, "RIGHT", severity, description, category)
    if not isinstance(path, str) or not path.strip():
        raise CaseError(f"{where}: `path` must be a file path or null")
    line = _positive(item.get("line"))
    if line is None:
        raise CaseError(f"{where}: `line` must be a whole number ≥ 1")
    raw_start = item.get("start_line")
    start = line if raw_start is None else _positive(raw_start)
    if start is None or start > line:
        raise CaseError(f"{where}: `start_line` must be a whole number from 1 to `line`")
    side = item.get("side", "RIGHT")
    if side not in SIDES:
        raise CaseError(f"{where}: `side` must be RIGHT (new file) or LEFT (old file)")
    return Golden(path, line, start, side, severity, description, category)


def _positive(value: object) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return value if ok and isinstance(value, int) else None
