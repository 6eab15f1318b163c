"""Command line: argument parsing, exit codes, and the one place errors become a line of text."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy imports stay out of `reviewbot --help`
    from reviewbot.config import Config
    from reviewbot.review import Prepared, ReviewResult

KEY_ENV = "REVIEWBOT_API_KEY"
BASE_URL_ENV = "REVIEWBOT_BASE_URL"
MODEL_ENV = "REVIEWBOT_MODEL"
logger = logging.getLogger("reviewbot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewbot",
        description="AI pull-request reviewer: precise inline comments through the Responses API.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser(
        "review",
        help="review a local diff or git range and print the review",
        description=f"Review a diff and print the review. The key comes from ${KEY_ENV}.",
    )
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--diff", metavar="PATH", help="unified diff file, or - for stdin")
    src.add_argument("--git", metavar="RANGE", help="review `git diff RANGE` (e.g. main...HEAD)")
    r.add_argument("--format", choices=("markdown", "json", "sarif"), default="markdown")
    r.add_argument("--model", help="model id (default openai/gpt-5-3-codex)")
    r.add_argument("--base-url", help="Responses API base (default https://api.aimlapi.com/v1)")
    r.add_argument("--config", metavar="PATH", type=Path, help="reviewbot YAML config file")
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the request plan and rendered prompts; call nothing",
    )
    r.add_argument("--max-comments", type=int, help="most inline comments (default 25)")
    r.add_argument("--include", action="append", metavar="GLOB", help="only review these paths")
    r.add_argument("--exclude", action="append", metavar="GLOB", help="skip these paths")
    r.add_argument(
        "--reasoning-effort",
        choices=("none", "minimal", "low", "medium", "high", "xhigh"),
        help="reasoning.effort; the model decides which it accepts (default medium)",
    )
    r.add_argument(
        "--timeout-minutes",
        type=float,
        metavar="N",
        help="deadline for all model calls (default 20); what finished by then is printed",
    )
    r.add_argument("--prompts", metavar="DIR", type=Path, help="directory overriding templates")
    r.add_argument("--concurrency", type=int, help="requests in flight at once (default 4)")
    r.add_argument("--max-request-tokens", type=int, help="diff tokens per request (48000)")
    r.add_argument("--max-total-tokens", type=int, help="diff tokens per review (600000)")
    r.add_argument("--title", default="", help="pull request title to give the model")
    r.add_argument("--description", default="", help="pull request description")
    r.add_argument(
        "--sample-response",
        metavar="JSON",
        type=Path,
        help="answer every request with this saved Responses API reply (no network)",
    )
    sub.add_parser(
        "action",
        help="run as a GitHub Action (reads the Actions environment and INPUT_* variables)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `reviewbot` command; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="reviewbot: %(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    from reviewbot.errors import ReviewbotError
    from reviewbot.redact import Redactor, url_secrets

    base_url = getattr(args, "base_url", None) or os.environ.get(BASE_URL_ENV, "")
    redact = Redactor([os.environ.get(KEY_ENV, "").strip(), *url_secrets(base_url)])
    redact.install()
    try:
        if args.command == "action":
            from reviewbot.action import run_action

            return run_action(os.environ)
        return review_command(args, redact)
    except ReviewbotError as exc:
        print(f"reviewbot: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("reviewbot: interrupted", file=sys.stderr, flush=True)
        return 130


def _config(args: argparse.Namespace) -> Config:
    from reviewbot.config import Config, load_config_file

    config = Config()
    if args.config:
        config = config.with_overrides(load_config_file(args.config))
    explicit: dict[str, Any] = {
        "model": args.model or os.environ.get(MODEL_ENV, "").strip() or None,
        "base_url": args.base_url or os.environ.get(BASE_URL_ENV, "").strip() or None,
        "max_comments": args.max_comments,
        "include": args.include,
        "exclude": args.exclude,
        "reasoning_effort": args.reasoning_effort,
        "prompts_dir": args.prompts,
        "concurrency": args.concurrency,
        "max_request_tokens": args.max_request_tokens,
        "max_total_tokens": args.max_total_tokens,
        "timeout_minutes": args.timeout_minutes,
        "api_key": os.environ.get(KEY_ENV, "").strip() or None,
    }
    return config.with_overrides(explicit)


def _read_diff(args: argparse.Namespace) -> bytes:
    from reviewbot.errors import UsageError

    if args.git is not None:
        import subprocess

        if args.git.startswith("-"):
            raise UsageError(f"--git takes a revision range, not an option: {args.git!r}")
        try:
            proc = subprocess.run(
                ["git", "diff", "--no-color", "--no-ext-diff", args.git, "--"],
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise UsageError("--git needs the git command, which is not installed") from None
        if proc.returncode != 0:
            first = proc.stderr.decode(errors="replace").strip().splitlines()
            raise UsageError(f"git diff {args.git} failed: {first[0] if first else 'no output'}")
        return proc.stdout
    if args.diff == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(args.diff).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read diff {args.diff}: {exc.strerror}") from None


def review_command(args: argparse.Namespace, redact: Any = str) -> int:
    """`reviewbot review`: the pipeline on a local diff, printed instead of posted."""
    from reviewbot.errors import UsageError
    from reviewbot.prompts import PullRequestText
    from reviewbot.review import prepare

    config = _config(args)
    if not config.api_key and not args.dry_run and args.sample_response is None:
        raise UsageError(f"no API key: set {KEY_ENV} (or use --dry-run to see the prompts)")
    diff = _read_diff(args)
    prepared = prepare(diff, config, PullRequestText(args.title, args.description))
    if args.dry_run:
        print_dry_run(prepared)
        return 0
    model = _model(config, args.sample_response)
    from reviewbot.review import run_review

    result = run_review(prepared, config, model, _progress())
    _print_result(result, prepared, config, args.format, redact)
    if result.status == "failed":
        raise_failed(result)
    return 0


def raise_failed(result: ReviewResult) -> None:
    from reviewbot.errors import LLMError

    raise LLMError(f"nothing was reviewed: {result.failure or 'no request succeeded'}")


def _model(config: Config, sample: Path | None) -> Any:
    from dataclasses import replace

    from reviewbot.llm import client_for, replay_transport

    if sample is None:
        return client_for(config)
    print(
        f"reviewbot: no model is called: the saved response {sample} stands in for it.",
        file=sys.stderr,
    )
    return client_for(replace(config, api_key=config.api_key or "sample"), replay_transport(sample))


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\rreviewbot: {done}/{total} requests done", end=end, file=sys.stderr, flush=True)

    return show


def print_dry_run(prepared: Prepared) -> None:
    plan = prepared.plan
    print(f"# Request plan: {len(plan.chunks)} request(s), ~{plan.tokens:,} diff tokens")
    for i, chunk in enumerate(plan.chunks, 1):
        names = ", ".join(f.path for f in chunk.files)
        print(f"{i}. ~{chunk.tokens:,} tokens, {len(chunk.files)} file(s): {names}")
    for s in (*prepared.skipped, *plan.not_reviewed):
        print(f"not reviewed: {s.path}: {s.reason}")
    if prepared.requests:
        print("\n# instructions (the same for every request)\n")
        print(prepared.requests[0].instructions)
    for i, req in enumerate(prepared.requests, 1):
        print(f"\n# input of request {i} of {len(prepared.requests)}\n")
        print(req.input)


def _print_result(
    result: ReviewResult, prepared: Prepared, config: Config, fmt: str, redact: Any
) -> None:
    from reviewbot import render

    if fmt == "json":
        text = render.as_json(result)
    elif fmt == "sarif":
        text = render.as_sarif(result)
    else:
        files = {f.path: f for f in prepared.files}
        text = render.markdown(result, files, config.model)
    sys.stdout.write(redact(text))
