"""`reviewbot serve`: the GitHub App's webhook endpoint (Starlette on uvicorn).

/webhook checks the signature before it parses anything, drops a delivery it has already taken,
routes the event through the Action's own gate, enqueues a job and answers 202. /healthz says
whether Redis answers; /metrics gives Prometheus the queue, the jobs by outcome and the tokens.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from reviewbot import gate
from reviewbot.errors import ReviewbotError
from reviewbot.event import Ignore, Reply, read_event
from reviewbot.server.limits import Limits
from reviewbot.server.run import Job
from reviewbot.server.settings import Settings, parser, read_settings

logger = logging.getLogger(__name__)

EVENTS = ("pull_request", "issue_comment", "pull_request_review_comment")
DELIVERY_TTL = 8 * 86_400  # GitHub redelivers deliveries of the past 3 days; a margin on top
PAYLOAD_KEYS = ("action", "number", "repository", "installation", "sender")


def create_app(
    settings: Settings,
    limits: Limits,
    enqueue: Callable[[Job], str],
    depth: Callable[[], dict[str, int]] | None = None,
) -> Starlette:
    """The ASGI app; `enqueue` sends a job and returns its id (jobs.Queue.send)."""
    secret = settings.webhook_secret.encode()
    registry = CollectorRegistry()
    deliveries = Counter(
        "reviewbot_webhooks", "Webhook deliveries by result", ["result"], registry=registry
    )
    registry.register(_Shared(limits, depth or (lambda: {})))

    def answer(status: int, result: str, **extra: Any) -> JSONResponse:
        deliveries.labels(result).inc()
        return JSONResponse({"result": result, **extra}, status_code=status)

    async def webhook(request: Request) -> Response:
        cap = settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            return answer(413, "too_large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > cap:
                return answer(413, "too_large")
        # Before anything reads the body: only GitHub, with the secret, gets further.
        given = request.headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(secret, bytes(body), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return answer(401, "bad_signature")
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        try:
            payload = json.loads(body)
        except ValueError:
            return answer(400, "not_json")
        if not isinstance(payload, dict):
            return answer(400, "not_json")
        if event == "ping":
            return answer(200, "pong")
        try:
            job = route(event, delivery, payload, settings)
        except ReviewbotError as exc:
            return answer(400, "bad_event", reason=str(exc))
        if isinstance(job, Ignore):
            return answer(200, "ignored", reason=job.reason)
        # A redelivery carries the same id; a replayed body, another id but the same digest.
        keys = [f"id:{delivery}", f"body:{hashlib.sha256(body).hexdigest()}"]
        try:  # one hop to a thread: the Redis calls block
            job_id = await run_in_threadpool(_take, limits, enqueue, job, keys)
        except redis.RedisError as exc:
            logger.error("cannot queue delivery %s: %s", delivery, type(exc).__name__)
            return answer(503, "queue_unavailable")
        if job_id is None:
            return answer(200, "duplicate")
        return answer(202, "queued", job=job_id)

    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(limits.redis.ping)
        except redis.RedisError as exc:
            return JSONResponse({"ok": False, "redis": type(exc).__name__}, status_code=503)
        return JSONResponse({"ok": True})

    async def metrics(request: Request) -> Response:
        data = await run_in_threadpool(generate_latest, registry)
        return PlainTextResponse(data, media_type="text/plain; version=0.0.4; charset=utf-8")

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


def route(event: str, delivery: str, payload: dict[str, Any], settings: Settings) -> Job | Ignore:
    """The gate's first questions, asked of the payload alone (no GitHub request): a job, or
    why there is none."""
    if event not in EVENTS:
        return Ignore(f"reviewbot does not handle the {event or 'unknown'} event")
    installation = int((payload.get("installation") or {}).get("id") or 0)
    if not installation:
        return Ignore("the payload names no App installation")
    repo = str((payload.get("repository") or {}).get("full_name") or "")
    phrase = settings.trigger_phrase
    # As the worker will: an App may write on forks' pull requests (see run.Runner._flow).
    name = "pull_request_target" if event == "pull_request" else event
    found = read_event(name, payload, repo, phrase)
    if isinstance(found, Ignore):
        return found
    if isinstance(found, Reply):
        number, head = found.pr_number, ""
    else:
        if skip := gate.admit(replace(found, event=name), settings.fork_prs, phrase):
            return Ignore(skip.reason)
        number, head = found.pr_number, found.head_sha or ""
    return Job(delivery, event, installation, repo, number, head, slim(payload))


def slim(payload: dict[str, Any]) -> dict[str, Any]:
    """What the flows read of a payload; the rest (up to 25 MB) stays out of Redis."""
    out = {k: payload[k] for k in PAYLOAD_KEYS if k in payload}
    pr = payload.get("pull_request")
    if isinstance(pr, dict):
        out["pull_request"] = {k: v for k, v in pr.items() if k not in ("body", "_links")}
    for key in ("issue", "comment"):
        if isinstance(payload.get(key), dict):
            out[key] = payload[key]
    return out


def _take(limits: Limits, enqueue: Callable[[Job], str], job: Job, keys: list[str]) -> str | None:
    """Queue the job unless its delivery was taken before (None); when queueing fails, the
    delivery is forgotten again, so that GitHub's redelivery is taken."""
    if not limits.first_delivery(keys, DELIVERY_TTL):
        return None
    try:
        if job.head_sha:  # a newer push supersedes older queued jobs of the same PR
            limits.set_head(job.repo, job.number, job.head_sha)
        return enqueue(job)
    except redis.RedisError:
        with contextlib.suppress(redis.RedisError):  # Redis away: then nothing was kept
            limits.forget_delivery(keys)
        raise


class _Shared(Collector):
    """Figures every worker writes to Redis, read when Prometheus asks."""

    def __init__(self, limits: Limits, depth: Callable[[], dict[str, int]]) -> None:
        self._limits = limits
        self._depth = depth

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            depth = self._depth()
            jobs, tokens = self._limits.counts("jobs"), self._limits.counts("tokens")
        except redis.RedisError:
            return
        queue = GaugeMetricFamily(
            "reviewbot_queue_jobs", "Jobs in the queue by state", labels=["state"]
        )
        for state, n in depth.items():
            queue.add_metric([state], n)
        yield queue
        done = CounterMetricFamily("reviewbot_jobs", "Finished jobs by outcome", labels=["outcome"])
        for outcome, n in sorted(jobs.items()):
            done.add_metric([outcome], n)
        yield done
        used = CounterMetricFamily("reviewbot_model_tokens", "Model tokens used", labels=["kind"])
        for kind, n in sorted(tokens.items()):
            used.add_metric([kind], n)
        yield used


def queue_depth(client: redis.Redis, namespace: str, queue: str) -> Callable[[], dict[str, int]]:
    """Waiting, delayed (busy PR or retry backoff), unfinished and dead-lettered jobs."""

    def depth() -> dict[str, int]:
        base = f"{namespace}:{queue}"
        pipe = client.pipeline()
        pipe.llen(base)
        pipe.hlen(f"{base}.DQ.msgs")
        pipe.hlen(f"{base}.msgs")
        pipe.zcard(f"{base}.XQ")
        waiting, delayed, unfinished, dead = pipe.execute()
        return {
            "waiting": int(waiting),
            "delayed": int(delayed),
            "unfinished": int(unfinished),
            "dead": int(dead),
        }

    return depth


def main(argv: Sequence[str]) -> int:
    """`reviewbot serve`: the webhook endpoint on uvicorn."""
    args = parser("serve").parse_args(argv)
    try:
        settings = read_settings(os.environ)
    except ReviewbotError as exc:
        print(f"reviewbot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    import uvicorn

    from reviewbot.redact import Redactor
    from reviewbot.server.jobs import NAMESPACE, QUEUE, queue

    Redactor(settings.secrets()).install()
    client = redis.Redis.from_url(settings.redis_url)
    jobs = queue(settings)
    app = create_app(
        settings,
        Limits(client, settings.lease_seconds),
        jobs.send,
        queue_depth(client, NAMESPACE, QUEUE),
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
