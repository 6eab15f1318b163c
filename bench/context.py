"""What the scope context costs and shows, on real commits of a git repository.

For each of the last N commits, the diff is prepared twice, with `context: diff` and
`context: scope`, and the rendered requests are measured. Prints:
  - the input tokens of both, and their ratio (goal <= 2.5x);
  - enclosing functions shown whole: of the hunks whose changed lines all sit in one function,
    the share whose whole innermost function is in the prompt (goal >= 95%);
  - far lines: of the context lines shown, the share more than 30 lines from the hunk's changed
    lines and outside every function around them (goal <= 5%);
  - the time spent preparing with scope context.
"Function" here is the bench's own reading of the syntax tree (function and method nodes,
lambdas and closures included; classes are not functions), independent of reviewbot.scopes.

Run: `.venv/bin/python bench/context.py [REPO] [--commits N] [--rev REV] [--all-languages]
[--code DIR]`
(REPO defaults to this repository; any local clone works; `--code` measures the reviewbot
checkout in DIR instead of this one, for before/after figures).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FAR = 30  # lines from the change

# extension → (grammar module, language function, function node types)
_JS = (
    "function_declaration",
    "generator_function_declaration",
    "method_definition",
    "function_expression",
    "function",
    "arrow_function",
)
_C = ("tree_sitter_c", "language", ("function_definition",))
_CPP = ("tree_sitter_cpp", "language", ("function_definition", "lambda_expression"))
FUNCTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    ".py": ("tree_sitter_python", "language", ("function_definition", "lambda")),
    ".js": ("tree_sitter_javascript", "language", _JS),
    ".jsx": ("tree_sitter_javascript", "language", _JS),
    ".mjs": ("tree_sitter_javascript", "language", _JS),
    ".ts": ("tree_sitter_typescript", "language_typescript", _JS),
    ".tsx": ("tree_sitter_typescript", "language_tsx", _JS),
    ".go": (
        "tree_sitter_go",
        "language",
        ("function_declaration", "method_declaration", "func_literal"),
    ),
    ".java": (
        "tree_sitter_java",
        "language",
        ("method_declaration", "constructor_declaration", "lambda_expression"),
    ),
    ".rs": ("tree_sitter_rust", "language", ("function_item", "closure_expression")),
    ".c": _C,
    ".h": _C,
    ".cc": _CPP,
    ".cpp": _CPP,
    ".hpp": _CPP,
    ".rb": ("tree_sitter_ruby", "language", ("method", "singleton_method", "lambda", "block")),
}


def function_spans(path: str, text: str) -> list[tuple[int, int]]:
    """1-based (start, end) lines of every function in `text` (decorators included)."""
    spec = FUNCTIONS.get(PurePosixPath(path).suffix.lower())
    if spec is None:
        return []
    from tree_sitter import Parser, QueryCursor

    language, query = _language(spec, path.endswith((".py", ".pyi")))
    tree = Parser(language).parse(text.encode("utf-8", "replace"))
    found = QueryCursor(query).captures(tree.root_node)
    starts = {}  # a decorated function starts at its first decorator
    for d in found.get("d", []):
        inner = d.child_by_field_name("definition")
        if inner is not None:
            starts[inner.start_byte] = d.start_point[0] + 1
    return [
        (starts.get(n.start_byte, n.start_point[0] + 1), n.end_point[0] + 1)
        for n in found.get("f", [])
    ]


@cache
def _language(spec: tuple[str, str, tuple[str, ...]], decorated: bool) -> tuple[Any, Any]:
    from tree_sitter import Language, Query, QueryError

    language = Language(getattr(importlib.import_module(spec[0]), spec[1])())
    kinds = []
    for kind in spec[2]:
        try:
            Query(language, f"({kind}) @x")
        except QueryError:  # not a node type of this grammar
            continue
        kinds.append(kind)
    patterns = " ".join(f"({k}) @f" for k in kinds)
    return language, Query(language, patterns + (" (decorated_definition) @d" if decorated else ""))


class Tally:
    """The figures of one run, added up hunk by hunk."""

    def __init__(self) -> None:
        self.in_function = self.whole = self.context_lines = self.far = 0

    def add_file(self, f: Any, spans: Sequence[tuple[int, int]], side_of: Any) -> None:
        shown_on: dict[str, set[int]] = {"RIGHT": set(), "LEFT": set()}
        for h in f.hunks:
            side = side_of(h)
            shown = shown_on[side]
            shown.update(n for n, _ in (*h.before, *h.after) if n)
            shown.update(n for n in (_number(ln, side) for ln in h.lines) if n is not None)
        for h in f.hunks:
            side = side_of(h)
            changed = [
                (n, ln.text)
                for ln in h.lines
                if ln.kind != " " and (n := _number(ln, side)) is not None
            ]
            core = [n for n, text in changed if text.strip()] or [n for n, _ in changed]
            if not core:
                continue
            first, last = min(core), max(core)
            around = [s for s in spans[side] if s[0] <= last and s[1] >= first]
            holding = [s for s in around if s[0] <= first and s[1] >= last]
            if holding:
                self.in_function += 1
                start, end = min(holding, key=lambda s: s[1] - s[0])
                self.whole += all(n in shown_on[side] for n in range(start, end + 1))
            for n, _ in (*h.before, *h.after):
                if not n:
                    continue
                self.context_lines += 1
                near = min(abs(n - c) for c in core) <= FAR
                inside = any(s[0] <= n <= s[1] for s in around)
                self.far += not near and not inside


def _number(ln: Any, side: str) -> int | None:
    return ln.new if side == "RIGHT" else ln.old  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("repo", nargs="?", default=str(ROOT))
    parser.add_argument("--commits", type=int, default=80)
    parser.add_argument("--rev", default="HEAD", help="the newest commit (pin it to compare)")
    parser.add_argument("--all-languages", action="store_true")
    parser.add_argument("--code", default=str(ROOT), help="the reviewbot checkout to measure")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.code).resolve()))
    from reviewbot.chunking import estimate_tokens
    from reviewbot.config import Config
    from reviewbot.gather import prepare_from
    from reviewbot.localdiff import GIT_DIFF, GitContents
    from reviewbot.review import prepare

    context_lines = Config().context_lines
    os.chdir(args.repo)
    log = subprocess.run(
        ["git", "log", "--no-merges", "--format=%H", f"-{args.commits}", args.rev, "--"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    include = () if args.all_languages else ("**/*.py",)
    diff_tokens = scope_tokens = hunks = commits = 0
    seconds = 0.0
    tally = Tally()
    for sha in log:
        parent = subprocess.run(
            ["git", "rev-parse", "-q", "--verify", f"{sha}~1"], capture_output=True, text=True
        )
        if parent.returncode != 0:
            continue
        text = subprocess.run(
            [*GIT_DIFF, f"{sha}~1", sha, "--"], capture_output=True, check=True
        ).stdout
        base = prepare(text, Config(context="diff", include=include))
        if not base.plan.chunks:
            continue
        repo = GitContents(f"{sha}~1", sha, os.environ)
        start = time.perf_counter()
        scoped = prepare_from(repo, text, Config(include=include))
        seconds += time.perf_counter() - start
        for f in scoped.files:
            spans = {
                "RIGHT": function_spans(f.path, repo.text(f.path, "RIGHT") or ""),
                "LEFT": function_spans(
                    f.old_path or f.path, repo.text(f.old_path or f.path, "LEFT") or ""
                ),
            }
            tally.add_file(f, spans, _side_of)
        repo.close()
        commits += 1
        hunks += sum(len(f.hunks) for f in scoped.files)
        diff_tokens += sum(estimate_tokens(r.input) for r in base.requests)
        scope_tokens += sum(estimate_tokens(r.input) for r in scoped.requests)
    if not commits:
        sys.exit("no commits with reviewable changes")
    kind = "all" if args.all_languages else "Python"
    print(
        f"context bench · {Path(args.repo).name} · {commits} commits · {hunks:,} {kind} hunks · "
        f"context_lines {context_lines} · code {Path(args.code).resolve().name}"
    )
    print(
        f"input tokens: diff {diff_tokens:,} · scope {scope_tokens:,} · "
        f"ratio {scope_tokens / diff_tokens:.2f}x (goal <= 2.5x)"
    )
    share = f"{tally.whole / tally.in_function:.1%}" if tally.in_function else "n/a"
    print(
        f"hunks inside a function: {tally.in_function:,}; shown with the whole innermost "
        f"function: {tally.whole:,} ({share}; goal >= 95%)"
    )
    far = f"{tally.far / tally.context_lines:.1%}" if tally.context_lines else "n/a"
    print(
        f"context lines: {tally.context_lines:,}; more than {FAR} lines from the change and "
        f"outside its function: {tally.far:,} ({far}; goal <= 5%)"
    )
    each = seconds / commits * 1000
    print(f"time preparing with scope context: {seconds:.2f} s ({each:.0f} ms a commit)")


def _side_of(h: Any) -> str:
    if h.before or h.after:
        return str(h.context_side)
    return "RIGHT" if any(ln.kind == "+" for ln in h.lines) else "LEFT"


if __name__ == "__main__":
    main()
