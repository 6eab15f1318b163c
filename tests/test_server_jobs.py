"""A job in one worker process: the Action's review flow with an App installation token, against
a fake GitHub (with the App endpoints) and a fake model on 127.0.0.1, limits in a real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from reviewbot.server.app import route
from reviewbot.server.appauth import AppAuth
from reviewbot.server.jobs import is_transient
from reviewbot.server.limits import Limits
from reviewbot.server.run import Busy, Job, Runner, Transient
from reviewbot.server.settings import Settings, read_settings
from tests import server_fakes as sf
from tests.conftest import FakeResponses, responses_body

# GitHubClient (reviewbot/github.py) has no close(): its PyGithub sessions' sockets are closed
# when the client is collected, which Python reports as a ResourceWarning.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
    "ignore:unclosed <socket.socket:ResourceWarning",
)
REPO = "Codertocat/Hello-World"
FINDING = {
    "path": "src/app.py",
    "line": 3,
    "start_line": None,
    "side": "RIGHT",
    "severity": "major",
    "title": "Division by zero on an empty list",
    "body": "`len(items)` is 0 for an empty list.",
    "suggestion": None,
}


redis_server = sf.redis_server  # one of this module's own


@pytest.fixture(scope="module")
def app_key() -> tuple[str, Any]:
    return sf.app_key()


class World:
    def __init__(self, redis_url: str, key: tuple[str, Any], tmp: Path) -> None:
        self.github = sf.FakeGitHub(key[1])
        self.model = FakeResponses(
            (200, {}, responses_body({"summary": "One issue.", "findings": [FINDING]}))
        )
        # The verification pass (verify: true, the default) keeps the finding.
        keep = {"verdicts": [{"id": 1, "verdict": "keep", "severity": None, "reason": "real"}]}
        self.model.by_content["finding_verdicts"] = (200, {}, responses_body(keep))
        key_file = tmp / "app.pem"
        key_file.write_text(key[0])
        self.env = sf.worker_env(redis_url, self.github, self.model.base_url, key_file)
        self.client = redis.Redis.from_url(redis_url)
        self.client.flushall()
        self.clock_offset = 0.0

    def settings(self, **env: str) -> Settings:
        return read_settings(self.env | env, worker=True)

    def runner(self, **env: str) -> Runner:
        s = self.settings(**env)
        auth = AppAuth(
            s.app_id, s.private_key, s.api_url, clock=lambda: time.time() + self.clock_offset
        )
        return Runner(s, Limits(self.client, s.lease_seconds), auth)

    def push(self, number: int, head: str, repo: str = REPO, installation: int = 1) -> Job:
        """GitHub's side of a push, and the job its webhook makes."""
        self.github.open_pull(repo, number, head)
        data = sf.payload(
            "pull_request.synchronize",
            repo=repo,
            number=number,
            head=head,
            installation=installation,
        )
        job = route("pull_request", f"d-{head}", data, self.settings())
        assert isinstance(job, Job)
        Limits(self.client, 3).set_head(repo, number, head)
        return job

    def close(self) -> None:
        self.github.close()
        self.model.close()
        self.client.close()


@pytest.fixture
def world(
    redis_server: sf.RedisServer, app_key: tuple[str, Any], tmp_path: Path
) -> Iterator[World]:
    w = World(redis_server.url, app_key, tmp_path)
    yield w
    w.close()


def test_job_posts_one_review_with_the_installation_token(world: World) -> None:
    job = world.push(2, "a" * 40)
    outcome = world.runner().run(job)
    assert outcome.status == "reviewed", outcome.message
    [review] = world.github.posted(REPO, 2)
    assert review["commit_id"] == "a" * 40
    assert sf.MARK in review["body"] and "Division by zero" in str(review)
    assert "POST /app/installations/1/access_tokens" in world.github.log
    assert "GET /app" in world.github.log  # the bot's identity: <slug>[bot]
    assert "GET /user" not in world.github.log  # not open to installation tokens
    assert world.github.refused == []
    # The model was asked with the deployment's key, and the head's diff.
    sent = world.model.seen[0][2].decode()
    assert "len(items)" in sent
    assert world.model.seen[0][1]["Authorization"] == "Bearer sk-test-not-a-real-key-1234567890"


def test_the_same_job_again_posts_nothing(world: World) -> None:
    job = world.push(2, "a" * 40)
    runner = world.runner()
    assert runner.run(job).status == "reviewed"
    again = runner.run(job)  # a redelivered or retried message
    assert again.status == "skipped" and "already reviewed" in again.message
    assert len(world.github.posted(REPO, 2)) == 1


def test_two_copies_at_once_one_waits_then_posts_nothing(world: World) -> None:
    job = world.push(3, "b" * 40)
    world.model.delay = 1.0
    runner, results = world.runner(), []

    def run() -> None:
        try:
            results.append(runner.run(job).status)
        except Busy:
            results.append("busy")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert sorted(results) == ["busy", "reviewed"]
    assert runner.run(job).status == "skipped"  # the busy one, when its turn comes
    assert len(world.github.posted(REPO, 3)) == 1


def test_a_newer_push_supersedes_a_queued_job(world: World) -> None:
    old = world.push(4, "c" * 40)
    new = world.push(4, "d" * 40)
    runner = world.runner()
    assert runner.run(old).status == "superseded"
    assert runner.run(new).status == "reviewed"
    assert [r["commit_id"] for r in world.github.posted(REPO, 4)] == ["d" * 40]


def test_the_job_checks_the_head_on_github_before_starting(world: World) -> None:
    job = world.push(5, "e" * 40)
    world.github.open_pull(REPO, 5, "f" * 40)  # pushed, and the webhook is not here yet
    outcome = world.runner().run(job)
    assert outcome.status == "superseded" and "fffffff" in outcome.message
    assert world.github.posted(REPO, 5) == [] and world.model.seen == []


def test_a_cached_token_near_its_end_is_replaced_before_a_job_uses_it(world: World) -> None:
    runner = world.runner()
    assert runner.run(world.push(6, "1" * 40)).status == "reviewed"
    assert runner.run(world.push(7, "2" * 40)).status == "reviewed"
    minted = world.github.log.count("POST /app/installations/1/access_tokens")
    assert minted == 1  # cached between jobs and requests
    world.clock_offset = 3600 - 60  # a minute left: less than the 2 minutes a token must have
    assert runner.run(world.push(8, "3" * 40)).status == "reviewed"
    # (with the clock moved, every new token too looks a minute from its end: more than one)
    assert world.github.log.count("POST /app/installations/1/access_tokens") > minted
    assert world.github.refused == []


def test_a_token_expiring_during_a_long_job_is_replaced_between_requests(world: World) -> None:
    """The model takes long; meanwhile the job's token reaches its end (and GitHub stops
    taking it): the review is posted with a new token, once, without a retry."""
    world.model.delay = 1.5
    job = world.push(9, "4" * 40)
    runner = world.runner()

    def expire_while_the_model_thinks() -> None:
        sf.wait_for(lambda: len(world.model.seen) == 1, 10, "the model call")
        world.github.revoke_all()
        world.clock_offset = 3600 - 60

    t = threading.Thread(target=expire_while_the_model_thinks)
    t.start()
    assert runner.run(job).status == "reviewed"
    t.join()
    assert len(world.github.posted(REPO, 9)) == 1
    assert world.github.refused == []  # no request went out with the dead token
    assert world.github.log.count("POST /app/installations/1/access_tokens") >= 2


def test_a_revoked_token_fails_the_job_transiently_and_the_retry_posts_once(
    world: World,
) -> None:
    world.model.delay = 1.0
    job = world.push(10, "5" * 40)
    runner = world.runner()

    def revoke() -> None:
        sf.wait_for(lambda: len(world.model.seen) == 1, 10, "the model call")
        world.github.revoke_all()  # GitHub ends it early (the clock says it has an hour)

    t = threading.Thread(target=revoke)
    t.start()
    with pytest.raises(Transient, match="401"):
        runner.run(job)
    t.join()
    assert world.github.posted(REPO, 10) == [] and world.github.refused
    assert is_transient(Transient("x"))  # so the queue retries it, with backoff
    assert runner.run(job).status == "reviewed"  # the retry: a new token
    assert len(world.github.posted(REPO, 10)) == 1


def test_installation_over_its_daily_budget_is_skipped_with_one_notice(world: World) -> None:
    runner = world.runner(REVIEWBOT_MAX_DAILY_TOKENS="100")
    assert runner.run(world.push(18, "5" * 40)).status == "reviewed"  # 120+ tokens: now over
    asked = len(world.model.seen)
    first = runner.run(world.push(11, "6" * 40))
    assert first.status == "skipped" and "daily budget of 100" in first.message
    second = runner.run(world.push(11, "7" * 40))
    assert second.status == "skipped"
    assert world.github.posted(REPO, 11) == []
    [notice] = world.github.comments[(REPO, 11)]  # said once on the PR, not on every push
    assert "max_daily_tokens" in notice["body"]
    assert len(world.model.seen) == asked  # no model call past the budget
    # Another installation has its own budget.
    other = world.push(12, "8" * 40, installation=2)
    assert runner.run(other).status == "reviewed"


def test_installation_concurrency_is_shared_across_runners(world: World) -> None:
    world.model.delay = 1.0
    env = {"REVIEWBOT_INSTALLATION_CONCURRENCY": "1"}
    a, b = world.runner(**env), world.runner(**env)  # two worker processes' runners
    first, second = world.push(13, "9" * 40), world.push(14, "a1" * 20)
    done: list[str] = []
    t = threading.Thread(target=lambda: done.append(a.run(first).status))
    t.start()
    time.sleep(0.3)
    with pytest.raises(Busy, match="most jobs at once"):
        b.run(second)
    t.join()
    assert done == ["reviewed"]
    assert b.run(second).status == "reviewed"


def test_writes_are_paced_per_installation_across_runners(world: World) -> None:
    limits = Limits(world.client, 3)
    waits = [limits.write_wait(1, 60) for _ in range(3)]
    assert waits[0] == 0.0 and 0.9 < waits[1] <= 1.0 and 1.9 < waits[2] <= 2.0
    assert limits.write_wait(2, 60) == 0.0  # another installation has its own pace


def comment_job(world: World, event: str, data: dict[str, Any]) -> Job:
    job = route(event, "d-comment", data, world.settings())
    assert isinstance(job, Job), job
    return job


def test_a_review_command_from_a_writer_runs_the_review_with_a_reaction(world: World) -> None:
    world.github.open_pull(REPO, 1, "c1" * 20)
    data = sf.payload("issue_comment.created")
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    data["comment"]["body"] = "/review"
    outcome = world.runner().run(comment_job(world, "issue_comment", data))
    assert outcome.status == "reviewed", outcome.message
    assert [r["commit_id"] for r in world.github.posted(REPO, 1)] == ["c1" * 20]
    assert world.github.reactions == [f"{data['comment']['id']}:eyes"]


def test_a_reply_in_the_bots_thread_on_a_fork_is_answered(world: World) -> None:
    """Actions cannot answer on a fork's PR (read-only token); the App's token can."""
    world.github.open_pull(REPO, 2, "c2" * 20)
    world.github.thread(77, "Division by zero.\n<!-- reviewbot:v1 comment fp=0123456789ab -->")
    data = sf.payload("pull_request_review_comment.created", fork_owner="contributor")
    data["comment"]["in_reply_to_id"] = 77
    reply = {"reply": "Yes: guard the empty list first.", "suggestion": None}
    world.model.queue.append((200, {}, responses_body(reply)))
    outcome = world.runner().run(comment_job(world, "pull_request_review_comment", data))
    assert outcome.status == "reviewed", outcome.message
    [posted] = world.github.replies
    assert posted["in_reply_to_id"] == 77 and "guard the empty list" in posted["body"]


def test_a_reply_in_someone_elses_thread_is_not_answered(world: World) -> None:
    world.github.open_pull(REPO, 2, "c3" * 20)
    world.github.thread(78, "I think so.", author="octocat")
    data = sf.payload("pull_request_review_comment.created")
    data["comment"]["in_reply_to_id"] = 78
    outcome = world.runner().run(comment_job(world, "pull_request_review_comment", data))
    assert outcome.status == "skipped" and "did not start" in outcome.message
    assert world.github.replies == [] and world.model.seen == []


def test_a_job_that_fails_for_good_says_so_on_the_pr_once(world: World) -> None:
    from reviewbot.errors import ConfigError

    world.github.configs[REPO] = "max_comments: lots\n"
    runner = world.runner()
    with pytest.raises(ConfigError, match="max_comments"):
        runner.run(world.push(16, "d1" * 20))
    with pytest.raises(ConfigError):
        runner.run(world.push(16, "d2" * 20))
    [notice] = world.github.comments[(REPO, 16)]
    assert "could not finish" in notice["body"] and "max_comments" in notice["body"]
    assert world.github.posted(REPO, 16) == [] and world.model.seen == []
    # its last line is its own delivery's: after a failed POST, only this notice counts as
    # landed, never the same words posted on an earlier day
    assert notice["body"].rstrip().endswith("notice delivery=d-" + "d1" * 20 + " -->")


def test_the_deployments_defaults_apply_under_the_repositorys_config(
    world: World, tmp_path: Path
) -> None:
    defaults = tmp_path / "defaults.yml"
    defaults.write_text("walkthrough: false\ntimeout_minutes: 90\n")
    world.github.configs[REPO] = "max_comments: 3\n"
    runner = world.runner(REVIEWBOT_DEFAULTS_FILE=str(defaults))
    assert runner.run(world.push(17, "d3" * 20)).status == "reviewed"
    assert (REPO, 17) not in world.github.comments  # walkthrough: false from the defaults
    merged = runner._config_text("max_comments: 3\n") or ""
    assert "timeout_minutes: 20" in merged and "max_comments: 3" in merged  # capped


def test_a_repository_cannot_lift_the_servers_time_cap_nor_break_the_defaults(
    world: World, tmp_path: Path
) -> None:
    from reviewbot.config import resolve

    defaults = tmp_path / "defaults.yml"
    defaults.write_text("prices:\n  m: {input: 1, output: 2}\ninclude: ['src/**']\n")
    runner = world.runner(REVIEWBOT_DEFAULTS_FILE=str(defaults))
    merged = runner._config_text("timeout-minutes: 600\n")  # the spelling config files allow
    config = resolve(merged, "merged", {})
    assert config.timeout_minutes == 20 and config.include == ("src/**",)
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    assert runner._config_text(bomb) == bomb  # left to resolve(), which refuses it by name


def _archive(files: dict[str, str]) -> bytes:
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(f"Codertocat-Hello-World-abc1234/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return gzip.compress(raw.getvalue())


def test_agent_mode_on_the_app_server_reads_the_archive_without_the_token(world: World) -> None:
    world.github.configs[REPO] = "context: agent\n"
    world.github.archives[REPO] = _archive({"src/app.py": "def total(items):\n    return 0\n"})
    head = "a9" * 20
    assert world.runner().run(world.push(21, head)).status == "reviewed"
    assert f"GET /repos/{REPO}/tarball/{head}" in world.github.log
    assert world.github.codeload == [""]  # the installation token stayed with the API
    review, *_ = [body for _, _, body in world.model.seen]
    assert b'"name": "read_file"' in review or b'"name":"read_file"' in review
    [posted] = world.github.posted(REPO, 21)
    assert "Agent mode" not in posted["body"]  # no fallback: the snapshot was read


def test_agent_mode_on_the_app_server_without_an_archive_says_so(world: World) -> None:
    world.github.configs[REPO] = "context: agent\n"  # and no archive: GitHub answers 404
    assert world.runner().run(world.push(22, "b8" * 20)).status == "reviewed"
    [posted] = world.github.posted(REPO, 22)
    assert "Agent mode: the code archive was not available" in posted["body"]
    assert all(b'"tools"' not in body for _, _, body in world.model.seen)
