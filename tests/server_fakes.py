"""Real parts for the App server's tests and bench: a redis-server on a free port, a fake GitHub
on 127.0.0.1 that also serves the App endpoints (JWT-checked), signed webhook payloads shaped
after GitHub's published examples, and `reviewbot worker` processes."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
WEBHOOKS = ROOT / "tests" / "data" / "webhooks"
APP_ID = "424242"
SLUG = "reviewbot-test"
BOT = f"{SLUG}[bot]"
SECRET = "whsec-test-not-a-real-secret-9876"
INSTALLATION = 1  # the examples' installation id
MARK = "<!-- reviewbot:v1"

DIFF = """diff --git a/src/app.py b/src/app.py
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,4 @@
 def total(items):
-    return sum(items)
+    n = len(items)
+    return sum(items) / n
 
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _QuietServer(ThreadingHTTPServer):
    """A worker killed mid-request leaves its connection half-read: expected in these tests,
    so not printed as a traceback."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class RedisServer:
    """A redis-server of its own: a free port, a temporary directory, the append-only file on
    (as deploy/compose.yaml runs it, so a restart keeps the queue)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: `make test` installs it (apt-get install "
                "redis-server)"
            )
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="reviewbot-redis-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test module's own (nothing shared between modules or runs)."""
    server = RedisServer()
    yield server
    server.close()


def app_key() -> tuple[str, Any]:
    """A fresh RSA key: the PEM text the App would download, and its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A published example, e.g. payload("pull_request.synchronize", number=7, head="abc")."""
    data: dict[str, Any] = json.loads((WEBHOOKS / f"{name}.json").read_text())
    data = copy.deepcopy(data)
    pr = data.get("pull_request")
    if "repo" in changes:
        data["repository"]["full_name"] = changes["repo"]
        if pr:
            pr["base"]["repo"]["full_name"] = changes["repo"]
            pr["head"]["repo"]["full_name"] = changes["repo"]
    if "number" in changes and pr:
        pr["number"] = data["number"] = changes["number"]
    if "head" in changes and pr:
        pr["head"]["sha"] = changes["head"]
        if "after" in data:
            data["after"] = changes["head"]
    if "installation" in changes:
        data["installation"]["id"] = changes["installation"]
    if "fork_owner" in changes and pr:
        pr["head"]["repo"]["full_name"] = f"{changes['fork_owner']}/Hello-World"
        pr["author_association"] = changes.get("association", "NONE")
    return data


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_headers(event: str, body: bytes, delivery: str | None = None) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-hub-signature-256": signed(body),
    }


class FakeGitHub:
    """GitHub's REST (and the GraphQL reads a review makes) for any number of pull requests,
    plus the App endpoints: GET /app and installation tokens, both checking the App's JWT.
    Installation tokens expire after `token_life` seconds; repository calls with an unknown,
    expired or revoked token get 401, as GitHub answers."""

    def __init__(self, public_key: Any, token_life: float = 3600.0) -> None:
        self.public_key = public_key
        self.token_life = token_life
        self.tokens: dict[str, float] = {}  # token → expiry (epoch seconds)
        self.heads: dict[tuple[str, int], str] = {}
        self.reviews: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.review_comments: dict[int, dict[str, Any]] = {}  # id → comment (threads)
        self.replies: list[dict[str, Any]] = []
        self.configs: dict[str, str] = {}  # repo → .github/reviewbot.yml on the base branch
        self.archives: dict[str, bytes] = {}  # repo → its tarball (a gzipped tar), any ref
        self.codeload: list[str] = []  # the Authorization header each archive download sent
        self.reactions: list[str] = []
        self.log: list[str] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()
        self._ids = iter(range(1000, 10**9))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: Any, ctype: str = "application/json") -> None:
                if isinstance(body, bytes):
                    data = body
                else:
                    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                if status == 302:  # `body` is where to: GitHub's archives go to codeload
                    self.send_header("location", body)
                    data = b""
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> Any:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                return json.loads(raw) if raw else {}

            def _handle(self, method: str) -> None:
                path = self.path.split("?")[0]
                body = self._body() if method in ("POST", "PATCH") else None
                with fake.lock:
                    fake.log.append(f"{method} {path}")
                status, answer, ctype = fake.answer(method, path, dict(self.headers), body)
                self._send(status, answer, ctype)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

            def log_message(self, *args: object) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------- state

    def open_pull(self, repo: str, number: int, head: str) -> None:
        with self.lock:
            self.heads[(repo, number)] = head

    def thread(self, comment_id: int, body: str, author: str = BOT) -> None:
        """A review comment that starts a thread on src/app.py line 3."""
        with self.lock:
            self.review_comments[comment_id] = {
                "id": comment_id,
                "body": body,
                "user": {"login": author, "type": "Bot" if author.endswith("[bot]") else "User"},
                "path": "src/app.py",
                "line": 3,
                "side": "RIGHT",
                "diff_hunk": "@@ -1,2 +1,3 @@\n def total(items):\n+    n = len(items)",
            }

    def posted(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.reviews.get((repo, number), []))

    def revoke_all(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    # ------------------------------------------------------------- answers

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any, str]:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if path.startswith("/app"):
            return self._app(method, path, auth)
        if path.startswith("/_codeload/"):  # another server in GitHub's world: no token
            with self.lock:
                self.codeload.append(auth)
                data = self.archives.get(path.split("/", 3)[2].replace("+", "/"))
            if data is None:
                return 404, "Not Found", "text/plain"
            return 200, data, "application/x-gzip"
        token = auth.split(" ", 1)[-1]
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None or expiry <= time.time():
            with self.lock:
                self.refused.append(f"{method} {path}")
            return 401, {"message": "Bad credentials"}, "application/json"
        if path == "/graphql":
            return 200, self._graphql(body), "application/json"
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "repos":
            return 404, {"message": "Not Found"}, "application/json"
        repo, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        return self._repo(method, repo, rest, headers, body)

    def _app(self, method: str, path: str, auth: str) -> tuple[int, Any, str]:
        try:
            claims = jwt.decode(auth.removeprefix("Bearer "), self.public_key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return 401, {"message": "A JSON web token could not be decoded"}, "application/json"
        if str(claims.get("iss")) != APP_ID or claims["exp"] - claims["iat"] > 600:
            return 401, {"message": "bad JWT claims"}, "application/json"
        if method == "GET" and path == "/app":
            return (
                200,
                {"id": int(APP_ID), "slug": SLUG, "name": "reviewbot test"},
                "application/json",
            )
        if (method == "POST" and path == f"/app/installations/{INSTALLATION}/access_tokens") or (
            method == "POST" and path.endswith("/access_tokens")
        ):
            token = f"ghs_{uuid.uuid4().hex}"
            expires = time.time() + self.token_life
            with self.lock:
                self.tokens[token] = expires
            stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            # GitHub's stamps are whole seconds: keep the fake's expiry the same
            with self.lock:
                self.tokens[token] = datetime.fromisoformat(
                    stamp.replace("Z", "+00:00")
                ).timestamp()
            return 201, {"token": token, "expires_at": stamp}, "application/json"
        return 404, {"message": "Not Found"}, "application/json"

    def _repo(
        self, method: str, repo: str, rest: list[str], headers: dict[str, str], body: Any
    ) -> tuple[int, Any, str]:
        accept = {k.lower(): v for k, v in headers.items()}.get("accept", "")
        js = "application/json"
        if rest[:2] == ["pulls", "comments"] and len(rest) == 3 and method == "GET":
            with self.lock:
                found = self.review_comments.get(int(rest[2]))
            return (200, found, js) if found else (404, {"message": "Not Found"}, js)
        if rest[:2] == ["issues", "comments"] and rest[3:] == ["reactions"]:
            with self.lock:
                self.reactions.append(f"{rest[2]}:{body.get('content')}")
            return 201, {"id": 1, "content": body.get("content")}, js
        if rest[:1] == ["pulls"] and len(rest) >= 2 and rest[1].isdigit():
            number = int(rest[1])
            with self.lock:
                head = self.heads.get((repo, number))
            if head is None:
                return 404, {"message": "Not Found"}, js
            if len(rest) == 2 and method == "GET":
                if "diff" in accept:
                    return 200, DIFF, "text/plain"
                return 200, self._pull(repo, number, head), js
            if rest[2:] == ["reviews"] and method == "GET":
                return 200, self.posted(repo, number), js
            if rest[2:] == ["reviews"] and method == "POST":
                review = {
                    "id": next(self._ids),
                    "user": {"login": BOT, "type": "Bot"},
                    "body": body["body"],
                    "commit_id": body["commit_id"],
                    "state": "COMMENTED",
                    "html_url": f"https://github.example/{repo}/pull/{number}#r",
                    "comments": body.get("comments", []),
                }
                with self.lock:
                    self.reviews.setdefault((repo, number), []).append(review)
                return 200, review, js
            if rest[2:] == ["comments"] and method == "GET":
                with self.lock:
                    return 200, list(self.review_comments.values()), js
            if rest[2:3] == ["comments"] and rest[4:] == ["replies"] and method == "POST":
                reply = {
                    "id": next(self._ids),
                    "body": body["body"],
                    "in_reply_to_id": int(rest[3]),
                    "html_url": "https://github.example/reply",
                }
                with self.lock:
                    self.replies.append(reply)
                return 201, reply, js
        if rest[:1] == ["issues"] and len(rest) == 3 and rest[2] == "comments":
            comment = {
                "id": next(self._ids),
                "body": body["body"],
                "user": {"login": BOT, "type": "Bot"},
                "html_url": "https://github.example/c",
            }
            with self.lock:
                self.comments.setdefault((repo, int(rest[1])), []).append(comment)
            return 201, comment, js
        if rest[:2] == ["issues", "comments"]:
            return 200, {"id": int(rest[2]), "html_url": "https://github.example/c"}, js
        if rest[:1] == ["compare"]:
            patch = "@@ -1,2 +1,3 @@\n def total(items):\n-    return sum(items)\n+    n = len(items)\n+    return sum(items) / n"
            entry = {"filename": "src/app.py", "status": "modified", "patch": patch}
            return 200, {"status": "ahead", "files": [entry]}, js
        if rest[:1] == ["contents"] and repo in self.configs:
            import base64

            text = self.configs[repo].encode()
            content = base64.b64encode(text).decode()
            entry = {"type": "file", "size": len(text), "encoding": "base64", "content": content}
            return 200, entry | {"name": rest[-1], "path": "/".join(rest[1:])}, js
        if rest[:1] == ["tarball"] and repo in self.archives:
            # another host, as codeload.github.com is: the token must not follow
            there = self.url.replace("127.0.0.1", "localhost")
            return 302, f"{there}/_codeload/{repo.replace('/', '+')}/{rest[1]}", ""
        if rest[:1] == ["collaborators"]:
            return 200, {"permission": "write", "role_name": "write"}, js
        return 404, {"message": "Not Found"}, js

    def _pull(self, repo: str, number: int, head: str) -> dict[str, Any]:
        pr = payload("pull_request.synchronize", repo=repo, number=number, head=head)
        out: dict[str, Any] = pr["pull_request"]
        return out

    def _graphql(self, sent: dict[str, Any]) -> dict[str, Any]:
        query = str(sent.get("query", ""))
        if "viewer" in query:
            return {"data": {"viewer": {"login": SLUG}}}
        if "reviewThreads" in query:
            return {
                "data": {
                    "repository": {
                        "pullRequest": {
                            "reviewThreads": {"nodes": [], "pageInfo": {"hasNextPage": False}},
                            "comments": {"nodes": [], "pageInfo": {"hasNextPage": False}},
                        }
                    }
                }
            }
        with_text = " text" in query
        blob = {"byteSize": 40, "isBinary": False} | (
            {"text": "def total(items):\n    return sum(items)\n"} if with_text else {}
        )
        aliases = [k for k in sent.get("variables", {}) if k.startswith("e")]
        return {"data": {"repository": {f"f{k[1:]}": blob for k in aliases}}}


def worker_env(
    redis_url: str, github: FakeGitHub, model_url: str, key_file: Path, **extra: str
) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "REVIEWBOT_"))}
    return keep | {
        "REVIEWBOT_APP_ID": APP_ID,
        "REVIEWBOT_APP_PRIVATE_KEY_FILE": str(key_file),
        "REVIEWBOT_WEBHOOK_SECRET": SECRET,
        "REVIEWBOT_REDIS_URL": redis_url,
        "GITHUB_API_URL": github.url,
        "REVIEWBOT_API_KEY": "sk-test-not-a-real-key-1234567890",
        "REVIEWBOT_BASE_URL": model_url,
        "REVIEWBOT_REQUEUE_SECONDS": "3",
        "REVIEWBOT_WRITES_PER_MINUTE": "6000",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Workers:
    """`reviewbot worker --processes N` in its own process group (so that a test can kill the
    whole worker, parent and children, with SIGKILL)."""

    def __init__(self, env: dict[str, str], processes: int = 1, log: Path | None = None) -> None:
        self.log_path = log or Path(tempfile.mkstemp(prefix="reviewbot-worker-", suffix=".log")[1])
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reviewbot", "worker", "--processes", str(processes)],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL to the worker and its processes: no chance to hand anything back."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # as `docker stop` does: the parent stops its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def close(self) -> None:
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
