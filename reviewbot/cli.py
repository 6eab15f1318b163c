"""Command line: argument parsing, exit codes, and the one place errors become a line of text."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

SEVERITY_CHOICES = ("critical", "major", "minor", "nit")  # reviewbot.kinds, without its import
KEY_ENV = "REVIEWBOT_API_KEY"
BASE_URL_ENV = "REVIEWBOT_BASE_URL"
MODEL_ENV = "REVIEWBOT_MODEL"
WIRE_API_ENV = "REVIEWBOT_WIRE_API"
NO_ENV: Mapping[str, str] = MappingProxyType({})


EPILOG = f"""examples:
  reviewbot review --git main...HEAD                review a branch against main
  reviewbot review --staged --fail-on major         a pre-commit gate: exit 3 on major or worse
  git diff | reviewbot review --diff - --format text
  reviewbot review --git HEAD~1 --format sarif --output review.sarif
  reviewbot review --git main...HEAD --format rdjson | reviewdog -f=rdjson -reporter=local
  reviewbot review --diff change.diff --dry-run     the request plan and prompts; calls nothing
  reviewbot review --pr octo/app#42                 a GitHub pull request, printed; posts nothing

exit codes:
  0    done (also: nothing to review)
  1    failure: one line on stderr (for example, the model endpoint kept failing, or
       nothing was reviewed: every file to review failed or was over the budget, or,
       with --fail-on, was skipped for its content: a generated header, long lines)
  2    bad usage or configuration (no key, input that is not a diff, a bad config file)
  3    --fail-on: a finding at or above that severity
  130  interrupted (Ctrl-C)

environment:
  {KEY_ENV}      the Responses API key (required unless --dry-run or --sample-response)
  {BASE_URL_ENV}     like --base-url
  {MODEL_ENV}        like --model
  {WIRE_API_ENV}     like --wire-api
  GITHUB_TOKEN, GH_TOKEN a GitHub token for --pr (read access is enough)
  GITHUB_API_URL         GitHub Enterprise's API for --pr: the only host besides
                         api.github.com the token is sent to (a PR URL must be on it)
"""


def build_parser() -> argparse.ArgumentParser:
    from reviewbot import __version__

    parser = argparse.ArgumentParser(
        prog="reviewbot",
        description="AI pull-request reviewer: precise inline comments through the Responses API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"reviewbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser(
        "review",
        help="review a local diff, git range, the staged changes or a GitHub pull request "
        "and print the review",
        description=f"Review a diff and print the review. The key comes from ${KEY_ENV}.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--diff", metavar="PATH", help="unified diff file, or - for stdin")
    src.add_argument("--git", metavar="RANGE", help="review `git diff RANGE` (e.g. main...HEAD)")
    src.add_argument("--staged", action="store_true", help="review the staged changes (the index)")
    src.add_argument(
        "--pr",
        metavar="OWNER/REPO#N",
        help="review a GitHub pull request (or its URL) as the Action would; posts nothing",
    )
    r.add_argument(
        "--format", choices=("markdown", "json", "sarif", "rdjson", "text"), default="markdown"
    )
    r.add_argument("--output", metavar="FILE", type=Path, help="write there instead of stdout")
    r.add_argument(
        "--fail-on",
        choices=("none", *SEVERITY_CHOICES),
        metavar="SEVERITY",
        help="exit 3 when a finding reaches it: critical, major, minor, nit (none: never)",
    )
    r.add_argument("--model", help="model id (default openai/gpt-5-3-codex)")
    r.add_argument("--base-url", help="Responses API base (default https://api.aimlapi.com/v1)")
    r.add_argument(
        "--wire-api",
        choices=("responses", "chat"),
        help="responses (default), or chat: Chat Completions, for servers without /responses",
    )
    r.add_argument("--config", metavar="PATH", type=Path, help="reviewbot YAML config file")
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the request plan and rendered prompts (JSON with --format json); call nothing",
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
    r.add_argument(
        "--context",
        choices=("diff", "scope", "agent"),
        help="scope (default): widen each hunk to its enclosing function, read from the "
        "repository (--git, --staged, --pr); diff: hunks only; agent: the model reads "
        "and searches the reviewed revision with bounded tool calls (--git, --staged, --pr)",
    )
    r.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check each finding with a second request before printing it (default on); "
        "dropped findings are listed with the reason",
    )
    r.add_argument(
        "--max-tokens-per-run", type=int, metavar="N", help="stop before N tokens in all"
    )
    r.add_argument(
        "--max-usd-per-run", type=float, metavar="USD", help="the same in US$ (prices in --config)"
    )
    r.add_argument("--prompts", metavar="DIR", type=Path, help="directory overriding templates")
    r.add_argument("--concurrency", type=int, help="requests in flight at once (default 4)")
    r.add_argument("--max-request-tokens", type=int, help="diff tokens per request (48000)")
    r.add_argument("--max-total-tokens", type=int, help="diff tokens per review (600000)")
    r.add_argument(
        "--title", default="", help="pull request title to give the model (--git: the commits')"
    )
    r.add_argument("--description", default="", help="pull request description")
    r.add_argument(
        "--sample-response",
        metavar="JSON",
        type=Path,
        help="answer every request with this saved Responses API reply (no network)",
    )
    sub.add_parser("eval", help="measure review quality on labelled cases (reviewbot eval -h)")
    sub.add_parser(
        "action",
        help="run as a GitHub Action (reads the Actions environment and INPUT_* variables)",
    )
    # The GitHub App server (reviewbot[server]): main() hands these to reviewbot.server.
    from reviewbot.server.settings import parser as server_parser  # argparse only

    for name, text in (
        ("serve", "GitHub App server: take webhooks, queue reviews (reviewbot[server])"),
        ("worker", "GitHub App server: run the queued reviews (Dramatiq on Redis)"),
    ):
        sub.add_parser(name, parents=[server_parser(name, False)], add_help=False, help=text)
    return parser


def entry() -> int:
    """The console script and `python -m reviewbot`: this process's arguments and environment."""
    return main(sys.argv[1:], os.environ)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] = NO_ENV) -> int:
    """`reviewbot ARGS` in the environment `env`, which is all it reads of one (the process's
    is passed in by `entry`), so it runs in-process in tests and in a server; returns the exit
    code."""
    if argv is not None and list(argv)[:1] == ["eval"]:  # its own parser
        from reviewbot.evaluation.cli import main as eval_main

        return eval_main(list(argv)[1:], env)
    if argv is not None and list(argv)[:1] in (["serve"], ["worker"]):  # the App server's
        from reviewbot.server.entry import main as server_main

        command, *rest = argv
        return server_main(command, rest)
    args = build_parser().parse_args(argv)
    from reviewbot.errors import ReviewbotError
    from reviewbot.redact import Redactor, url_secrets
    from reviewbot.remote import TOKEN_ENVS

    base_url = getattr(args, "base_url", None) or env.get(BASE_URL_ENV, "")
    secrets = [env.get(name, "").strip() for name in (KEY_ENV, *TOKEN_ENVS)]
    redact = Redactor([*secrets, *url_secrets(base_url)])
    with _log_to_stderr():
        redact.install()
        try:
            if args.command == "action":
                from reviewbot.action import run_action

                return run_action(env)
            from reviewbot.cli_review import review_command

            return review_command(args, env, redact)
        except ReviewbotError as exc:
            say(f"reviewbot: error: {exc}", redact)
            return exc.exit_code
        except KeyboardInterrupt:
            say("reviewbot: interrupted")
            return 130
        except BrokenPipeError:  # `reviewbot review ... | head`: the reader has all it wants
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0


def say(line: str, redact: Any = str) -> None:
    """One line on stderr, redacted and inert: a file name or model text in it cannot break
    it in two or start a workflow command when the CLI runs in a CI step."""
    from reviewbot.redact import inert_line

    print(inert_line(redact(line)), file=sys.stderr, flush=True)


@contextmanager
def _log_to_stderr() -> Iterator[None]:
    """The root logger writes warnings to stderr for the length of one command (and no longer:
    a second `main` in the same process does not print each line twice)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)  # the stderr of this call (tests redirect it)
    handler.setFormatter(logging.Formatter("reviewbot: %(message)s"))
    handler.setLevel(logging.WARNING)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def cli_settings(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, Any]:
    """The settings given on the command line or in REVIEWBOT_* variables of `env` (None: not
    given)."""
    from reviewbot.errors import UsageError

    for flag, value in (("--model", args.model), ("--base-url", args.base_url)):
        if value is not None and not value.strip():  # like `model: ""` in a config file
            raise UsageError(f"{flag} must not be empty: leave it out for the default")
    return {
        "model": args.model or env.get(MODEL_ENV, "").strip() or None,
        "base_url": args.base_url or env.get(BASE_URL_ENV, "").strip() or None,
        "wire_api": args.wire_api or env.get(WIRE_API_ENV, "").strip() or None,
        "max_comments": args.max_comments,
        "include": args.include,
        "exclude": args.exclude,
        "reasoning_effort": args.reasoning_effort,
        "prompts_dir": args.prompts,
        "concurrency": args.concurrency,
        "max_request_tokens": args.max_request_tokens,
        "max_total_tokens": args.max_total_tokens,
        "timeout_minutes": args.timeout_minutes,
        "context": args.context,
        "verify": getattr(args, "verify", None),
        "max_tokens_per_run": getattr(args, "max_tokens_per_run", None),
        "max_usd_per_run": getattr(args, "max_usd_per_run", None),
        "api_key": env.get(KEY_ENV, "").strip() or None,
    }


def _in_actions(env: Mapping[str, str]) -> bool:
    """Whether this runs in a GitHub Actions step, whose runner reads every line printed as a
    possible workflow command."""
    return env.get("GITHUB_ACTIONS", "") == "true"


def _stdout_is_a_file() -> bool:
    """`> review.md`: what is written there never reaches the runner's log."""
    import stat

    try:
        return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError):  # no file descriptor (e.g. redirected in-process)
        return False


def _write(output: Path | None, text: str, redact: Any, inert: bool = False) -> None:
    """`text` to `output` or stdout; `inert`: text for people, which in a CI log is kept from
    running workflow commands (PR and model text could otherwise `::add-mask::` or `::error`)
    between `::stop-commands::TOKEN` and `::TOKEN::`, TOKEN random, so nothing inside can
    end it."""
    from reviewbot.errors import UsageError

    text = redact(text)
    if output is None:
        if inert and not _stdout_is_a_file():
            import secrets

            token = secrets.token_hex(16)
            end = "" if text.endswith("\n") or not text else "\n"
            text = f"::stop-commands::{token}\n{text}{end}::{token}::\n"
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
