"""One job: a webhook's review or reply, run with the Action's flows under an installation token,
one at a time per pull request, within the installation's limits. No queue code here (jobs.py
has it): a job either finishes, raises Busy (run it later) or raises an error."""

from __future__ import annotations

import gc
import json
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import yaml

from reviewbot import action
from reviewbot.config import Config, explicit_settings, parse_config_file, raw_settings
from reviewbot.conversation import answer_in_thread, who_may_talk
from reviewbot.errors import ConfigError, GitHubError, ReviewbotError
from reviewbot.event import Reply, read_event
from reviewbot.inputs import Inputs
from reviewbot.markers import notice_marker
from reviewbot.model import Model, ModelReply, ModelRequest, Usage
from reviewbot.outcome import Outcome
from reviewbot.pulls import GitHub
from reviewbot.redact import Redactor
from reviewbot.server.appauth import AppAuth
from reviewbot.server.limits import Limits
from reviewbot.server.settings import Settings

logger = logging.getLogger(__name__)

CONFIG_PATH = ".github/reviewbot.yml"
# GitHub protocol methods that create or change something: paced per installation.
WRITES = frozenset(
    {
        "post_review",
        "post_reply",
        "post_comment",
        "edit_comment",
        "delete_comment",
        "react",
        "resolve_thread",
    }
)


@dataclass(frozen=True, slots=True)
class Job:
    """What a webhook asks for; `head_sha` is empty when the event names no head (a comment)."""

    delivery: str
    event: str
    installation: int
    repo: str
    number: int
    head_sha: str
    payload: dict[str, Any] = field(repr=False)

    def message(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> Job:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True, slots=True)
class Done:
    """How a job ended: the flow's status (reviewed, partial, skipped), or `superseded`."""

    status: str
    message: str


class Busy(Exception):
    """The pull request or the installation's places are taken: run the job a bit later."""


class Transient(Exception):
    """A failure that waiting may cure (GitHub 5xx or 429, a token GitHub no longer takes)."""


MakeGitHub = Callable[["_Tokens", str, str, str], GitHub]  # tokens, repo, api_url, bot login
MakeModel = Callable[[Config, str], Model]


class Runner:
    """Runs jobs in one worker process (one at a time: the redactor is process-wide)."""

    def __init__(
        self,
        settings: Settings,
        limits: Limits,
        auth: AppAuth,
        make_github: MakeGitHub | None = None,
        make_model: MakeModel | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._s = settings
        self._limits = limits
        self._auth = auth
        self._make_github = make_github or _github
        self._make_model = make_model or action._model
        self._sleep = sleep
        self._defaults: dict[str, Any] = {}
        if settings.defaults_file:
            text = Path(settings.defaults_file).read_text(encoding="utf-8")
            self._defaults = raw_settings(text, settings.defaults_file)

    def run(self, job: Job) -> Done:
        """Run the job; Busy when it must wait its turn, Transient when worth retrying."""
        if job.head_sha and self._superseded(job, self._limits.head(job.repo, job.number)):
            return _superseded(job)
        slot = self._limits.slot(job.installation, self._s.installation_concurrency)
        if slot is None:
            raise Busy(f"installation {job.installation} runs its most jobs at once")
        try:
            with slot:
                lock = self._limits.pull_lock(job.repo, job.number)
                if lock is None:
                    raise Busy(f"{job.repo}#{job.number} is being reviewed by another job")
                with lock:
                    return self._locked(job)
        finally:
            # GitHubClient has no close(): collect the job's clients now, so that a worker
            # that runs jobs for days does not keep their sockets open until a GC comes.
            gc.collect()

    def _superseded(self, job: Job, newest: str | None) -> bool:
        return newest is not None and newest != job.head_sha

    def _locked(self, job: Job) -> Done:
        try:
            token = self._auth.token(job.installation)
            bot = self._auth.bot_login()
        except GitHubError as exc:
            raise _classify(exc, self._auth, job) from exc
        redact = Redactor([*self._s.secrets(), token])
        redact.install()  # per job: the root logger's filter is process-wide (one job at a time)
        tokens = _Tokens(self._auth, job.installation)
        inner = self._make_github(tokens, job.repo, self._s.api_url, bot)
        gh = cast(GitHub, _AppGitHub(inner, self._pace(job), self._config_text))
        try:
            if job.head_sha:  # the PR's head as GitHub sees it now: a newer push wins
                current = gh.pull(job.number).head_sha
                if current != job.head_sha:
                    return _superseded(job, current)
            if skip := self._over_budget(job, gh):
                return skip
            outcome = self._flow(job, gh, token)
            if isinstance(outcome, Done):
                return outcome
            return Done(str(outcome.status), outcome.message)
        except GitHubError as exc:
            failure = _classify(exc, self._auth, job)
            if failure is exc:
                self._tell_failure(job, gh, str(exc), redact)
                raise
            raise failure from exc
        except ReviewbotError as exc:  # a bad config file, the model failing for good
            self._tell_failure(job, gh, str(exc), redact)
            raise

    def _tell_failure(self, job: Job, gh: GitHub, why: str, redact: Redactor) -> None:
        """An App run has no step summary: a job that fails for good says so on the PR, once
        a day per pull request (best effort: GitHub may be what failed)."""
        if not self._limits.first_notice(f"failed:{job.repo}#{job.number}"):
            return
        text = redact(" ".join(why.split()))[:1000]
        try:
            gh.post_comment(
                job.number, _notice(job, f"reviewbot could not finish its work here: {text}")
            )
        except ReviewbotError as exc:
            logger.warning("could not tell #%s about the failure: %s", job.number, exc)

    def _flow(self, job: Job, gh: GitHub, token: str) -> Outcome | Done:
        """The Action's own flows, with this job's token, key and event."""
        inputs = Inputs(
            api_key=self._s.api_key,
            github_token=token,
            trigger_phrase=self._s.trigger_phrase,
            config_path=CONFIG_PATH,
            dry_run=False,
            fail_on_error=True,
            overrides=explicit_settings(self._s.overrides),
            fork_prs=self._s.fork_prs,
        )

        def model(config: Config, purpose: str) -> Model:
            return _Metered(self._make_model(config, purpose), self._limits, job.installation)

        # An App's token may write on a fork's pull request (Actions' `pull_request` token may
        # not): every pull_request event runs as pull_request_target does, from the base branch.
        name = "pull_request_target" if job.event == "pull_request" else job.event
        trigger = read_event(name, job.payload, job.repo, inputs.trigger_phrase)
        if isinstance(trigger, Reply):
            return self._answer(gh, inputs, trigger, model)
        with tempfile.TemporaryDirectory(prefix="reviewbot-job-") as tmp:
            event_path = Path(tmp) / "event.json"
            event_path.write_text(json.dumps(job.payload), encoding="utf-8")
            env = {
                "GITHUB_EVENT_NAME": name,
                "GITHUB_EVENT_PATH": str(event_path),
                "GITHUB_REPOSITORY": job.repo,
                "GITHUB_API_URL": self._s.api_url,
            }
            return action._run(env, inputs, lambda *_: gh, model)

    def _answer(
        self, gh: GitHub, inputs: Inputs, reply: Reply, make_model: MakeModel
    ) -> Outcome | Done:
        """A reply in one of the bot's threads (forks too: the App's token may answer there)."""
        config = action._config(gh, inputs, reply.base_ref, reply.base_sha)
        if skip := who_may_talk(reply, config, lambda: gh.permission(reply.commenter)):
            return Done("skipped", skip.reason)
        model = make_model(config, "reply")
        return answer_in_thread(action._the_run(inputs, config, gh, model), reply)

    def _over_budget(self, job: Job, gh: GitHub) -> Done | None:
        """Past the installation's daily tokens: no review; one notice on the PR per day."""
        cap = self._s.max_daily_tokens
        if not cap or self._limits.tokens_today(job.installation) < cap:
            return None
        why = (
            f"this installation has used its daily budget of {cap:,} model tokens "
            "(max_daily_tokens); reviews resume after 00:00 UTC"
        )
        if self._limits.first_notice(f"{job.repo}#{job.number}"):
            gh.post_comment(
                job.number, _notice(job, f"reviewbot did not review this pull request: {why}.")
            )
        return Done("skipped", why)

    def _pace(self, job: Job) -> Callable[[], None]:
        def wait() -> None:
            self._sleep(self._limits.write_wait(job.installation, self._s.writes_per_minute))

        return wait

    def _config_text(self, text: str | None) -> str | None:
        """The repository's config over the deployment's defaults; timeout_minutes capped at
        the server's, so that a job's model deadline comes before its hard time limit."""
        if not self._defaults and text is None:
            return None
        try:  # checked as resolve() checks it (YAML bombs refused), `timeout-minutes` too
            own = raw_settings(text, "the config") if text is not None else {}
        except ConfigError:
            return text  # resolve() reports it, naming the file
        merged = {**self._defaults, **own}
        cap = self._s.timeout_minutes
        try:
            if float(merged.get("timeout_minutes", cap)) > cap:
                merged["timeout_minutes"] = cap
        except (TypeError, ValueError):
            pass  # resolve() names the bad value
        return yaml.safe_dump(merged, sort_keys=False)


def _notice(job: Job, text: str) -> str:
    """A notice on the PR, ending with a line of its own job: after a POST that failed,
    GitHub is asked whether a comment of ours ends so (github_writes.post_comment), and the
    same notice from an earlier day must not pass for this one."""
    return f"{text}\n\n{notice_marker(job.delivery)}"


def _superseded(job: Job, current: str | None = None) -> Done:
    why = f"{job.head_sha[:7]} was superseded by a newer push" + (
        f" ({current[:7]})" if current else ""
    )
    return Done("superseded", why)


def _classify(exc: GitHubError, auth: AppAuth, job: Job) -> Exception:
    """A GitHub failure as the queue should see it: worth a retry, or final."""
    if exc.status == 401:  # the token expired or was revoked: the retry gets a new one
        auth.forget(job.installation)
        return Transient(str(exc))
    if exc.status is None or exc.status == 429 or exc.status >= 500:
        return Transient(str(exc))
    return exc


class _AppGitHub:
    """The job's GitHub: writes paced per installation across workers, and the config file
    read over the deployment's defaults. Everything else is the adapter's own."""

    def __init__(
        self,
        inner: GitHub,
        pace: Callable[[], None],
        config_text: Callable[[str | None], str | None],
    ) -> None:
        self._inner = inner
        self._pace = pace
        self._config_text = config_text

    def config_file(self, path: str, ref: str) -> str | None:
        return self._config_text(self._inner.config_file(path, ref))

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in WRITES:
            return attr

        def paced(*args: Any, **kwargs: Any) -> Any:
            self._pace()
            return attr(*args, **kwargs)

        return paced


class _Metered:
    """The model, with every reply's tokens counted against the installation's day."""

    def __init__(self, inner: Model, limits: Limits, installation: int) -> None:
        self._inner = inner
        self._limits = limits
        self._installation = installation

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
        deadline: float | None = None,
    ) -> list[ModelReply]:
        replies = self._inner.run(requests, on_done, deadline)
        used = sum((r.usage for r in replies), Usage())
        self._limits.spend(self._installation, used.input_tokens + used.output_tokens)
        self._limits.count("tokens", "input", used.input_tokens)
        self._limits.count("tokens", "output", used.output_tokens)
        return replies


def _github(tokens: _Tokens, repo: str, api_url: str, login: str) -> GitHub:
    from reviewbot.github import GitHubClient

    # Writes are paced per installation by the job (across workers), not per client.
    return GitHubClient.with_token_provider(tokens, repo, login, api_url, write_pause=0.0)


class _Tokens:
    """The job's installation token, asked before every GitHub request: replaced when it has
    less than appauth.MARGIN left, so a long job never sends an expired one."""

    def __init__(self, auth: AppAuth, installation: int) -> None:
        self._auth = auth
        self._installation = installation

    def token(self) -> str:
        return self._auth.token(self._installation)


def check_defaults(path: str) -> None:
    """The defaults file parses as a reviewbot.yml (a ConfigError names what is wrong)."""
    try:
        parse_config_file(Path(path).read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read REVIEWBOT_DEFAULTS_FILE {path}: {exc}") from None
