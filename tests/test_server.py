"""`reviewbot serve`'s webhook app: the real ASGI app (httpx's ASGI transport), a real
redis-server and the real Dramatiq queue; payloads are GitHub's published examples."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from reviewbot.server.app import create_app, queue_depth
from reviewbot.server.jobs import NAMESPACE, QUEUE, Queue
from reviewbot.server.limits import Limits
from reviewbot.server.run import Job
from reviewbot.server.settings import Settings, read_settings
from tests import server_fakes as sf

redis_server = sf.redis_server  # one of this module's own


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pem, _ = sf.app_key()
    path = tmp_path_factory.mktemp("app") / "app.pem"
    path.write_text(pem)
    return path


def settings_for(url: str, key_file: Path, **env: str) -> Settings:
    base = {
        "REVIEWBOT_APP_ID": sf.APP_ID,
        "REVIEWBOT_APP_PRIVATE_KEY_FILE": str(key_file),
        "REVIEWBOT_WEBHOOK_SECRET": sf.SECRET,
        "REVIEWBOT_REDIS_URL": url,
    }
    return read_settings(base | env)


class Server:
    """The app with its queue; `post` sends one delivery and returns (status, JSON)."""

    def __init__(self, settings: Settings) -> None:
        self.client = redis.Redis.from_url(settings.redis_url)
        self.client.flushall()
        self.queue = Queue(settings)
        self.limits = Limits(self.client, settings.lease_seconds)
        self.depth = queue_depth(self.client, NAMESPACE, QUEUE)
        self.app = create_app(settings, self.limits, self.queue.send, self.depth)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(go())

    def post(
        self, event: str, data: dict[str, Any] | bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        sent = sf.webhook_headers(event, body) if headers is None else headers
        r = self.request("POST", "/webhook", content=body, headers=sent)
        return r.status_code, r.json()

    def queued(self) -> list[Job]:
        """The jobs waiting in Redis, as a worker would receive them."""
        ids = [x.decode() for x in self.client.lrange(f"{NAMESPACE}:{QUEUE}", 0, -1)]
        raw = [self.client.hget(f"{NAMESPACE}:{QUEUE}.msgs", i) for i in ids]
        return [Job.from_message(json.loads(r)["args"][0]) for r in raw if r]


@pytest.fixture
def server(redis_server: sf.RedisServer, key_file: Path) -> Iterator[Server]:
    s = Server(settings_for(redis_server.url, key_file))
    yield s
    s.client.close()


SYNC = "pull_request.synchronize"


def test_signed_synchronize_is_queued_with_202(server: Server) -> None:
    status, answer = server.post("pull_request", sf.payload(SYNC, number=7, head="a" * 40))
    assert (status, answer["result"]) == (202, "queued")
    [job] = server.queued()
    assert (job.repo, job.number, job.head_sha, job.installation) == (
        "Codertocat/Hello-World",
        7,
        "a" * 40,
        sf.INSTALLATION,
    )
    assert "body" not in job.payload["pull_request"]  # the PR text is read from GitHub
    assert server.limits.head("Codertocat/Hello-World", 7) == "a" * 40


def test_missing_signature_is_401_and_queues_nothing(server: Server) -> None:
    body = json.dumps(sf.payload(SYNC)).encode()
    headers = sf.webhook_headers("pull_request", body)
    del headers["x-hub-signature-256"]
    status, answer = server.post("pull_request", body, headers)
    assert (status, answer["result"]) == (401, "bad_signature")
    assert server.queued() == []


def test_wrong_secret_and_tampered_body_are_401(server: Server) -> None:
    body = json.dumps(sf.payload(SYNC)).encode()
    wrong = sf.webhook_headers("pull_request", body) | {
        "x-hub-signature-256": sf.signed(body, "another-secret")
    }
    assert server.post("pull_request", body, wrong)[0] == 401
    headers = sf.webhook_headers("pull_request", body)
    tampered = body.replace(b'"Codertocat/Hello-World"', b'"Codertocat/Other-Repo"', 1)
    assert server.post("pull_request", tampered, headers)[0] == 401
    not_hex = headers | {"x-hub-signature-256": "sha256=" + "zz" * 32}
    assert server.post("pull_request", body, not_hex)[0] == 401
    assert server.queued() == []


def test_signature_is_checked_before_the_body_is_parsed(server: Server) -> None:
    status, answer = server.post("pull_request", b"{not json", {"x-github-event": "x"})
    assert (status, answer["result"]) == (401, "bad_signature")
    garbage = b"{not json"
    status, answer = server.post("pull_request", garbage, sf.webhook_headers("x", garbage))
    assert (status, answer["result"]) == (400, "not_json")


def test_body_over_the_cap_is_refused_before_reading_it_all(
    redis_server: sf.RedisServer, key_file: Path
) -> None:
    small = Server(settings_for(redis_server.url, key_file, REVIEWBOT_MAX_BODY_BYTES="2048"))
    body = json.dumps(sf.payload(SYNC)).encode()  # ~28 KB
    status, answer = small.post("pull_request", body)
    assert (status, answer["result"]) == (413, "too_large")
    assert small.queued() == []


def test_redelivery_of_a_taken_delivery_is_dropped(server: Server) -> None:
    body = json.dumps(sf.payload(SYNC, head="b" * 40)).encode()
    headers = sf.webhook_headers("pull_request", body, delivery="d-1")
    assert server.post("pull_request", body, headers)[0] == 202
    status, answer = server.post("pull_request", body, headers)  # GitHub's "Redeliver"
    assert (status, answer["result"]) == (200, "duplicate")
    assert len(server.queued()) == 1


def test_replayed_signed_body_under_a_new_delivery_id_is_dropped(server: Server) -> None:
    body = json.dumps(sf.payload(SYNC, head="c" * 40)).encode()
    assert server.post("pull_request", body, sf.webhook_headers("pull_request", body))[0] == 202
    replay = sf.webhook_headers("pull_request", body)  # same body and signature, new GUID
    status, answer = server.post("pull_request", body, replay)
    assert (status, answer["result"]) == (200, "duplicate")
    assert len(server.queued()) == 1


@pytest.mark.parametrize(
    ("event", "data", "reason"),
    [
        ("pull_request", sf.payload("pull_request.closed"), "not a review trigger"),
        ("issue_comment", sf.payload("issue_comment.created"), "not a pull request"),
        (
            "pull_request_review_comment",
            sf.payload("pull_request_review_comment.created"),
            "not a reply",
        ),
        ("push", {"ref": "refs/heads/main", "installation": {"id": 1}}, "does not handle"),
        ("pull_request", {**sf.payload(SYNC), "installation": None}, "no App installation"),
        ("pull_request", sf.payload(SYNC, fork_owner="stranger"), "fork pull request"),
    ],
)
def test_events_the_gate_turns_away_are_not_queued(
    server: Server, event: str, data: dict[str, Any], reason: str
) -> None:
    status, answer = server.post(event, data)
    assert (status, answer["result"]) == (200, "ignored")
    assert reason in answer["reason"]
    assert server.queued() == []


def test_review_command_and_thread_reply_are_queued(server: Server) -> None:
    comment = sf.payload("issue_comment.created")
    comment["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    comment["comment"]["body"] = "/review full"
    assert server.post("issue_comment", comment)[0] == 202
    reply = sf.payload("pull_request_review_comment.created")
    reply["comment"]["in_reply_to_id"] = 99
    assert server.post("pull_request_review_comment", reply)[0] == 202
    jobs = server.queued()
    assert [(j.event, j.head_sha) for j in jobs] == [
        ("issue_comment", ""),
        ("pull_request_review_comment", ""),
    ]


def test_ping_answers_pong(server: Server) -> None:
    assert server.post("ping", sf.payload("ping")) == (200, {"result": "pong"})


def test_healthz_and_metrics(server: Server) -> None:
    assert server.request("GET", "/healthz").json() == {"ok": True}
    server.post("pull_request", sf.payload(SYNC, head="d" * 40))
    server.post("pull_request", b"x", {"x-github-event": "pull_request"})
    server.limits.count("jobs", "reviewed", 3)
    server.limits.count("tokens", "input", 1200)
    text = server.request("GET", "/metrics").text
    assert 'reviewbot_queue_jobs{state="waiting"} 1.0' in text
    assert 'reviewbot_jobs_total{outcome="reviewed"} 3.0' in text
    assert 'reviewbot_model_tokens_total{kind="input"} 1200.0' in text
    assert 'reviewbot_webhooks_total{result="queued"} 1.0' in text
    assert 'reviewbot_webhooks_total{result="bad_signature"} 1.0' in text


def test_redis_down_is_503_and_the_redelivery_is_then_taken(
    redis_server: sf.RedisServer, server: Server
) -> None:
    body = json.dumps(sf.payload(SYNC, head="e" * 40)).encode()
    headers = sf.webhook_headers("pull_request", body, delivery="d-down")
    redis_server.stop()
    try:
        status, answer = server.post("pull_request", body, headers)
        assert (status, answer["result"]) == (503, "queue_unavailable")
        assert server.request("GET", "/healthz").status_code == 503
    finally:
        redis_server.start()
    status, answer = server.post("pull_request", body, headers)  # GitHub's redelivery
    assert (status, answer["result"]) == (202, "queued")
    assert len(server.queued()) == 1


def test_settings_name_what_is_missing(key_file: Path) -> None:
    from reviewbot.errors import ConfigError

    with pytest.raises(ConfigError, match="REVIEWBOT_WEBHOOK_SECRET"):
        read_settings({"REVIEWBOT_APP_ID": "1", "REVIEWBOT_APP_PRIVATE_KEY_FILE": str(key_file)})
    with pytest.raises(ConfigError, match="private key is missing"):
        read_settings({"REVIEWBOT_APP_ID": "1", "REVIEWBOT_WEBHOOK_SECRET": "s"})
    with pytest.raises(ConfigError, match="REVIEWBOT_API_KEY"):
        settings_for("redis://x", key_file)  # fine for serve
        read_settings(
            {
                "REVIEWBOT_APP_ID": "1",
                "REVIEWBOT_WEBHOOK_SECRET": "s",
                "REVIEWBOT_APP_PRIVATE_KEY_FILE": str(key_file),
            },
            worker=True,
        )


def test_settings_never_show_secrets(key_file: Path) -> None:
    s = settings_for("redis://:hunter2-redis-pass@127.0.0.1:1/0", key_file)
    shown = repr(s)
    assert sf.SECRET not in shown and "PRIVATE KEY" not in shown and "hunter2" not in shown
    assert "hunter2-redis-pass" in s.secrets() and sf.SECRET in s.secrets()


def test_compose_file_runs_what_exists() -> None:

    import yaml

    from reviewbot.server.settings import SETTINGS, parser

    compose = yaml.safe_load((sf.ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "server", "worker"}
    known = {name for name, _, _ in SETTINGS}
    for name in ("server", "worker"):
        service = services[name]
        command, *args = service["command"]
        assert command == {"server": "serve", "worker": "worker"}[name]
        parser(command).parse_args(args)  # exits on an option reviewbot does not have
        assert set(service["environment"]) <= known
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "--appendonly" in services["redis"]["command"]  # a Redis restart keeps the queue
    # the Action's own image, whose Dockerfile installs the server extra, with `reviewbot` as
    # the entrypoint and the command choosing serve or worker
    assert services["server"]["build"] == {"context": ".."}
    assert services["server"]["entrypoint"] == ["reviewbot"]
    install = [
        ln for ln in (sf.ROOT / "Dockerfile").read_text().splitlines() if "pip install" in ln
    ]
    assert install and all('"./[server]"' in ln for ln in install)
