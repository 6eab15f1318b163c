"""Attacks on what the bot writes: secrets echoed back, hostile text, strangers' input."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from reviewbot.config import Config
from reviewbot.errors import ConfigError
from reviewbot.redact import Redactor
from tests.conftest import FAKE_KEY, ROOT, FakeResponses, responses_body, run_cli

DEMO_DIFF = ROOT / "examples" / "demo.diff"


cli = run_cli


def test_redactor_hides_secrets_bearer_tokens_key_shapes_and_url_userinfo() -> None:
    redact = Redactor([FAKE_KEY, "hunter2hunter2"])
    text = (
        f"key {FAKE_KEY}; Authorization: Bearer abc.def-ghi_jkl; token ghp_{'a' * 36}; "
        "proxy https://bob:hunter2hunter2@proxy.example/v1 and sk-live-0123456789abcdef"
    )
    out = redact(text)
    assert out == (
        "key ***; Authorization: Bearer ***; token ***; proxy https://***@proxy.example/v1 and ***"
    )
    assert redact("12 input tokens, a bearer of news") == "12 input tokens, a bearer of news"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.example.com/v1", "http:// is allowed only for localhost"),
        ("ftp://x", "must be an https:// URL"),
        ("https://[::1/v1", "not a valid URL"),
        ("https://host:99999999/v1", "not a valid URL"),
    ],
)
def test_base_url_must_be_https_except_for_this_machine(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config().with_overrides({"base_url": url})
    for ok in ("http://127.0.0.1:8080/v1", "http://localhost/v1", "https://api.aimlapi.com/v1"):
        assert Config().with_overrides({"base_url": ok}).base_url == ok


@pytest.mark.parametrize("answer", ["error", "review"])
def test_a_proxy_that_echoes_the_key_cannot_get_it_printed(
    fake_responses: FakeResponses, answer: str
) -> None:
    def echo(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        auth = headers.get("Authorization", "")
        if answer == "error":  # a 400 that quotes the request's headers
            message = f"bad request; you sent Authorization: {auth}"
            err = {
                "error": {"message": message, "type": "x", "param": None, "code": "invalid_prompt"}
            }
            return 400, {}, json.dumps(err).encode()
        review = {"summary": f"Echo: {auth}", "findings": []}
        return 200, {}, responses_body(review)

    fake_responses.respond = echo
    p = cli(
        "review",
        "--diff",
        str(DEMO_DIFF),
        "--base-url",
        fake_responses.base_url,
        "--format",
        "json",
        REVIEWBOT_API_KEY=FAKE_KEY,
    )
    assert FAKE_KEY not in p.stdout + p.stderr
    if answer == "error":
        assert p.returncode == 1
        assert "Authorization: Bearer ***" in p.stderr  # the server's words: log only, redacted
        assert p.stderr.strip().splitlines()[-1] == (
            "reviewbot: error: nothing was reviewed: HTTP 400 (invalid_prompt) from the model endpoint"
        )
    else:
        assert json.loads(p.stdout)["summary"] == "Echo: Bearer ***"


def test_a_password_in_base_url_is_masked_in_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = cli(
        "review",
        "--diff",
        str(DEMO_DIFF),
        REVIEWBOT_API_KEY=FAKE_KEY,
        REVIEWBOT_BASE_URL=f"http://proxyuser:hunter2hunter2@127.0.0.1:{port}/v1",
    )
    assert p.returncode == 1
    assert "hunter2hunter2" not in p.stderr and "proxyuser" not in p.stderr
    assert f"http://***@127.0.0.1:{port}/v1/responses: connection refused" in p.stderr


def test_deeply_nested_model_json_is_malformed_output_not_a_crash() -> None:
    from reviewbot.findings import MalformedOutput, parse_output

    with pytest.raises(MalformedOutput, match="nested too deeply"):
        parse_output("[" * 100_000 + "]" * 100_000)


def test_a_billion_laughs_config_gives_a_short_error(tmp_path: Path) -> None:
    lol = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lol += f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    (tmp_path / "c.yml").write_text("max_comments: *i\n" + lol.replace("max_comments: *i\n", ""))
    conf = tmp_path / "c.yml"
    conf.write_text(lol + "max_comments: *i\n")
    p = cli("review", "--diff", str(DEMO_DIFF), "--dry-run", "--config", str(conf))
    assert p.returncode == 2
    assert len(p.stderr) < 400, len(p.stderr)


def test_log_lines_cannot_start_workflow_commands(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from reviewbot.redact import _LogFilter

    record = logging.LogRecord(
        "x", logging.WARNING, "f", 1, "model said %s", ("ok\n::add-mask::x",), None
    )
    assert _LogFilter(Redactor()).filter(record)
    assert record.getMessage() == "model said ok\n ::add-mask::x"
