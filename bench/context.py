"""What the scope context costs and shows, on real commits of a git repository.

For each of the last N commits that change Python (or any) files, the diff is prepared twice,
with `context: diff` and `context: scope`, and the rendered requests are measured. Prints the
input tokens of both (and their ratio), and the share of hunks whose whole enclosing scope was
shown. Goal: at least 95% of Python hunks in full, at most 2.5x the tokens of `context: diff`.

Run: `.venv/bin/python bench/context.py [REPO] [--commits N] [--all-languages]`
(REPO defaults to this repository; any local clone works).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewbot.chunking import estimate_tokens  # noqa: E402
from reviewbot.config import Config  # noqa: E402
from reviewbot.localdiff import GIT_DIFF, GitContents  # noqa: E402
from reviewbot.review import prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repo", nargs="?", default=str(ROOT))
    parser.add_argument("--commits", type=int, default=80)
    parser.add_argument("--all-languages", action="store_true")
    parser.add_argument("--context-lines", type=int, default=Config().context_lines)
    args = parser.parse_args()
    os.chdir(args.repo)
    log = subprocess.run(
        ["git", "log", "--no-merges", "--format=%H", f"-{args.commits}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    include = () if args.all_languages else ("**/*.py",)
    diff_tokens = scope_tokens = hunks = whole = widened = commits = 0
    for sha in log:
        parent = subprocess.run(
            ["git", "rev-parse", "-q", "--verify", f"{sha}~1"], capture_output=True, text=True
        )
        if parent.returncode != 0:
            continue
        text = subprocess.run(
            [*GIT_DIFF, f"{sha}~1", sha, "--"], capture_output=True, check=True
        ).stdout
        plain = Config(context="diff", include=include)
        base = prepare(text, plain)
        if not base.plan.chunks:
            continue
        repo = GitContents(f"{sha}~1", sha, os.environ)
        wide = Config(include=include, context_lines=args.context_lines)
        scoped = prepare(text, wide, repo=repo)
        repo.close()
        commits += 1
        diff_tokens += sum(estimate_tokens(r.input) for r in base.requests)
        scope_tokens += sum(estimate_tokens(r.input) for r in scoped.requests)
        stats = scoped.context
        assert stats is not None
        hunks += stats.hunks
        widened += stats.with_scope
        whole += stats.whole_scope
    if not commits:
        sys.exit("no commits with reviewable changes")
    kind = "all" if args.all_languages else "Python"
    in_scope = f"{whole / widened:.1%}" if widened else "n/a"
    print(
        f"context bench · {Path(args.repo).name} · {commits} commits · {hunks:,} {kind} hunks · "
        f"context_lines {args.context_lines}"
    )
    ratio = scope_tokens / diff_tokens
    print(
        f"input tokens: diff {diff_tokens:,} · scope {scope_tokens:,} · "
        f"ratio {ratio:.2f}x (goal <= 2.5x)"
    )
    print(
        f"hunks inside a definition: {widened:,} ({widened / max(hunks, 1):.1%}); "
        f"shown with their whole enclosing scope: {whole:,} ({in_scope}; goal >= 95%)"
    )


if __name__ == "__main__":
    main()
