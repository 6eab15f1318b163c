"""`reviewbot eval`: arguments, outputs and exit codes of `run`, `mine`, `convert-crb` and
`--compare`. The review settings flags are `reviewbot review`'s own, parsed by its parser, so
a setting added there works here too."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewbot.errors import ReviewbotError, UsageError

if TYPE_CHECKING:
    from reviewbot.config import Config

EXAMPLES = """examples:
  reviewbot eval run tests/data/eval/click.jsonl                 score the current settings
  reviewbot eval run cases.jsonl --format json --output base.json
  reviewbot eval run cases.jsonl --context diff --runs 3 --format json --output diff.json
  reviewbot eval --compare base.json diff.json                   judge a change by numbers
  reviewbot eval mine . --output mine.jsonl                      cases from this repository
  reviewbot eval convert-crb sentry.json --diffs diffs/ --output crb.jsonl

exit codes: 0 done, 1 failure, 2 bad usage or a bad case line, 130 interrupted (what was done
is printed).
"""
# `reviewbot review` options that choose the input or the output: eval decides those itself.
NOT_SETTINGS = frozenset(
    {"--diff", "--git", "--staged", "--pr", "--dry-run", "--fail-on", "--title", "--description"}
    | {"--format", "--output", "-h", "--help"}
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewbot eval",
        description="Measure review quality against golden findings, and build labelled sets.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        type=Path,
        help="print two `--format json` reports side by side, with per-case wins and losses",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser(
        "run",
        help="review every case and score the findings",
        description="Review every case as `reviewbot review` does and score the findings "
        "against the golden ones. The review settings are `reviewbot review`'s own flags.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    r.add_argument("cases", type=Path, metavar="CASES.jsonl", help="one case per line")
    r.add_argument(
        "--tolerance",
        type=_whole,
        default=3,
        metavar="N",
        help="lines a finding may be away from the golden range (default 3)",
    )
    r.add_argument(
        "--judge",
        nargs="?",
        const="",
        default=None,
        metavar="MODEL",
        help="an LLM decides 'same issue' for pairs on the same file (same endpoint; "
        "default: the review model)",
    )
    r.add_argument(
        "--runs",
        type=_positive,
        default=1,
        metavar="N",
        help="review every case N times and report the spread (default 1)",
    )
    r.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="cases in flight at once (default: --concurrency, 4)",
    )
    r.add_argument("--format", choices=("table", "json"), default="table")
    r.add_argument("--output", type=Path, metavar="FILE", help="write there instead of stdout")
    r.add_argument("--markdown", type=Path, metavar="FILE", help="also write a markdown report")
    settings = r.add_argument_group("review settings (those of `reviewbot review`)")
    for action in review_setting_actions():
        settings._add_action(action)
    m = sub.add_parser(
        "mine",
        help="build cases from a repository's history (SZZ)",
        description="Cases from a repository's own history: fix commits (by message), the "
        "lines they changed or deleted, `git blame` in the fix's parent to the commits that "
        "introduced them. Each introducing commit is a case (its parent to it, diff inline), "
        "the later-fixed lines its golden findings. The method is noisy; see the summary.",
    )
    from reviewbot.evaluation.mine import add_arguments

    add_arguments(m)
    c = sub.add_parser(
        "convert-crb",
        help="convert Code Review Bench golden comments into cases",
        description="Code Review Bench's offline golden comments (golden_comments/*.json: "
        "[{pr_title, url, comments: [{comment, severity, category?}]}]) to cases. Its "
        "comments name no file or line, so only `eval run --judge` can match them.",
    )
    c.add_argument("golden", type=Path, metavar="GOLDEN.json")
    c.add_argument(
        "--diffs",
        type=Path,
        required=True,
        metavar="DIR",
        help="each PR's unified diff as DIR/<number>.diff (e.g. `gh pr diff URL`)",
    )
    c.add_argument("--output", type=Path, metavar="FILE", help="write there instead of stdout")
    return parser


def review_setting_actions() -> list[argparse.Action]:
    """`reviewbot review`'s settings options (not its input or output ones), shared so a
    setting added there (a wire API, a budget) is accepted here and read the same way."""
    from reviewbot import cli

    top = cli.build_parser()
    review = next(
        a.choices["review"] for a in top._actions if isinstance(a, argparse._SubParsersAction)
    )
    return [
        a for a in review._actions if a.option_strings and not set(a.option_strings) & NOT_SETTINGS
    ]


def main(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """`reviewbot eval ARGS` in the environment `env` (all it reads of one); returns the exit
    code."""
    from reviewbot import cli
    from reviewbot.redact import Redactor, url_secrets

    parser = build_parser()
    args = parser.parse_args(argv)
    key = env.get(cli.KEY_ENV, "").strip()
    base_url = getattr(args, "base_url", None) or env.get(cli.BASE_URL_ENV, "")
    redact = Redactor([key, *url_secrets(base_url)])
    redact.install()
    try:
        if args.compare is not None:
            if args.command is not None:
                parser.error("--compare takes two reports and no command")
            return compare_command(args.compare, redact)
        if args.command == "run":
            return run_command(args, redact, env)
        if args.command == "mine":
            from reviewbot.evaluation.mine import mine_command

            return mine_command(args)
        if args.command == "convert-crb":
            from reviewbot.evaluation.crb import convert_command

            return convert_command(args)
        parser.print_help(sys.stderr)
        return 2
    except ReviewbotError as exc:
        print(f"reviewbot: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("reviewbot: interrupted", file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def run_config(args: argparse.Namespace, env: Mapping[str, str]) -> Config:
    """The review's Config from the settings flags, exactly as `reviewbot review` builds it:
    defaults, then `--config`, then the flags and REVIEWBOT_* variables of `env`."""
    from reviewbot import cli
    from reviewbot.config import Config, load_config_file

    config = Config()
    if args.config:
        config = config.with_overrides(load_config_file(args.config))
    return config.with_overrides(cli.cli_settings(args, env))


def run_command(args: argparse.Namespace, redact: Any, env: Mapping[str, str]) -> int:
    from reviewbot import cli, cli_review
    from reviewbot.cost import price_for
    from reviewbot.evaluation import judge as judging
    from reviewbot.evaluation import report
    from reviewbot.evaluation.cases import load_cases
    from reviewbot.evaluation.run import CaseRun, OneAtATime, review_case, run_all

    cases = load_cases(args.cases)
    config = run_config(args, env)
    sample = args.sample_response
    if sample is not None and not sample.is_file():
        raise UsageError(f"--sample-response: no such file: {sample}")
    if not config.api_key and sample is None:
        raise UsageError(f"no API key: set {cli.KEY_ENV} (or use --sample-response)")
    judge = None
    judge_name = None
    if args.judge is not None:
        if not config.api_key:
            raise UsageError(f"--judge asks a model: set {cli.KEY_ENV}")
        judge_config = replace(config, model=args.judge or config.model)
        judge_name = judge_config.model
        judge = judging.judge_model(judge_config)
    model = OneAtATime(cli_review._model(config, sample))

    def review(case: Any, n: int) -> CaseRun:
        return review_case(case, n, config, model, args.tolerance, judge)

    outcome = run_all(cases, args.runs, args.jobs or config.concurrency, review, _progress())
    settings = _settings(config, args, judge_name, sample)
    prices = (price_for(config.prices, config.model), price_for(config.prices, judge_name or ""))
    doc = report.build(outcome, cases, settings, args.runs, prices)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else ""
    _write(args.output, text or report.table(doc), redact)
    if args.markdown is not None:
        _write(args.markdown, report.markdown(doc), redact)
    if outcome.interrupted:
        print(
            f"reviewbot: interrupted: {len(outcome.runs)} of {outcome.planned} case runs done "
            "(the report covers those)",
            file=sys.stderr,
        )
        return 130
    return 0


def _settings(
    config: Any, args: argparse.Namespace, judge: str | None, sample: Path | None
) -> dict[str, Any]:
    """What the run used, for the report and `--compare`: every Config field but the key."""
    out: dict[str, Any] = {}
    for f in fields(config):
        if f.name == "api_key":
            continue
        value = getattr(config, f.name)
        out[f.name] = str(value) if isinstance(value, Path) else value
    digest = hashlib.sha256(args.cases.read_bytes()).hexdigest()[:12]
    return out | {
        "cases": str(args.cases),
        "cases_sha256": digest,
        "tolerance": args.tolerance,
        "judge_model": judge,
        "runs": args.runs,
        "sample_response": str(sample) if sample is not None else None,
    }


def compare_command(paths: Sequence[Path], redact: Any) -> int:
    from reviewbot.evaluation.report import compare

    docs = []
    for p in paths:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read report {p}: {exc.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UsageError(f"{p} is not JSON: give reports written by --format json") from None
        if not isinstance(doc, dict) or "reviewbot_eval" not in doc:
            raise UsageError(f"{p} is not a `reviewbot eval run --format json` report")
        docs.append(doc)
    sa, sb = (d.get("settings", {}).get("cases_sha256") for d in docs)
    if sa != sb:
        print("reviewbot: note: the two reports ran different case files", file=sys.stderr)
    _write(None, compare(docs[0], docs[1], (str(paths[0]), str(paths[1]))), redact)
    return 0


def _progress() -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(
            f"\rreviewbot eval: {done}/{total} case runs done", end=end, file=sys.stderr, flush=True
        )

    return show


def write_text(output: Path | None, text: str) -> None:
    """To `output`, or stdout (the review command's writer, nothing to hide)."""
    from reviewbot.cli import _write

    _write(output, text, str)


def _write(output: Path | None, text: str, redact: Any) -> None:
    from reviewbot import cli

    cli._write(output, text, redact)


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def _positive(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return value
