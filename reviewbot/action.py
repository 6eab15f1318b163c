"""`reviewbot action`: the GitHub Action entry — event, gate, fetch, review, publish, report."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reviewbot.anchor import Comment
from reviewbot.config import Config, parse_bool, parse_config_file
from reviewbot.errors import ConfigError, LLMError, ReviewbotError, UsageError
from reviewbot.event import (
    FORK_POLICIES,
    PR_EVENTS,
    WRITE_PERMISSIONS,
    Ignore,
    Trigger,
    read_event,
)
from reviewbot.findings import fingerprint
from reviewbot.github import GitHubClient, PriorReview, PullInfo, ReviewRejected, marker
from reviewbot.redact import Redactor, url_secrets
from reviewbot.review import Model, ReviewResult

logger = logging.getLogger(__name__)

# Inputs the repository config file may also set (see _explicit for who wins).
CONFIG_INPUTS = (
    "model",
    "base_url",
    "max_comments",
    "include",
    "exclude",
    "reasoning_effort",
    "timeout_minutes",
)


@dataclass(frozen=True, slots=True)
class Inputs:
    """The action's inputs (INPUT_<NAME> variables), read once."""

    api_key: str = field(repr=False)
    github_token: str = field(repr=False)
    trigger_phrase: str
    config_path: str
    dry_run: bool
    fail_on_error: bool
    overrides: dict[str, Any]
    fork_prs: str = "members"

    def redactor(self) -> Redactor:
        """Hides the key, the token and a base_url password in everything the run writes."""
        base_url = str(self.overrides.get("base_url", ""))
        return Redactor([self.api_key, self.github_token, *url_secrets(base_url)])


@dataclass(slots=True)
class Outcome:
    """What the run did, for the outputs, the step summary and the exit code."""

    status: str
    message: str
    review_url: str = ""
    findings: int = 0
    inline_comments: int = 0
    summary_lines: list[str] = field(default_factory=list)


def read_inputs(env: Mapping[str, str]) -> Inputs:
    """Read INPUT_* variables; a hyphenated input name is a clear configuration error."""
    hyphenated = sorted(k for k in env if k.startswith("INPUT_") and "-" in k)
    if hyphenated:
        names = ", ".join(k.removeprefix("INPUT_").lower() for k in hyphenated)
        raise ConfigError(f"input names use underscores, not hyphens: {names}")

    def get(name: str, default: str = "") -> str:
        return env.get(f"INPUT_{name.upper()}", "").strip() or default

    overrides = _explicit(get)
    try:  # a bad input fails before any request is made
        Config().with_overrides(overrides)
    except ConfigError as exc:
        raise ConfigError(f"input {exc}") from None
    return Inputs(
        api_key=get("api_key"),
        github_token=get("github_token") or env.get("GITHUB_TOKEN", ""),
        trigger_phrase=get("trigger_phrase", "/review"),
        config_path=get("config", ".github/reviewbot.yml"),
        dry_run=parse_bool("dry_run", get("dry_run", "false")),
        fail_on_error=parse_bool("fail_on_error", get("fail_on_error", "true")),
        overrides=overrides,
        fork_prs=_fork_policy(get("fork_prs", "members")),
    )


def _fork_policy(value: str) -> str:
    if value.lower() not in FORK_POLICIES:
        allowed = ", ".join(FORK_POLICIES)
        raise ConfigError(f"input fork_prs must be one of {allowed}, not {value[:40]!r}")
    return value.lower()


def _explicit(get: Callable[[str], str]) -> dict[str, Any]:
    """Inputs that override the repository config: set, and not left at the built-in default.

    action.yml shows the defaults, so GitHub always passes a value; one equal to the default
    lets the base branch's config file decide.
    """
    defaults = Config()
    out: dict[str, Any] = {}
    for name in CONFIG_INPUTS:
        value = get(name)
        if not value:
            continue
        try:
            same = getattr(defaults.with_overrides({name: value}), name) == getattr(defaults, name)
        except ConfigError:
            same = False  # reported with the input's name when the config is built
        if not same:
            out[name] = value
    return out


def run_action(
    env: Mapping[str, str],
    make_github: Callable[[str, str, str], GitHubClient] | None = None,
    make_model: Callable[[Config], Model] | None = None,
) -> int:
    """Run the Action and return the exit code (factories let tests pace GitHub)."""
    report = Reporter(env)
    fail_on_error = True
    try:
        inputs = read_inputs(env)
        fail_on_error = inputs.fail_on_error
        for secret in {inputs.api_key, *url_secrets(str(inputs.overrides.get("base_url", "")))}:
            if secret:
                print(f"::add-mask::{secret}", flush=True)
        report.redact = inputs.redactor()
        report.redact.install()
        outcome = _run(env, inputs, make_github or _github, make_model or _model)
    except ReviewbotError as exc:
        text = str(exc)
        report.finish(Outcome("failed", text, summary_lines=[f"❌ {text}"]))
        if fail_on_error or isinstance(exc, UsageError):
            report.command("error", text)
            return exc.exit_code
        report.command("warning", f"{text} (fail_on_error is false)")
        return 0
    except Exception as exc:  # a bug: still one line, the outputs and the summary
        logger.exception("unexpected error")
        text = f"internal error ({type(exc).__name__}); the log has the details"
        report.finish(Outcome("failed", text, summary_lines=[f"❌ {text}"]))
        report.command("error", text)
        return 1
    report.finish(outcome)  # failures were raised above; what is left is news, not an error
    report.command("notice", outcome.message)
    return 0


def _github(token: str, repo: str, api_url: str) -> GitHubClient:
    return GitHubClient(token, repo, api_url)


def _model(config: Config) -> Model:
    from reviewbot.llm import client_for

    return client_for(config)


def _run(
    env: Mapping[str, str],
    inputs: Inputs,
    make_github: Callable[[str, str, str], GitHubClient],
    make_model: Callable[[Config], Model],
) -> Outcome:
    event_name = env.get("GITHUB_EVENT_NAME", "")
    payload = _payload(env)
    decision = read_event(
        event_name, payload, env.get("GITHUB_REPOSITORY", ""), inputs.trigger_phrase
    )
    if isinstance(decision, Ignore):
        return Outcome(
            "skipped", decision.reason, summary_lines=[f"Nothing to do: {decision.reason}."]
        )
    trigger = decision
    if trigger.event == "pull_request" and trigger.fork:
        why = (
            "this pull request comes from a fork: on `pull_request` GitHub gives fork runs a "
            "read-only token and no secrets, so reviewbot cannot review it. Use the "
            "`pull_request_target` example (examples/review-fork-prs.yml), which never checks "
            "out the fork's code."
        )
        return Outcome("skipped", why, summary_lines=[f"⚠️ Not reviewed: {why}"])
    allowed = FORK_POLICIES[inputs.fork_prs]
    if trigger.fork and allowed is not None and trigger.author_association not in allowed:
        author = (trigger.author_association or "unknown").lower()
        why = (
            f"a fork pull request whose author is {author} is not reviewed automatically "
            f"(fork_prs: {inputs.fork_prs}); someone with write access can comment "
            f"`{inputs.trigger_phrase}` to review it"
        )
        return Outcome("skipped", why, summary_lines=[f"Not reviewed: {why}."])
    if not inputs.api_key:
        raise UsageError(
            "the api_key input is empty: pass your key, e.g. api_key: ${{ secrets.AIMLAPI_KEY }}"
        )
    if not inputs.github_token:
        raise UsageError("the github_token input is empty")
    if not trigger.repo or "/" not in trigger.repo:
        raise UsageError("GITHUB_REPOSITORY is not set to owner/name")

    api_url = env.get("GITHUB_API_URL", "https://api.github.com")
    gh = make_github(inputs.github_token, trigger.repo, api_url)
    if trigger.comment_id is not None:
        permission = gh.permission(trigger.commenter or "")
        if permission not in WRITE_PERMISSIONS:
            who = trigger.commenter
            why = f"{who} asked for a review but has {permission} permission (write needed)"
            return Outcome("skipped", why, summary_lines=[f"Not reviewed: {why}."])
        gh.react(trigger.comment_id, "eyes")

    pr = gh.pull(trigger.pr_number)
    if pr.state == "closed":
        return Outcome(
            "skipped", f"#{pr.number} is closed", summary_lines=["The pull request is closed."]
        )
    priors = gh.prior_reviews(pr.number)
    if not trigger.full and any(p.head_sha == pr.head_sha for p in priors):
        why = (
            f"{pr.head_sha[:7]} was already reviewed; nothing new to post "
            f"(comment `{inputs.trigger_phrase} full` to review again)"
        )
        return Outcome("skipped", why, summary_lines=[why])
    config = _config(gh, pr, inputs)
    if pr.draft and trigger.event in PR_EVENTS and not config.review_drafts:
        why = f"#{pr.number} is a draft (set review_drafts: true in the config to review drafts)"
        return Outcome("skipped", why, summary_lines=[f"Not reviewed: {why}."])
    return _review(gh, pr, trigger, config, inputs, make_model(config), priors)


def _payload(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path:
        raise UsageError(
            "GITHUB_EVENT_PATH is not set: `reviewbot action` runs inside GitHub Actions"
        )
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the event payload {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"the event payload {path} is not a JSON object")
    return data


def _config(gh: GitHubClient, pr: PullInfo, inputs: Inputs) -> Config:
    """Defaults < the config file on the base branch (never the head) < explicit inputs."""
    config = Config()
    text = gh.config_file(inputs.config_path, pr.base_sha)
    if text is not None:
        config = config.with_overrides(
            parse_config_file(text, f"{inputs.config_path} ({pr.base_ref})")
        )
    try:
        return config.with_overrides({**inputs.overrides, "api_key": inputs.api_key})
    except ConfigError as exc:
        raise ConfigError(f"input {exc}") from None


def _review(
    gh: GitHubClient,
    pr: PullInfo,
    trigger: Trigger,
    config: Config,
    inputs: Inputs,
    model: Model,
    priors: list[PriorReview],
) -> Outcome:
    from reviewbot.diff import parse_diff
    from reviewbot.prompts import PullRequestText
    from reviewbot.review import prepare, run_review

    posted = frozenset().union(*(p.fingerprints for p in priors))

    fetched = gh.diff(pr.number)
    notes: list[str] = []
    if fetched.via_files_api:
        notes.append("GitHub could not send this diff whole; it was rebuilt from the files API.")
    source, anchor_on = fetched, None
    last = priors[-1].head_sha if priors else None
    if last and not trigger.full and last != pr.head_sha:
        since = gh.incremental_diff(last, pr.head_sha)
        if since.diff is None:
            notes.append(f"Full review: {since.why_full}.")
        else:
            notes.append(f"Incremental review: only the changes since {last[:7]}.")
            anchor_on = parse_diff(fetched.text)
            in_pr = {f.path for f in anchor_on} | {m.path for m in fetched.missing}
            missing = tuple(m for m in since.diff.missing if m.path in in_pr)
            source = replace(since.diff, missing=missing)
    prepared = prepare(source.text, config, PullRequestText(pr.title, pr.body), within=anchor_on)
    if source.missing:  # changed files GitHub could not send: a partial review, said so
        plan = replace(prepared.plan, not_reviewed=prepared.plan.not_reviewed + source.missing)
        prepared = replace(prepared, plan=plan)
    result = run_review(prepared, config, model, anchor_on=anchor_on)
    if result.status == "failed":
        raise LLMError(f"nothing was reviewed: {result.failure or 'no request succeeded'}")

    fresh_comments = tuple(c for c in result.comments if fingerprint(c.finding) not in posted)
    fresh_notes = tuple(n for n in result.notes if fingerprint(n.finding) not in posted)
    repeated = len(result.comments) + len(result.notes) - len(fresh_comments) - len(fresh_notes)
    if repeated:
        notes.append(f"{repeated} finding(s) already posted on an earlier commit are not repeated.")
    fresh_findings = tuple(f for f in result.findings if fingerprint(f) not in posted)
    result = replace(result, comments=fresh_comments, notes=fresh_notes, findings=fresh_findings)
    if result.status == "skipped" and not fresh_notes and not result.skipped:
        return Outcome(
            "skipped", "no reviewable changes", summary_lines=_summary(result, pr, notes, "")
        )
    # Every changed file skipped (generated, vendored, ...): a short review still says so,
    # so that nothing is left out without the PR's readers being told.

    # This head's findings first, then earlier ones, so a cap drops the oldest.
    fps = [fingerprint(f) for f in result.findings] + sorted(posted)
    url = _publish(gh, pr, result, config, notes, marker(pr.head_sha, fps), inputs)
    verb = "would post" if inputs.dry_run else "posted"
    message = f"{verb} a review of #{pr.number} with {len(result.comments)} inline comment(s)"
    return Outcome(
        status=result.status,
        message=message,
        review_url=url,
        findings=len(result.comments) + len(result.notes),
        inline_comments=len(result.comments),
        summary_lines=_summary(result, pr, notes, url),
    )


def _publish(
    gh: GitHubClient,
    pr: PullInfo,
    result: ReviewResult,
    config: Config,
    notes: list[str],
    mark: str,
    inputs: Inputs,
) -> str:
    from reviewbot import render
    from reviewbot.anchor import BodyNote

    redact = inputs.redactor()

    def body_of(r: ReviewResult) -> str:
        return redact(render.review_body(r, config.model, notes, mark))

    comments = [_comment_payload(c, redact) for c in result.comments]
    if inputs.dry_run:
        # Model and PR text must not be read as workflow commands (`::add-mask::`, ...).
        token = secrets.token_hex(16)
        print("::group::reviewbot dry run: the review that would be posted")
        print(f"::stop-commands::{token}")
        print(body_of(result))
        for c, payload in zip(result.comments, comments, strict=True):
            print(f"\n--- {c.path}:{c.line} ({c.side})\n{payload['body']}")
        print(f"::{token}::")
        print("::endgroup::", flush=True)
        return ""
    try:
        return gh.post_review(pr.number, pr.head_sha, body_of(result), comments)
    except ReviewRejected as exc:
        logger.warning("%s; posting the comments in the review body instead", exc)
        moved = tuple(
            BodyNote(c.finding, f"GitHub did not accept it inline: {exc}") for c in result.comments
        )
        fallback = replace(result, comments=(), notes=moved + result.notes)
        return gh.post_review(pr.number, pr.head_sha, body_of(fallback), [])


def _comment_payload(c: Comment, redact: Redactor) -> dict[str, Any]:
    from reviewbot import render

    payload: dict[str, Any] = {
        "path": c.path,
        "body": redact(render.comment_body(c)),
        "line": c.line,
        "side": c.side,
    }
    if c.start_line is not None:
        payload["start_line"] = c.start_line
        payload["start_side"] = c.side
    return payload


def _summary(result: ReviewResult, pr: PullInfo, notes: list[str], url: str) -> list[str]:
    from reviewbot import render

    u = result.usage
    lines = [
        f"### reviewbot: #{pr.number} at `{pr.head_sha[:7]}` — {result.status}",
        "",
        f"- Findings: {render.severity_counts(result.findings)} "
        f"({len(result.comments)} inline, {len(result.notes)} in the review body)",
        f"- Files reviewed: {result.files_reviewed}; not reviewed: {len(result.skipped)}",
        f"- Tokens: {u.input_tokens:,} in ({u.cached_tokens:,} cached), {u.output_tokens:,} out, "
        f"{u.requests} request(s)",
    ]
    if url:
        lines.append(f"- Review: {url}")
    lines += [f"- {n}" for n in notes]
    if result.skipped:
        lines += [
            "",
            "<details><summary>Not reviewed</summary>",
            "",
            *render.skipped_lines(result.skipped),
            "",
            "</details>",
        ]
    if result.problems:
        lines += ["", "Problems:", *[f"- {p}" for p in result.problems[:10]]]
    return lines


class Reporter:
    """Writes $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY and workflow commands, all redacted."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._output = env.get("GITHUB_OUTPUT", "")
        self._summary = env.get("GITHUB_STEP_SUMMARY", "")
        self.redact = Redactor()

    def command(self, kind: str, text: str) -> None:
        """`::error::`, `::warning::` or `::notice::` with one line of text."""
        line = " ".join(self.redact(text).split())
        print(f"::{kind}::reviewbot: {line}", flush=True)

    def finish(self, outcome: Outcome) -> None:
        outputs = {
            "status": outcome.status,
            "review_url": outcome.review_url,
            "findings": str(outcome.findings),
            "inline_comments": str(outcome.inline_comments),
        }
        if self._output:
            with open(self._output, "a", encoding="utf-8") as fh:
                for k, v in outputs.items():
                    fh.write(f"{k}={' '.join(self.redact(v).split())}\n")
        if self._summary:
            text = "\n".join(outcome.summary_lines or [f"reviewbot: {outcome.message}"])
            with open(self._summary, "a", encoding="utf-8") as fh:
                fh.write(self.redact(text)[:1_000_000] + "\n")
        message = self.redact(outcome.message)
        print(f"reviewbot: {outcome.status}: {message}", file=sys.stderr, flush=True)
