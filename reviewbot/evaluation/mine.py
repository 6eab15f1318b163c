"""`reviewbot eval mine`: cases from a repository's history by the SZZ method.

Fix commits are found by their message; the lines a fix changed or deleted are blamed in the
fix's parent, which names the commits that introduced them. Each introducing commit becomes a
case (its parent to it, the diff inline) whose golden findings are the later-fixed lines, in
that commit's new-file numbering. Every filter is an option and is counted in the summary.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from reviewbot.errors import UsageError
from reviewbot.evaluation.cases import Case, Golden, dump_cases
from reviewbot.evaluation.gitrepo import commit_diff, diff_args, git
from reviewbot.evaluation.history import Commit, blame, diff_files, log, ranges

DEFAULT_PATTERN = r"\b(fix(e[sd]|ing)?|bug(fix)?|regression|crash(es|ed)?|broken|wrong)\b"
DEFAULT_NON_CODE = (
    "test/*", "tests/*", "*/test/*", "*/tests/*", "test_*.py", "*_test.py", "*_test.go",
    "*.test.*", "*.spec.*", "conftest.py", "doc/*", "docs/*", "*.md", "*.rst", "*.txt",
    "CHANGES*", "CHANGELOG*", "HISTORY*", "NEWS*",
    ".github/*", ".gitignore", "*.lock", "package-lock.json", "*.toml", "*.cfg", "*.ini",
)  # fmt: skip
NOISE = (
    "SZZ is a heuristic: a fix's deleted lines are not always the bug (fixes also refactor "
    "and tidy), the blamed commit may only have moved or reformatted a line, bugs fixed only "
    "by adding lines are not found at all, and fix commits are found by their message, not "
    "verified. Golden findings are what was later changed, not every problem: recall on them "
    "says nothing about the precision of the other findings."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `eval mine` options (every filter is one)."""
    p.add_argument("repo", type=Path, metavar="REPO", help="a local git repository")
    p.add_argument("--output", type=Path, metavar="FILE", help="write there instead of stdout")
    p.add_argument("--rev", default="HEAD", help="history to mine: this revision's ancestors")
    p.add_argument(
        "--pattern",
        default=DEFAULT_PATTERN,
        help="regular expression (case-insensitive) a fix commit's message matches",
    )
    p.add_argument(
        "--include-merges",
        action="store_true",
        help="also mine merge commits (against their first parent); skipped by default",
    )
    p.add_argument(
        "--max-fix-lines",
        type=int,
        default=100,
        metavar="N",
        help="skip fixes changing more code lines (likely refactors; default 100)",
    )
    p.add_argument(
        "--max-case-lines",
        type=int,
        default=1000,
        metavar="N",
        help="skip introducing commits whose diff changes more lines (default 1000)",
    )
    p.add_argument(
        "--non-code",
        action="append",
        metavar="GLOB",
        help="test/doc paths: fixes touching only these are skipped and their lines "
        "not blamed (repeatable; replaces the default list)",
    )
    p.add_argument(
        "--keep-whitespace",
        action="store_true",
        help="also blame blank lines and lines a fix changed only in whitespace",
    )
    p.add_argument(
        "--max-age-days",
        type=float,
        default=730,
        metavar="N",
        help="skip lines introduced more than N days before their fix (default 730)",
    )
    p.add_argument("--max-cases", type=int, metavar="N", help="keep the N newest cases")
    p.add_argument("--name", help="case id prefix (default: the repository's directory name)")
    p.add_argument(
        "--with-repo",
        action="store_true",
        help="record the repository path in each case, so `eval run` reads file "
        "contents for the scope context (the diff stays inline)",
    )


@dataclass(frozen=True, slots=True)
class Settings:
    pattern: str = DEFAULT_PATTERN
    include_merges: bool = False
    max_fix_lines: int = 100
    max_case_lines: int = 1000
    non_code: tuple[str, ...] = DEFAULT_NON_CODE
    keep_whitespace: bool = False
    max_age_days: float = 730
    max_cases: int | None = None
    name: str = ""
    with_repo: bool = False


@dataclass
class Stats:
    """What mining saw and skipped, for the summary (every filter counted)."""

    commits: int = 0
    fixes: int = 0
    fixes_used: int = 0
    skipped_fixes: dict[str, int] = field(default_factory=dict)
    lines_blamed: int = 0
    skipped_lines: dict[str, int] = field(default_factory=dict)
    introducing: int = 0
    skipped_cases: dict[str, int] = field(default_factory=dict)
    cases: int = 0

    def skip(self, table: dict[str, int], why: str, n: int = 1) -> None:
        table[why] = table.get(why, 0) + n


@dataclass(frozen=True, slots=True)
class Removed:
    path: str  # in the fix's parent
    line: int  # in the fix's parent
    text: str


def mine_command(args: argparse.Namespace) -> int:
    """Run the miner with the command's options; cases to stdout or --output, summary to
    stderr."""
    from reviewbot.evaluation.cli import write_text

    settings = Settings(
        pattern=args.pattern,
        include_merges=args.include_merges,
        max_fix_lines=args.max_fix_lines,
        max_case_lines=args.max_case_lines,
        non_code=tuple(args.non_code) if args.non_code else DEFAULT_NON_CODE,
        keep_whitespace=args.keep_whitespace,
        max_age_days=args.max_age_days,
        max_cases=args.max_cases,
        name=args.name or "",
        with_repo=args.with_repo,
    )
    start = time.monotonic()
    cases, stats = mine(args.repo, args.rev, settings)
    write_text(args.output, "".join(dump_cases(cases)))
    print(summary(stats, args.repo, args.rev, settings, time.monotonic() - start), file=sys.stderr)
    return 0


def mine(repo: Path, rev: str, s: Settings) -> tuple[list[Case], Stats]:
    """The cases SZZ finds in `rev`'s history, newest introducing commit first."""
    try:
        pattern = re.compile(s.pattern, re.IGNORECASE)
    except re.error as exc:
        raise UsageError(f"--pattern is not a regular expression: {exc}") from None
    if rev.startswith("-"):
        raise UsageError(f"--rev takes a revision, not an option: {rev!r}")
    root = Path(git(repo, ["rev-parse", "--show-toplevel"], "git rev-parse").decode().strip())
    commits = {c.sha: c for c in log(root, rev)}
    stats = Stats(commits=len(commits))
    golden: dict[str, dict[str, set[int]]] = {}  # introducing sha → path → lines
    fixed_by: dict[str, list[str]] = {}
    for fix in commits.values():
        if not pattern.search(fix.message):
            continue
        stats.fixes += 1
        blamed = _fix_lines(root, fix, s, stats)
        if blamed is None:
            continue
        stats.fixes_used += 1
        by_path: dict[str, list[int]] = {}
        for r in blamed:
            by_path.setdefault(r.path, []).append(r.line)
        for intro, path, line in blame(root, fix.parents[0], by_path):
            stats.lines_blamed += 1
            why = _intro_problem(commits.get(intro), fix, s)
            if why:
                stats.skip(stats.skipped_lines, why)
                continue
            golden.setdefault(intro, {}).setdefault(path, set()).add(line)
            if fix.sha not in fixed_by.setdefault(intro, []):
                fixed_by[intro].append(fix.sha)
    stats.introducing = len(golden)
    order = sorted(golden, key=lambda sha: (-commits[sha].time, sha))
    cases: list[Case] = []
    name = s.name or root.name
    for sha in order:
        if s.max_cases is not None and len(cases) >= s.max_cases:
            stats.skip(stats.skipped_cases, f"over --max-cases {s.max_cases}")
            continue
        case = _case(root, commits[sha], golden[sha], fixed_by[sha], commits, name, s, stats)
        if case is not None:
            cases.append(case)
    stats.cases = len(cases)
    return cases, stats


def is_non_code(path: str, globs: Sequence[str]) -> bool:
    """A test or doc path, by the globs (on the whole path or the file name)."""
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch(path, g) or fnmatch(name, g) for g in globs)


def _fix_lines(repo: Path, fix: Commit, s: Settings, stats: Stats) -> list[Removed] | None:
    """The parent's lines this fix changed or deleted, filtered; None when the fix is skipped."""
    if not fix.parents:
        stats.skip(stats.skipped_fixes, "root commit (no parent)")
        return None
    if len(fix.parents) > 1 and not s.include_merges:
        stats.skip(stats.skipped_fixes, "merge commit")
        return None
    raw = git(repo, [*diff_args("-U0", "-M", fix.parents[0], fix.sha), "--"], "git diff")
    removed: list[Removed] = []
    changed = 0
    code_files = 0
    whitespace = non_code = 0
    for old_path, new_path, hunks in diff_files(raw.decode("utf-8", "replace")):
        if is_non_code(new_path or old_path or "", s.non_code) or (
            old_path and is_non_code(old_path, s.non_code)
        ):
            non_code += sum(len(minus) for minus, _ in hunks)
            continue
        code_files += 1
        for minus, plus in hunks:
            changed += len(minus) + len(plus)
            if old_path is None:
                continue
            added = {_squash(t) for _, t in plus}
            for line, text in minus:
                if not s.keep_whitespace and (not text.strip() or _squash(text) in added):
                    whitespace += 1
                    continue
                removed.append(Removed(old_path, line, text))
    if not code_files:
        stats.skip(stats.skipped_fixes, "only tests, docs or housekeeping files")
        return None
    if changed > s.max_fix_lines:
        stats.skip(stats.skipped_fixes, f"over {s.max_fix_lines} changed code lines")
        return None
    if whitespace:
        stats.skip(stats.skipped_lines, "blank or whitespace-only change", whitespace)
    if non_code:
        stats.skip(stats.skipped_lines, "in a test, doc or housekeeping file", non_code)
    if not removed:
        why = "only blank or whitespace-only changes" if whitespace else "only added lines"
        stats.skip(stats.skipped_fixes, f"{why} (nothing to blame)")
        return None
    return removed


def _squash(text: str) -> str:
    """The line with indentation and runs of spaces normalised: a re-indented line is the same
    line (a space inside a string literal, added or removed, is still a change)."""
    return " ".join(text.split())


def _intro_problem(intro: Commit | None, fix: Commit, s: Settings) -> str | None:
    """Why a blamed line is not used, or None."""
    if intro is None:
        return "introduced outside the mined history"
    if not intro.parents:
        return "introduced in the root commit (no parent to diff)"
    if len(intro.parents) > 1 and not s.include_merges:
        return "introduced by a merge commit"
    if fix.time - intro.time > s.max_age_days * 86400:
        return f"introduced over {s.max_age_days:g} days before the fix"
    return None


def _case(
    repo: Path,
    intro: Commit,
    lines: dict[str, set[int]],
    fixes: Sequence[str],
    commits: dict[str, Commit],
    name: str,
    s: Settings,
    stats: Stats,
) -> Case | None:
    parent = intro.parents[0]
    raw = commit_diff(repo, parent, intro.sha)
    try:
        diff = raw.decode("utf-8")
    except UnicodeDecodeError:
        stats.skip(stats.skipped_cases, "diff is not UTF-8")
        return None
    added: dict[str, set[int]] = {}
    changed = 0
    for _, new, hunks in diff_files(diff):
        for minus, plus in hunks:
            changed += len(minus) + len(plus)
            if new is not None:
                added.setdefault(new, set()).update(n for n, _ in plus)
    if changed > s.max_case_lines:
        stats.skip(stats.skipped_cases, f"over {s.max_case_lines} changed lines")
        return None
    fix_note = "; ".join(f"{f[:12]} {commits[f].subject!r}" for f in fixes)
    golden: list[Golden] = []
    for path in sorted(lines):
        # blame -w can name a commit that only re-indented a line: keep lines it really added
        kept = sorted(lines[path] & added.get(path, set()))
        if len(kept) < len(lines[path]):
            stats.skip(stats.skipped_lines, "blamed line not added by that commit's diff",
                       len(lines[path]) - len(kept))  # fmt: skip
        if kept:
            golden += [
                Golden(path, b, a, "RIGHT", None, f"changed later by fix {fix_note}")
                for a, b in ranges(kept)
            ]
    if not golden:
        stats.skip(stats.skipped_cases, "no golden line left")
        return None
    source = {
        "method": "szz",
        "repository": name,
        "commit": intro.sha,
        "parent": parent,
        "fixes": list(fixes),
    }
    return Case(
        id=f"{name}-{intro.sha[:12]}",
        golden=tuple(golden),
        diff=diff,
        repo=repo if s.with_repo else None,
        base=parent if s.with_repo else None,
        head=intro.sha if s.with_repo else None,
        title=intro.subject,
        description=intro.body,
        source=source,
    )


def summary(stats: Stats, repo: Path, rev: str, s: Settings, seconds: float) -> str:
    """The miner's account on stderr: what it found, each filter's count, and the noise."""

    def skipped(table: dict[str, int]) -> str:
        return "; ".join(f"{n} {why}" for why, n in sorted(table.items())) or "none"

    return "\n".join(
        [
            f"reviewbot eval mine: {repo} ({rev}): {stats.commits} commits in {seconds:.1f} s",
            f"  fix commits matching /{s.pattern}/i: {stats.fixes}, used {stats.fixes_used}",
            f"    skipped fixes: {skipped(stats.skipped_fixes)}",
            f"  lines blamed: {stats.lines_blamed}",
            f"    skipped lines: {skipped(stats.skipped_lines)}",
            f"  introducing commits: {stats.introducing}, cases written: {stats.cases}",
            f"    skipped cases: {skipped(stats.skipped_cases)}",
            f"  noise: {NOISE}",
        ]
    )
