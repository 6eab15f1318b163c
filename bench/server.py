"""The GitHub App server's figures, against a real redis-server and local fakes.

Prints, on this machine:
  1. webhook acknowledgement: `reviewbot serve` (uvicorn) taking signed deliveries at 50 per
     second, open loop: p50 / p99 / max latency from sending to the 202 (goal: p99 < 100 ms);
  2. 200 deliveries (5 pushes each to 40 pull requests in 10 repositories, interleaved) run by
     `reviewbot worker --processes 4` with a fake model answering each request after 1 s: reviews
     posted, heads reviewed twice (duplicates), pull requests whose last head was not reviewed
     (lost), and the wall time against the ideal (model requests x 1 s / 4 workers).

Run: `.venv/bin/python bench/server.py` (needs redis-server; `make test` installs it).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import server_fakes as sf  # noqa: E402  (the same fakes as the tests)
from tests.conftest import FakeResponses, responses_body  # noqa: E402

RATE = 50
ACK_DELIVERIES = 500
PRS, REPOS, PUSHES, WORKERS, LATENCY = 40, 10, 5, 4, 1.0


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reviewbot", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    sf.wait_for(up, 30, "reviewbot serve")
    return proc


def delivery(repo: str, number: int, head: str) -> tuple[bytes, dict[str, str]]:
    data = sf.payload("pull_request.synchronize", repo=repo, number=number, head=head)
    body = json.dumps(data).encode()
    return body, sf.webhook_headers("pull_request", body)


def ack_latency(url: str) -> None:
    """Open loop: delivery i leaves at i / RATE seconds, whatever the answers before it did."""
    sent = [delivery(f"org/repo-{i % REPOS}", 1000 + i, f"{i:040x}") for i in range(ACK_DELIVERIES)]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=64))

    def post(i: int, start: float) -> None:
        time.sleep(max(0.0, start + i / RATE - time.perf_counter()))
        t = time.perf_counter()
        r = client.post(f"{url}/webhook", content=sent[i][0], headers=sent[i][1])
        with lock:
            latencies.append(time.perf_counter() - t)
            statuses[r.status_code] += 1

    with ThreadPoolExecutor(32) as pool:
        start = time.perf_counter() + 0.2
        for f in [pool.submit(post, i, start) for i in range(ACK_DELIVERIES)]:
            f.result()
    client.close()
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[int(len(ms) * 0.99) - 1]
    p50 = statistics.median(ms)
    print(
        f"1. webhook ack at {RATE}/s, {ACK_DELIVERIES} deliveries: p50 {p50:.1f} ms"
        f" · p99 {p99:.1f} ms · max {ms[-1]:.1f} ms (goal p99 < 100 ms) · answers {dict(statuses)}"
    )


def queue_run(
    url: str,
    d_env: dict[str, str],
    github: sf.FakeGitHub,
    model: FakeResponses,
    client: redis.Redis,
    tmp: Path,
) -> None:
    heads = {
        (f"org/repo-{p % REPOS}", p): [f"{p:020x}{k:020x}" for k in range(PUSHES)]
        for p in range(1, PRS + 1)
    }
    workers = sf.Workers(d_env, WORKERS, tmp / "workers.log")
    time.sleep(3)  # the workers boot (not counted)
    model.seen.clear()
    start = time.perf_counter()
    with httpx.Client(timeout=10) as http:
        for k in range(PUSHES):  # pushes interleave across pull requests, as an org's do
            for (repo, number), shas in heads.items():
                github.open_pull(repo, number, shas[k])
                body, headers = delivery(repo, number, shas[k])
                assert http.post(f"{url}/webhook", content=body, headers=headers).status_code == 202
    sent = time.perf_counter() - start

    def done() -> bool:
        return (
            all(
                github.posted(r, n) and github.posted(r, n)[-1]["commit_id"] == s[-1]
                for (r, n), s in heads.items()
            )
            and client.hlen("dramatiq:reviews.msgs") == 0
        )

    sf.wait_for(done, 600, "every pull request's last head reviewed")
    wall = time.perf_counter() - start
    workers.stop()
    reviews = [(r, n, x["commit_id"]) for (r, n) in heads for x in github.posted(r, n)]
    twice = sum(1 for _, c in Counter(reviews).items() if c > 1)
    lost = sum(
        1 for (r, n), s in heads.items() if s[-1] not in [x[2] for x in reviews if x[:2] == (r, n)]
    )
    dead = client.zcard("dramatiq:reviews.XQ")
    requests = len(model.seen)
    ideal = requests * LATENCY / WORKERS
    outcomes = {k.decode(): int(v) for k, v in client.hgetall("reviewbot:stats:jobs").items()}
    print(
        f"2. {PRS * PUSHES} deliveries, {PRS} PRs in {REPOS} repos, {WORKERS} workers, "
        f"{LATENCY:.0f} s model: {len(reviews)} reviews ({requests} model requests) · "
        f"duplicates {twice} · lost {lost} · dead-lettered {dead}\n"
        f"   wall {wall:.1f} s vs ideal {ideal:.1f} s (requests x {LATENCY:.0f} s / {WORKERS}) = "
        f"{wall / ideal:.2f}x; the deliveries took {sent:.1f} s to send, the last review came "
        f"{wall - sent:.1f} s after the last one · jobs {outcomes}"
    )


def main() -> None:
    print("reviewbot App server benchmark · real redis-server · fake GitHub and model on 127.0.0.1")
    server = sf.RedisServer()
    pem, public = sf.app_key()
    github = sf.FakeGitHub(public)
    model = FakeResponses((200, {}, responses_body({"summary": "Fine.", "findings": []})))
    model.delay = LATENCY
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "app.pem").write_text(pem)
        env = sf.worker_env(
            server.url,
            github,
            model.base_url,
            tmp / "app.pem",
            REVIEWBOT_INSTALLATION_CONCURRENCY=str(WORKERS),
            REVIEWBOT_WRITES_PER_MINUTE="600",
        )
        port = sf.free_port()
        proc = serve(env, port)
        client = redis.Redis.from_url(server.url)
        try:
            ack_latency(f"http://127.0.0.1:{port}")
            client.flushall()
            queue_run(f"http://127.0.0.1:{port}", env, github, model, client, tmp)
        finally:
            proc.terminate()
            proc.wait(15)
            client.close()
            github.close()
            model.close()
            server.close()
    print(
        "settings: REVIEWBOT_INSTALLATION_CONCURRENCY=4, REVIEWBOT_WRITES_PER_MINUTE=600 (one "
        "installation for the whole org)"
    )


if __name__ == "__main__":
    main()
