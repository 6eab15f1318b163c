"""Connecting to the model: every failure names the URL, and says what to change when the URL
itself is the likely mistake (TLS to a plain-HTTP server, a base_url ending in an endpoint's
path, a 404 where a server has no /responses); a rejected key is said once."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from reviewbot.errors import LLMError
from tests.conftest import FAKE_KEY, FakeResponses, main_cli
from tests.test_llm import REQ, client


@pytest.fixture
def plain_http() -> Iterator[int]:
    """A plain-HTTP server on 127.0.0.1 (a local model server); yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_tls_to_a_plain_http_local_server_says_use_http(plain_http: int) -> None:
    base = f"https://127.0.0.1:{plain_http}/v1"
    started = time.perf_counter()
    with pytest.raises(LLMError) as err:
        client("chat", base_url=base).run([REQ])
    assert str(err.value) == (
        f"cannot reach the model endpoint {base}/chat/completions: TLS handshake failed "
        f"(the server speaks plain HTTP? use http://127.0.0.1:{plain_http}/v1)"
    )
    assert time.perf_counter() - started < 2  # not retried


def test_tls_failure_on_a_remote_host_suggests_no_clear_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
        except ssl.SSLError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    with pytest.raises(LLMError) as err:
        client("responses", httpx.MockTransport(handler), base_url="https://models.example/v1").run(
            [REQ]
        )
    assert str(err.value).endswith(
        "TLS handshake failed (the server does not speak TLS on this port)"
    )
    assert "http://" not in str(err.value)


def test_refused_connection_fails_fast_naming_the_url() -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(
        LLMError, match=rf"http://127.0.0.1:{port}/v1/responses: connection refused"
    ):
        client("responses", base_url=f"http://127.0.0.1:{port}/v1", backoff_base=1.0).run([REQ])
    assert time.perf_counter() - started < 1


def test_unknown_host_fails_fast() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    runner = client("chat", httpx.MockTransport(handler), base_url="https://api.aimlapi.example/v1")
    with pytest.raises(LLMError, match=r"aimlapi.example/v1/chat/completions: unknown host"):
        runner.run([REQ])


def test_connection_that_keeps_failing_names_the_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 104] Connection reset by peer", request=request)

    runner = client("responses", httpx.MockTransport(handler), max_retries=1)
    [reply] = runner.run([REQ])
    assert reply.problem == (
        "could not connect to the model endpoint https://api.aimlapi.com/v1/responses; "
        "gave up after 2 attempts"
    )


@pytest.mark.parametrize(
    ("wire", "base", "hint"),
    [
        (
            "responses",
            "http://localhost:8000/v1/responses",
            "drop it (use http://localhost:8000/v1)",
        ),
        (
            "chat",
            "http://localhost:8000/v1/chat/completions",
            "drop it (use http://localhost:8000/v1)",
        ),
        ("responses", "http://localhost:8000/v1/chat/completions", "and set wire_api: chat"),
        (
            "responses",
            "http://localhost:8000/v1",
            "if the server has no /responses endpoint, set wire_api: chat",
        ),
    ],
)
def test_a_404_says_what_to_change_in_the_url(wire: str, base: str, hint: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"message": "Not Found"}})

    with pytest.raises(LLMError, match=r"\(404\): Not Found") as err:
        client(wire, httpx.MockTransport(handler), base_url=base).run([REQ])
    assert str(err.value).endswith(hint)


def test_cli_says_a_rejected_key_once_whatever_the_number_of_parts(
    fake_responses: FakeResponses,
) -> None:
    server = fake_responses
    server.default = (401, {}, b'{"error": {"message": "Incorrect API key provided"}}')
    server.delay = 0.1  # the parts are in flight together
    diff = "".join(
        f"--- a/m{i}.py\n+++ b/m{i}.py\n@@ -1,1 +1,2 @@\n x = 1\n+y = {'z' * 400!r}\n"
        for i in range(6)
    )
    p = main_cli(
        "review",
        "--diff",
        "-",
        "--base-url",
        server.base_url,
        "--max-request-tokens",
        "300",
        stdin=diff.encode(),
        REVIEWBOT_API_KEY=FAKE_KEY,
    )
    assert len(server.seen) >= 2  # several parts were sent
    assert p.returncode == 1
    assert p.stderr.count("Incorrect API key") == 1, p.stderr


def test_a_base_url_ending_in_the_endpoint_is_named_in_the_log_of_any_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(405, json={"error": {"message": "Method Not Allowed"}})

    base = "https://proxy.example/v1/responses"
    [reply] = client("responses", httpx.MockTransport(handler), base_url=base).run([REQ])
    assert reply.problem == "HTTP 405 from the model endpoint"
    assert "base_url ends in /responses: drop it (use https://proxy.example/v1)" in caplog.text
