"""`reviewbot action`: the GitHub Actions adapter — inputs, the gate in order, workflow
commands, outputs and the step summary file (reviewbot.reporter). It chooses the run's
publisher (a dry run shows instead of posting); the flows are pr_flow's and conversation's."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from reviewbot import gate
from reviewbot.config import Config, resolve
from reviewbot.conversation import answer_in_thread, who_may_talk
from reviewbot.errors import ReviewbotError, UsageError
from reviewbot.event import Ignore, Reply, read_event
from reviewbot.filters import content_decided
from reviewbot.inputs import Inputs, read_inputs, read_payload
from reviewbot.kinds import Status
from reviewbot.model import Model
from reviewbot.ours import Us
from reviewbot.outcome import Outcome
from reviewbot.pr_flow import IdentityChanged, review_pull_request
from reviewbot.publish import DryRunPublisher, GitHubPublisher
from reviewbot.pulls import GitHub
from reviewbot.redact import url_secrets, workflow_command
from reviewbot.reporter import Reporter, print_dry_run
from reviewbot.run import Run

logger = logging.getLogger(__name__)


def run_action(
    env: Mapping[str, str],
    make_github: Callable[[str, str, str], GitHub] | None = None,
    make_model: Callable[[Config, str], Model] | None = None,
) -> int:
    """Run the Action and return the exit code; outputs and summary are written on every path."""
    report = Reporter(env)
    try:
        inputs = read_inputs(env)
    except ReviewbotError as exc:
        return _failed(report, exc, fail_on_error=True)
    for secret in {inputs.api_key, *url_secrets(str(inputs.overrides.get("base_url", "")))}:
        for part in secret.splitlines():  # the log is masked line by line
            if part.strip():
                print(workflow_command("add-mask", part), flush=True)
    report.redact = inputs.redactor()
    with report.redact.active():  # this run's log records hide this run's secrets
        try:
            outcome = _run(env, inputs, make_github or _github, make_model or _model)
        except ReviewbotError as exc:
            return _failed(report, exc, inputs.fail_on_error)
        except Exception as exc:  # a bug: still one line, the outputs and the summary
            logger.exception("unexpected error")
            text = f"internal error ({type(exc).__name__}); the log has the details"
            report.finish(Outcome(Status.FAILED, text, lines=(f"❌ {text}",)))
            report.command("error", text)
            return 1
    report.finish(outcome)  # failures were raised above; what is left is news, not an error
    report.command("notice", outcome.message)
    if inputs.fail_on is not None:  # a merge gate: the review is posted, then the job fails
        if hidden := _hidden_by_content(outcome):
            report.command(
                "error",
                f"nothing was reviewed: every changed file was skipped, {len(hidden)} by what "
                f"the pull request's own content says (a generated-file header, very long "
                f"lines): {', '.join(hidden[:10])}{' …' if len(hidden) > 10 else ''}; "
                "list them under `include` (.github/reviewbot.yml or the include input) to "
                "have them reviewed",
            )
            return 1
        limit = inputs.fail_on.rank
        worst = [s for s in outcome.severities if s.rank <= limit]
        if worst:
            report.command("error", f"{len(worst)} finding(s) at or above {inputs.fail_on}")
            return 3
    return 0


def _hidden_by_content(outcome: Outcome) -> list[str]:
    """When nothing was reviewed: the files skipped by a rule the PR's content decides. A
    gate must not pass those (the PR could hide any file so); a PR of lock files or vendored
    paths only (path rules) still passes."""
    result = outcome.review.result if outcome.review is not None else None
    if result is None or result.files_reviewed:
        return []
    return [s.path for s in result.skipped if content_decided(s.reason)]


def _failed(report: Reporter, exc: ReviewbotError, fail_on_error: bool) -> int:
    report.finish(Outcome(Status.FAILED, str(exc), lines=(f"❌ {exc}",)))
    if fail_on_error or isinstance(exc, UsageError):
        report.command("error", str(exc))
        return exc.exit_code
    report.command("warning", f"{exc} (fail_on_error is false)")
    return 0


def _github(token: str, repo: str, api_url: str) -> GitHub:
    from reviewbot.github import GitHubClient

    return GitHubClient(token, repo, api_url)


def _model(config: Config, purpose: str) -> Model:
    from reviewbot.llm import client_for

    return client_for(config)  # the request carries its schema, whatever the purpose


def _run(
    env: Mapping[str, str],
    inputs: Inputs,
    make_github: Callable[[str, str, str], GitHub],
    make_model: Callable[[Config, str], Model],
) -> Outcome:
    """The gate in order (each GitHub read only when the previous answer was "go on"), then
    the review flow."""
    phrase = inputs.trigger_phrase
    trigger = read_event(
        env.get("GITHUB_EVENT_NAME", ""),
        read_payload(env),
        env.get("GITHUB_REPOSITORY", ""),
        phrase,
    )
    if isinstance(trigger, Ignore):
        return _skipped(gate.Skip(trigger.reason, f"Nothing to do: {trigger.reason}."))
    if isinstance(trigger, Reply):
        return _answer(env, inputs, trigger, make_github, make_model)
    if skip := gate.admit(trigger, inputs.fork_prs, phrase):
        return _skipped(skip)
    gh = _connect(env, inputs, trigger.repo, make_github)
    if trigger.comment_id is not None:
        if skip := gate.authorize(trigger, gh.permission(trigger.commenter or "")):
            return _skipped(skip)
        gh.react(trigger.comment_id, "eyes")
    pr = gh.pull(trigger.pr_number)
    if skip := gate.open_pull(pr):
        return _skipped(skip)
    listed = gh.reviews(pr.number)
    seen = [r.url for r in listed]  # a failed POST landed only if a new review is there
    # An installation token is assumed to write as the Actions bot; its reviews are trusted
    # for now, and the identity is confirmed before anything acts on them: with the history
    # read (in the flow, free), or on its own before skipping a head.
    priors = Us(gh, provisional=True).prior_reviews(listed)
    if gate.not_reviewed_yet(trigger, pr, priors, phrase):
        priors = Us(gh).prior_reviews(listed)
    if skip := gate.not_reviewed_yet(trigger, pr, priors, phrase):
        return _skipped(skip)
    config = _config(gh, inputs, pr.base_ref, pr.base_sha)
    decision = gate.decide(trigger, pr, priors, config)
    if isinstance(decision, gate.Skip):
        return _skipped(decision)
    model = make_model(decision.config, "review")
    try:
        return review_pull_request(_the_run(inputs, decision.config, gh, model), pr, decision, seen)
    except IdentityChanged as exc:  # reviews by the assumed identity are not ours after all
        logger.warning("%s: deciding again which reviews are ours", exc)
    priors = Us(gh).prior_reviews(listed)
    if skip := gate.not_reviewed_yet(trigger, pr, priors, phrase):
        return _skipped(skip)
    decision = gate.decide(trigger, pr, priors, config)
    if isinstance(decision, gate.Skip):
        return _skipped(decision)
    return review_pull_request(_the_run(inputs, decision.config, gh, model), pr, decision, seen)


def _answer(
    env: Mapping[str, str],
    inputs: Inputs,
    reply: Reply,
    make_github: Callable[[str, str, str], GitHub],
    make_model: Callable[[Config, str], Model],
) -> Outcome:
    """A reply in a review thread: the bot's own threads only, from whom `reply_to` allows."""
    if reply.fork:
        why = (
            "a reply on a fork's pull request: GitHub runs pull_request_review_comment for "
            "forks with a read-only token and no secrets, so reviewbot cannot answer there"
        )
        return _skipped(gate.Skip(why, f"⚠️ Not answered: {why}."))
    gh = _connect(env, inputs, reply.repo, make_github)
    if reply.commenter == gh.identity():  # a personal access token's own reply: no loop
        why = f"the reply is by {reply.commenter}, the account reviewbot writes as; no answer"
        return _skipped(gate.Skip(why, f"Not answered: {why}."))
    config = _config(gh, inputs, reply.base_ref, reply.base_sha)
    if skip := who_may_talk(reply, config, lambda: gh.permission(reply.commenter)):
        return _skipped(skip)
    model = make_model(config, "reply")
    return answer_in_thread(_the_run(inputs, config, gh, model), reply)


def _the_run(inputs: Inputs, config: Config, gh: GitHub, model: Model) -> Run:
    """What the flow needs, with its writes posted, or shown in the log for a dry run."""
    publisher = DryRunPublisher(print_dry_run) if inputs.dry_run else GitHubPublisher(gh)
    workspace = Path(inputs.workspace) if inputs.workspace else None
    return Run(config, gh, model, publisher, inputs.redactor(), workspace=workspace)


def _config(gh: GitHub, inputs: Inputs, base_ref: str, base_sha: str) -> Config:
    """The config file of the base branch (never the head), under the workflow's inputs."""
    text = gh.config_file(inputs.config_path, base_sha)
    source = f"{inputs.config_path} ({base_ref})"
    return resolve(text, source, {**inputs.overrides, "api_key": inputs.api_key})


def _connect(
    env: Mapping[str, str],
    inputs: Inputs,
    repo: str,
    make_github: Callable[[str, str, str], GitHub],
) -> GitHub:
    if not inputs.api_key:
        raise UsageError(
            "the api_key input is empty: pass your key, e.g. api_key: ${{ secrets.AIMLAPI_KEY }}"
        )
    if not inputs.github_token:
        raise UsageError(  # a docker:// step gets no defaults from action.yml
            "the github_token input is empty: pass github_token: ${{ github.token }}"
        )
    if not repo or "/" not in repo:
        raise UsageError("GITHUB_REPOSITORY is not set to owner/name")
    return make_github(
        inputs.github_token, repo, env.get("GITHUB_API_URL", "https://api.github.com")
    )


def _skipped(skip: gate.Skip) -> Outcome:
    return Outcome(Status.SKIPPED, skip.reason, lines=(skip.summary,))
