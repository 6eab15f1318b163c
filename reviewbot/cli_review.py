"""`reviewbot review`: where the diff comes from (a file, git, a pull request), agent mode's
snapshot, the model, and the review printed in the chosen format (cli.py parses arguments and
turns errors into a line)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewbot.cli import KEY_ENV, _in_actions, _write, cli_settings, say

if TYPE_CHECKING:
    from reviewbot.config import Config
    from reviewbot.localdiff import Source
    from reviewbot.review import Prepared, ReviewResult

logger = logging.getLogger("reviewbot")


def _local(args: argparse.Namespace, explicit: dict[str, Any], env: Mapping[str, str]) -> Source:
    """The settings (defaults, --config, then the flags) and a local diff with its files."""
    from reviewbot.config import Config, load_config_file
    from reviewbot.localdiff import local_source

    config = Config()
    if args.config:
        config = config.with_overrides(load_config_file(args.config))
    config = config.with_overrides(explicit)
    where = (args.diff, args.git, args.staged)
    return local_source(config, *where, args.title, args.description, env=env)


def review_command(args: argparse.Namespace, env: Mapping[str, str], redact: Any = str) -> int:
    """`reviewbot review`: the pipeline on a local diff or a pull request, printed instead of
    posted."""
    from reviewbot.errors import UsageError

    explicit = cli_settings(args, env)
    if not explicit["api_key"] and not args.dry_run and args.sample_response is None:
        raise UsageError(f"no API key: set {KEY_ENV} (or use --dry-run to see the prompts)")
    if args.sample_response is not None and not args.sample_response.is_file():
        raise UsageError(f"--sample-response: no such file: {args.sample_response}")
    if args.pr is not None:
        from reviewbot.remote import pull_source

        source = pull_source(args.pr, env, explicit, args.config)
    else:
        source = _local(args, explicit, env)
    config, agent = source.config, None
    if source.pull is None:  # local: the repository's objects (a --pr archive: when it is read)
        from reviewbot.agent.wiring import cli_agent

        agent, config, agent_note = cli_agent(source.config, source.repo, args.git)
        if agent_note:
            say(f"reviewbot: {agent_note}", redact)
    try:
        return _review(args, env, redact, source, config, agent)
    finally:
        if agent is not None:
            agent.snapshot.close()


def _review(
    args: argparse.Namespace,
    env: Mapping[str, str],
    redact: Any,
    source: Any,
    config: Config,
    agent: Any,
) -> int:
    """The review of `source`, in agent mode when `agent` is its snapshot (for a pull
    request, the archive is read here, once the plan is known to ask the model)."""
    from reviewbot.gather import prepare_from

    if args.sample_response is not None and config.verify:  # a saved answer checks nothing
        from dataclasses import replace

        config = replace(config, verify=False)
        say("reviewbot: verification is off with --sample-response", redact)
    try:
        prepared = prepare_from(
            source.repo, source.diff, config, source.text, missing=source.missing
        )
    finally:  # input that is not a diff raises NotADiff, a UsageError (exit 2)
        source.close()
    notes = [*source.notes, *prepared.notes]
    if prepared.guidance.names:
        notes.append(f"review guidance from the base: {', '.join(prepared.guidance.names)}")
    for note in notes:
        say(f"reviewbot: {note}", redact)
    if args.dry_run:
        from reviewbot.ledger import dry_run

        as_json = args.format == "json"
        text = dry_run(prepared, config, as_json)
        if config.context == "agent":  # and what agent mode adds: tools, the first request
            from reviewbot.agent.wiring import dry_run_agent

            text = dry_run_agent(text, prepared.requests, as_json)
        _write(args.output, text, redact, not as_json and _in_actions(env))
        return 0
    if source.pull is not None and config.context == "agent" and prepared.requests:
        from reviewbot.agent.wiring import pull_agent  # downloaded only when it will be read

        agent, config, agent_note = pull_agent(config, *source.pull)
        if agent_note:
            say(f"reviewbot: {agent_note}", redact)
    try:
        return _answer(args, env, redact, prepared, config, agent)
    finally:
        if agent is not None and source.pull is not None:
            agent.snapshot.close()


def _answer(
    args: argparse.Namespace,
    env: Mapping[str, str],
    redact: Any,
    prepared: Prepared,
    config: Config,
    agent: Any,
) -> int:
    """The model's review of `prepared`, printed in the chosen format; its exit code."""
    from reviewbot.review import run_review
    from reviewbot.verdict import gate, raise_failed, settle

    model = _model(config, args.sample_response)
    reports: list[Any] = []
    if agent is None:
        result = run_review(prepared, config, model, _progress())
    else:
        result, reports = agent.review(prepared, config, model, _progress())
    for problem in result.problems:  # for the reader of the log, not of the review
        logger.warning("%s", problem)
    result = settle(prepared, result, args.fail_on)
    if result.skipped:  # every format, so a gate's log says what it did not see
        from reviewbot.formats import not_reviewed_line

        say(not_reviewed_line(result.skipped), redact)
    if result.status == "failed":
        # JSON and SARIF say "failed" themselves; any other output would read as "no findings".
        if args.format in ("json", "sarif"):
            _write(args.output, _format(result, prepared, config, args.format), redact)
        raise_failed(result)
    human = args.format in ("markdown", "text")  # the others are data for another tool
    text = _format(result, prepared, config, args.format)
    if agent and args.format == "json":  # what each part's conversation did, gaps included
        from reviewbot.agent.wiring import report_json
        from reviewbot.formats import dumps

        text = dumps(json.loads(text) | {"agent": report_json(reports)})
    _write(args.output, text, redact, human and _in_actions(env))
    return gate(result, args.fail_on)


def _model(config: Config, sample: Path | None) -> Any:
    from dataclasses import replace

    from reviewbot.llm import client_for, replay_transport

    if sample is None:
        return client_for(config)
    say(f"reviewbot: no model is called: the saved response {sample} stands in for it.")
    return client_for(replace(config, api_key=config.api_key or "sample"), replay_transport(sample))


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\rreviewbot: {done}/{total} requests done", end=end, file=sys.stderr, flush=True)

    return show


def _format(result: ReviewResult, prepared: Prepared, config: Config, fmt: str) -> str:
    from reviewbot import formats

    if fmt in ("sarif", "rdjson", "text"):
        for p in formats.left_out(result):
            where = f"{p.path}:{p.line}" if p.path else "(no path)"
            title = p.finding.title
            say(f"reviewbot: left out of {fmt}: {where} {title!r} has no place in the new files")
    return formats.as_format(fmt, result, prepared, config.model)
