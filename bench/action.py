"""GitHub request counts and wall time of `reviewbot action`, against instant local fakes.

A fake GitHub API and a fake Responses endpoint run on 127.0.0.1 and answer at once, so the
figures are reviewbot's own cost. For each case it prints the GitHub requests made (by kind),
how many were review POSTs, and the wall time of the whole `reviewbot action` process
(median of 5 runs).

Run: `.venv/bin/python bench/action.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from run import SlowEndpoint  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = json.loads((ROOT / "tests" / "data" / "events" / "pull_request.opened.json").read_text())
REPO = "Codertocat/Hello-World"
FINDING: dict[str, object] = {
    "path": "src/mod_0.py",
    "line": 2,
    "start_line": None,
    "side": "RIGHT",
    "severity": "minor",
    "title": "t",
    "body": "b",
    "code": None,
    "suggestion": None,
}


def diff_of(files: int) -> str:
    out = []
    for i in range(files):
        p = f"src/mod_{i}.py"
        out += [
            f"diff --git a/{p} b/{p}",
            f"--- a/{p}",
            f"+++ b/{p}",
            "@@ -1,2 +1,3 @@",
            " def f():",
            f"+    x = {i}",
            "     return 1",
        ]
    return "\n".join(out) + "\n"


class FakeGitHub:
    """Just enough of the REST API for one review; counts what it is asked."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.diff = diff_of(1)
        self.reviews: list[dict[str, Any]] = []
        self.text_of: Callable[[str], str | None] = lambda spec: "x\n"  # `REV:path` → text
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: Any, ctype: str = "application/json") -> None:
                if isinstance(body, bytes):
                    data = body
                else:
                    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                if status == 302:  # `body` is where to (an archive: codeload)
                    self.send_header("location", body)
                    data = b""
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                accept = self.headers.get("accept", "")
                fake.seen.append(f"GET {path}" + (" (diff)" if "diff" in accept else ""))
                base = f"/repos/{REPO}"
                if path == f"{base}/pulls/2":
                    if "diff" in accept:
                        return self._send(200, fake.diff, "text/plain")
                    return self._send(200, PAYLOAD["pull_request"])
                if path == f"{base}/pulls/2/reviews":
                    return self._send(200, fake.reviews)
                if path.startswith(f"{base}/compare/"):  # the push after the last review
                    patch = "@@ -1,2 +1,3 @@\n def f():\n+    x = 0\n     return 1"
                    entry = {"filename": "src/mod_0.py", "status": "modified", "patch": patch}
                    return self._send(200, {"status": "ahead", "files": [entry]})
                if path.startswith(f"{base}/tarball/"):  # agent mode: the head's archive
                    return self._send(302, f"{fake.url}/codeload/{path.rsplit('/', 1)[1]}")
                if path.startswith("/codeload/"):  # another host in GitHub's world
                    fake.seen.pop()  # not an API request
                    return self._send(200, archive_of(fake.diff), "application/x-gzip")
                if path.startswith(f"{base}/collaborators/"):
                    return self._send(200, {"permission": "write", "role_name": "write"})
                if path == "/user":  # an installation token may not ask; a PAT gets its user
                    if "ghs_" in self.headers.get("authorization", ""):
                        return self._send(403, {"message": "Resource not accessible"})
                    return self._send(200, {"login": "review-robot", "type": "User"})
                return self._send(404, {"message": "Not Found"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                fake.seen.append(f"POST {self.path}")
                sent = json.loads(body)
                if self.path.endswith("/graphql") and "reviewThreads" in sent["query"]:
                    data: dict[str, Any] = {"repository": {"pullRequest": fake.history()}}
                    if "viewer {" in sent["query"]:  # who the token is, asked along
                        data["viewer"] = {"login": "github-actions[bot]"}
                    return self._send(200, {"data": data})
                if self.path.endswith("/graphql") and "viewer {" in sent["query"]:
                    return self._send(200, {"data": {"viewer": {"login": "github-actions[bot]"}}})
                if self.path.endswith("/graphql"):  # file texts (by default all "x\n")
                    with_text = " text" in sent["query"]
                    found = {}
                    for key, spec in sent["variables"].items():
                        text = fake.text_of(spec) if key.startswith("e") else None
                        if text is not None:
                            size = {"byteSize": len(text.encode()), "isBinary": False}
                            found[f"f{key[1:]}"] = size | ({"text": text} if with_text else {})
                    return self._send(200, {"data": {"repository": found}})
                self._send(
                    201 if "reactions" in self.path else 200,
                    {"id": 1, "html_url": "https://github.example/pull/2#review-1"},
                )

            def do_PATCH(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                fake.seen.append(f"PATCH {self.path}")
                self._send(200, {"id": 9, "html_url": "https://github.example/pull/2#c-9"})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def history(self) -> dict[str, Any]:
        """No threads; the walkthrough the first review posted, once there was a review."""
        body = "### reviewbot walkthrough\n<!-- reviewbot:v1 walkthrough -->"
        login = str(self.reviews[0]["user"]["login"]) if self.reviews else ""
        kind = "Bot" if login.endswith("[bot]") else "User"
        author = {"login": login.removesuffix("[bot]"), "__typename": kind}
        ours = {"fullDatabaseId": "2290000009", "url": "u", "body": body, "author": author}
        return {
            "reviewThreads": {"nodes": [], "pageInfo": {"hasNextPage": False}},
            "comments": {
                "pageInfo": {"hasNextPage": False},
                "nodes": [ours] if self.reviews else [],
            },
        }


def archive_of(diff: str) -> bytes:
    """The head commit's tarball: each file the diff names, a few lines each."""
    import gzip
    import io
    import re
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in re.findall(r"^\+\+\+ b/(.+)$", diff, re.M):
            data = b"def f():\n    x = 0\n    return 1\n"
            info = tarfile.TarInfo(f"Codertocat-Hello-World-abc1234/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def run_case(
    name: str,
    event: str,
    payload: dict[str, Any],
    files: int,
    runs: int = 5,
    reviews: list[dict[str, Any]] | None = None,
    token: str = "ghs_bench0000000000000000000000000000",  # as the Actions token looks
    **inputs: str,
) -> None:
    walls: list[float] = []
    gh = FakeGitHub()
    gh.diff = diff_of(files)
    gh.reviews = reviews or []
    model = SlowEndpoint(0.0, [FINDING])
    with tempfile.TemporaryDirectory() as tmp:
        event_path = Path(tmp) / "event.json"
        event_path.write_text(json.dumps(payload))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))},
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": gh.url,
            "INPUT_API_KEY": "bench-not-a-key",
            "INPUT_GITHUB_TOKEN": token,
            "INPUT_BASE_URL": model.url,
            **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
        }
        for _ in range(runs):
            gh.seen.clear()
            start = time.perf_counter()
            p = subprocess.run(
                [sys.executable, "-m", "reviewbot", "action"],
                env=env,
                capture_output=True,
                text=True,
            )
            walls.append(time.perf_counter() - start)
            if p.returncode != 0:
                sys.exit(f"{name}: reviewbot action failed:\n{p.stdout}\n{p.stderr}")
    kinds = Counter(gh.seen)
    posts = sum(n for k, n in kinds.items() if k.endswith("/reviews") and k.startswith("POST"))
    detail = ", ".join(f"{n}× {k.replace('/repos/' + REPO, '')}" for k, n in kinds.items())
    print(
        f"{name}: {len(gh.seen)} GitHub requests ({posts} review POST) · "
        f"{statistics.median(walls):.3f} s wall (median of {runs})\n    {detail}"
    )
    gh.server.shutdown()
    model.server.shutdown()


def main() -> None:
    print(f"reviewbot action benchmark · {os.cpu_count()} cores · instant local fakes")
    print(
        "goals: small PR in single digits (≤ 9 GitHub requests); < 0.8 s plus the 1 s pause\n"
        "GitHub asks for between writes (review, then walkthrough; /review adds its reaction)\n"
    )
    run_case("small PR opened   ", "pull_request", PAYLOAD, files=1)
    run_case("60-file PR opened ", "pull_request", PAYLOAD, files=60)
    run_case("small PR, agent   ", "pull_request", PAYLOAD, files=1, context="agent")
    comment = {
        "action": "created",
        "repository": PAYLOAD["repository"],
        "issue": {"number": 2, "state": "open", "pull_request": {"url": "x"}},
        "comment": {"id": 7, "body": "/review", "user": {"login": "octocat", "type": "User"}},
    }
    run_case("small PR /review  ", "issue_comment", comment, files=1)
    earlier = {  # the bot reviewed an older head of the PR
        "user": {"login": "github-actions[bot]", "type": "Bot"},
        "body": f"### reviewbot\n<!-- reviewbot:v1 head={'a' * 40} fp=0123456789ab -->",
        "html_url": "https://github.example/pull/2#review-0",
    }
    push = {**PAYLOAD, "action": "synchronize"}
    run_case("small PR push     ", "pull_request", push, files=1, reviews=[earlier])
    by_pat = {**earlier, "user": {"login": "review-robot", "type": "User"}}
    pat = "ghp_bench000000000000000000000000000000"
    run_case("push, with a PAT  ", "pull_request", push, files=1, reviews=[by_pat], token=pat)


if __name__ == "__main__":
    main()
