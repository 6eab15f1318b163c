from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DATA = TESTS / "data"
CASSETTES = TESTS / "cassettes"
FAKE_KEY = "sk-test-not-a-real-key-1234567890"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test depends on the machine's GitHub, Actions or key variables."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "INPUT_", "RUNNER_")) or name in (
            "REVIEWBOT_API_KEY",
            "REVIEWBOT_BASE_URL",
            "REVIEWBOT_MODEL",
            "OPENAI_API_KEY",
            "CI",
        ):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
def requests_in_published_shapes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every request a test replays from a cassette, whichever library sent it, has a body the
    published API allows (tests/request_shapes.py): checked after the test, so a test that
    expects a failure still sees its own; a wrong body fails the test at teardown."""
    from vcr.cassette import Cassette

    seen: list[Any] = []
    play = Cassette.play_response

    def spy(self: Cassette, request: Any) -> Any:
        seen.append(request)
        return play(self, request)

    monkeypatch.setattr(Cassette, "play_response", spy)
    yield seen
    from tests.request_shapes import check_sent

    for request in seen:
        check_sent(request.method, request.uri, request.body)


def cassette_vcr(module: str) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES / module),
        record_mode="none",
        filter_headers=["authorization"],
        match_on=["method", "scheme", "host", "port", "path"],
    )


class FakeResponses:
    """A Responses endpoint on 127.0.0.1: answers from a queue, then with `default`."""

    def __init__(self, default: tuple[int, dict[str, str], bytes]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.default = default
        self.queue: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[tuple[str, dict[str, str], bytes]] = []
        self.delay = 0.0
        # Bodies containing a key get that answer instead; "hang" never answers (a hung socket).
        self.by_content: dict[str, tuple[int, dict[str, str], bytes] | str] = {}
        self.release = threading.Event()
        # Or computed from the request's headers and body (e.g. a proxy that echoes headers).
        self.respond: (
            Callable[[dict[str, str], bytes], tuple[int, dict[str, str], bytes]] | None
        ) = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import time

                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                fake.seen.append((self.path, dict(self.headers), body))
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.respond is not None:
                    fake.queue.insert(0, fake.respond(dict(self.headers), body))
                special = [v for k, v in fake.by_content.items() if k.encode() in body]
                if special and special[0] == "hang":
                    fake.release.wait(60)
                    return
                if special and not isinstance(special[0], str):
                    status, headers, payload = special[0]
                else:
                    status, headers, payload = fake.queue.pop(0) if fake.queue else fake.default
                self.send_response(status)
                for k, v in {"content-type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def responses_body(review: dict[str, object]) -> bytes:
    import json

    body = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": json.dumps(review)}],
            },
        ],
        "usage": {
            "input_tokens": 100,
            "output_tokens": 20,
            "input_tokens_details": {"cached_tokens": 0},
        },
    }
    return json.dumps(body).encode()


@pytest.fixture
def fake_responses() -> Iterator[FakeResponses]:
    """A model endpoint on 127.0.0.1; afterwards every body sent to it is checked to be a
    request the published API allows."""
    from tests.request_shapes import check_sent

    review = {"summary": "Looks fine.", "findings": []}
    server = FakeResponses((200, {}, responses_body(review)))
    yield server
    server.close()
    for path, _, body in server.seen:
        check_sent("POST", f"http://127.0.0.1{path}", body)


def cli_env(**env: str) -> dict[str, str]:
    """This machine's environment without GitHub, Actions or reviewbot variables, plus `env`."""
    skip = ("GITHUB_", "INPUT_", "REVIEWBOT_")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)} | env


def run_cli(
    *args: str, cwd: Path | None = None, stdin: bytes | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`reviewbot ARGS` as a user runs it: a subprocess, with only the given REVIEWBOT_*
    variables (no GitHub or Actions ones from this machine)."""
    return subprocess.run(
        [sys.executable, "-m", "reviewbot", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=cli_env(**env),
        cwd=cwd or ROOT,
        timeout=60,
    )


def main_cli(
    *args: str, cwd: Path | None = None, stdin: bytes | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`reviewbot ARGS` run in this process: `main(argv, env)` with the environment `run_cli`
    would give the subprocess, `stdin` as standard input and `cwd` as the working directory;
    what it printed and returned, in the shape `run_cli` gives (ten times faster, and the code
    runs under coverage and the debugger)."""
    import contextlib
    import io

    from reviewbot.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin, old_cwd = sys.stdin, Path.cwd()
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    try:
        os.chdir(cwd or ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args), cli_env(**env))
            except SystemExit as exc:  # argparse: --help, --version, a bad choice
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        sys.stdin = old_stdin
        os.chdir(old_cwd)
    return subprocess.CompletedProcess(["reviewbot", *args], code, out.getvalue(), err.getvalue())


def git_repo(path: Path) -> Callable[..., None]:
    """A new git repository at `path` with a committer set; returns `git(*args)` run there."""

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    return git
