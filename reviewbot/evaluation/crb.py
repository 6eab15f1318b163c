"""`reviewbot eval convert-crb`: Code Review Bench's golden comments → eval cases.

Its offline set publishes, per repository, `golden_comments/<repo>.json`: a list of
`{"pr_title", "url", "original_url"?, "comments": [{"comment", "severity", "category"?}]}` with
severity Low / Medium / High / Critical. The comments name no file or line, so the golden
findings have no place and only `eval run --judge` can match them (CRB scores with a judge
too). The PRs' diffs are not in those files: give each as `<number>.diff` in a directory.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from reviewbot.errors import UsageError
from reviewbot.evaluation.cases import Case, Golden, dump_cases

SEVERITY = {"critical": "critical", "high": "major", "medium": "minor", "low": "nit"}
_PR_URL = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/pull/(\d+)/?$")


def convert(items: object, diffs: Path) -> tuple[list[Case], list[str]]:
    """The cases, and one line per PR left out (no diff)."""
    if not isinstance(items, list):
        raise UsageError("not Code Review Bench golden comments: expected a JSON list of PRs")
    cases: list[Case] = []
    missing: list[str] = []
    for n, item in enumerate(items, 1):
        where = f"PR {n}"
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise UsageError(f"{where}: expected an object with a `url`")
        m = _PR_URL.match(item["url"])
        if m is None:
            raise UsageError(f"{where}: `url` is not a GitHub pull request URL: {item['url']!r}")
        _owner, repo, number = m.groups()
        comments = item.get("comments")
        if not isinstance(comments, list):
            raise UsageError(f"{where} ({item['url']}): `comments` must be a list")
        golden = tuple(_golden(c, f"{where}, comment {i + 1}") for i, c in enumerate(comments))
        diff_file = diffs / f"{number}.diff"
        try:
            diff = diff_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            missing.append(f"{item['url']}: no readable {diff_file}")
            continue
        source: dict[str, Any] = {"method": "code-review-bench", "url": item["url"]}
        if isinstance(item.get("original_url"), str):
            source["original_url"] = item["original_url"]
        title = item.get("pr_title")
        cases.append(
            Case(
                id=f"{repo}-{number}",
                golden=golden,
                diff=diff,
                title=title if isinstance(title, str) else "",
                source=source,
            )
        )
    return cases, missing


def _golden(c: object, where: str) -> Golden:
    if not isinstance(c, dict) or not isinstance(c.get("comment"), str) or not c["comment"]:
        raise UsageError(f"{where}: expected an object with a `comment` text")
    severity = c.get("severity")
    mapped = SEVERITY.get(severity.lower()) if isinstance(severity, str) else None
    if severity is not None and mapped is None:
        raise UsageError(f"{where}: unknown severity {severity!r} (Low, Medium, High, Critical)")
    category = c.get("category")
    return Golden(
        None, 0, 0, "RIGHT", mapped, c["comment"], category if isinstance(category, str) else None
    )


def convert_command(args: argparse.Namespace) -> int:
    """Read the golden file, write the cases, and say on stderr which PRs had no diff."""
    from reviewbot.evaluation.cli import write_text

    try:
        items = json.loads(args.golden.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {args.golden}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"{args.golden} is not JSON") from None
    if not args.diffs.is_dir():
        raise UsageError(f"--diffs: no such directory: {args.diffs}")
    cases, missing = convert(items, args.diffs)
    for line in missing:
        print(f"reviewbot: left out: {line}", file=sys.stderr)
    if not cases:
        raise UsageError(f"no PR of {args.golden} has its diff in {args.diffs}")
    write_text(args.output, "".join(dump_cases(cases)))
    golden = sum(len(c.golden) for c in cases)
    print(
        f"reviewbot: {len(cases)} cases, {golden} golden comments (no file or line: score "
        "them with `eval run --judge`)",
        file=sys.stderr,
    )
    return 0
