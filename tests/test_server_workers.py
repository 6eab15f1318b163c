"""The whole App server: signed webhooks to the real ASGI app, `reviewbot worker` processes on
Dramatiq with a real redis-server, a fake GitHub (App endpoints too) and a fake model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewbot.server.app import route
from reviewbot.server.jobs import Queue
from reviewbot.server.run import Job
from reviewbot.server.settings import read_settings
from tests import server_fakes as sf
from tests.conftest import FakeResponses, responses_body
from tests.test_server import Server

pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
    "ignore:unclosed <socket.socket:ResourceWarning",
)
REPO = "Codertocat/Hello-World"


class Deployment:
    """Redis, the fake GitHub and model, the webhook app; workers started by each test."""

    def __init__(self, tmp: Path) -> None:
        self.redis = sf.RedisServer()
        pem, public = sf.app_key()
        key_file = tmp / "app.pem"
        key_file.write_text(pem)
        self.github = sf.FakeGitHub(public)
        self.model = FakeResponses((200, {}, responses_body({"summary": "Fine.", "findings": []})))
        self.env = sf.worker_env(self.redis.url, self.github, self.model.base_url, key_file)
        settings = read_settings(self.env)
        self.server = Server(settings)
        self.workers: list[sf.Workers] = []
        self.tmp = tmp

    def start_workers(self, processes: int = 1) -> sf.Workers:
        w = sf.Workers(self.env, processes, self.tmp / f"worker-{len(self.workers)}.log")
        self.workers.append(w)
        return w

    def push(self, number: int, head: str, delivery: str | None = None) -> int:
        self.github.open_pull(REPO, number, head)
        data = sf.payload("pull_request.synchronize", number=number, head=head)
        body = json.dumps(data).encode()
        status, _ = self.server.post(
            "pull_request", body, sf.webhook_headers("pull_request", body, delivery)
        )
        return status

    def drained(self) -> bool:
        d = self.server.depth()
        return d["unfinished"] == 0 and d["delayed"] == 0

    def logs(self) -> str:
        return "\n".join(w.output() for w in self.workers)

    def close(self) -> None:
        for w in self.workers:
            w.kill()  # quicker than a graceful stop; Redis and the fakes go with the test
            w.close()
        self.server.client.close()
        self.github.close()
        self.model.close()
        self.redis.close()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    d = Deployment(tmp_path)
    yield d
    d.close()


def commits(d: Deployment, number: int) -> list[str]:
    return [r["commit_id"] for r in d.github.posted(REPO, number)]


def test_a_webhook_becomes_one_review_through_a_worker(deployment: Deployment) -> None:
    d = deployment
    d.start_workers(1)
    assert d.push(2, "a" * 40, delivery="d-1") == 202
    sf.wait_for(lambda: len(commits(d, 2)) == 1, 30, "the review")
    # The same job twice more in the queue (a retried or duplicated message): nothing new.
    queue = Queue(read_settings(d.env))
    data = sf.payload("pull_request.synchronize", number=2, head="a" * 40)
    again = route("pull_request", "d-1", data, read_settings(d.env))
    assert isinstance(again, Job)
    queue.send(again)
    queue.send(again)
    sf.wait_for(d.drained, 30, "the queue to drain")
    assert commits(d, 2) == ["a" * 40]
    counts = d.server.limits.counts("jobs")
    assert counts.get("reviewed") == 1 and counts.get("skipped") == 2
    assert sf.SECRET not in d.logs() and "sk-test-not-a-real-key" not in d.logs()
    assert not any(t in d.logs() for t in d.github.tokens)


def test_a_burst_of_20_pushes_reviews_at_most_two_heads_and_the_last(
    deployment: Deployment,
) -> None:
    d = deployment
    d.model.delay = 0.5
    d.start_workers(2)
    heads = [f"{i:040x}" for i in range(1, 21)]
    for head in heads:
        assert d.push(5, head) == 202
    sf.wait_for(lambda: heads[-1] in commits(d, 5), 60, "the last head's review")
    sf.wait_for(d.drained, 30, "the queue to drain")
    reviewed = commits(d, 5)
    assert 1 <= len(reviewed) <= 2 and reviewed[-1] == heads[-1]
    assert d.server.limits.counts("jobs").get("superseded", 0) >= 18


def test_a_worker_killed_mid_review_leaves_the_job_to_another_once(
    deployment: Deployment,
) -> None:
    d = deployment
    d.model.delay = 60.0  # the first worker is stuck in the model call when it dies
    first = d.start_workers(1)
    assert d.push(3, "b" * 40) == 202
    sf.wait_for(lambda: len(d.model.seen) == 1, 30, "the first worker's model call")
    first.kill()
    d.model.delay = 0.0
    d.model.release.set()
    d.start_workers(1)
    sf.wait_for(lambda: len(commits(d, 3)) == 1, 60, "the review by the second worker")
    sf.wait_for(d.drained, 30, "the queue to drain")
    assert commits(d, 3) == ["b" * 40]
    assert len(d.model.seen) == 2  # the job ran again from the start, and posted once


def test_redis_restarting_mid_run_loses_no_job(deployment: Deployment) -> None:
    d = deployment
    d.model.delay = 1.0
    d.start_workers(1)
    for n in (11, 12, 13):
        assert d.push(n, f"{n:040x}") == 202
    sf.wait_for(lambda: len(d.model.seen) >= 1, 30, "the first job's model call")
    d.redis.restart(down_for=0.5)
    d.server.client.connection_pool.disconnect()
    sf.wait_for(lambda: all(len(commits(d, n)) == 1 for n in (11, 12, 13)), 90, "every PR's review")
    sf.wait_for(d.drained, 60, "the queue to drain")
    assert all(commits(d, n) == [f"{n:040x}"] for n in (11, 12, 13))


def test_reviewbot_serve_on_uvicorn_takes_a_webhook_a_worker_reviews(
    deployment: Deployment,
) -> None:
    import subprocess
    import sys
    import time

    import httpx

    d = deployment
    port = sf.free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "reviewbot", "serve", "--port", str(port)],
        env=d.env,
        cwd=sf.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).json() == {"ok": True}
            except httpx.HTTPError:
                return False

        sf.wait_for(up, 30, "reviewbot serve")
        d.github.open_pull(REPO, 21, "f" * 40)
        body = json.dumps(sf.payload("pull_request.opened", number=21, head="f" * 40)).encode()
        r = httpx.post(
            f"{url}/webhook", content=body, headers=sf.webhook_headers("pull_request", body)
        )
        assert r.status_code == 202, r.text
        d.start_workers(1)
        sf.wait_for(lambda: commits(d, 21) == ["f" * 40], 30, "the review")
        assert "reviewbot_jobs_total" in httpx.get(f"{url}/metrics").text
        time.sleep(0.2)
    finally:
        serve.terminate()
        _, err = serve.communicate(timeout=15)
    assert sf.SECRET not in err.decode() and "PRIVATE KEY" not in err.decode()


def test_serve_and_worker_help_document_every_setting() -> None:
    from reviewbot.server.settings import SETTINGS
    from tests.conftest import run_cli

    for command, option in (("serve", "--port"), ("worker", "--processes")):
        out = run_cli(command, "--help").stdout
        missing = [name for name, _, _ in SETTINGS if name not in out]
        if command == "worker":
            missing = [m for m in missing if m != "REVIEWBOT_MAX_BODY_BYTES"]
        assert missing == [] and option in out, command
    bad = run_cli("worker")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "REVIEWBOT_APP_ID" in bad.stderr
