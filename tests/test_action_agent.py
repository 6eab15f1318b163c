"""Agent mode in the Action, end to end over cassettes: the head commit's archive downloaded
once (a 302 to codeload, fetched without the token), the model's tool calls answered from it,
the coverage gap and the tool calls reported, and every way the archive can fail."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO, Any

import pytest

from reviewbot.agent.wiring import pull_agent
from reviewbot.config import Config
from reviewbot.errors import GitHubError
from reviewbot.pulls import PullInfo
from tests import make_cassettes as mc
from tests import test_action
from tests.conftest import git_repo
from tests.test_action import FAKE_TOKEN, Act, Result, payload

act, spy = test_action.act, test_action.spy  # the Action's fixtures, over these cassettes

OPENED = "pull_request.opened.json"


def model_requests(r: Result) -> list[dict[str, Any]]:
    return [s.json() for s in r.sent if s.url == mc.MODEL_URL]


def outputs(request: dict[str, Any]) -> dict[str, str]:
    """The tool answers a request sends back, by call id."""
    items = request["input"] if isinstance(request["input"], list) else []
    return {i["call_id"]: i["output"] for i in items if i.get("type") == "function_call_output"}


def test_the_action_reads_the_head_commits_archive_and_answers_every_call(act: Act) -> None:
    r = act("agent_review", "pull_request", payload(OPENED), context="agent")
    assert r.code == 0, r.out
    assert f"GET /tarball/{mc.HEAD}" in r.github
    [download] = [s for s in r.sent if s.url == mc.CODELOAD]
    assert "Authorization" not in download.headers and "authorization" not in download.headers

    first, second, verification = model_requests(r)
    assert [t["name"] for t in first["tools"]] == ["read_file", "grep", "list_dir", "find_symbol"]
    assert first["tool_choice"] == "auto" and first["store"] is False
    assert first["prompt_cache_key"] == second["prompt_cache_key"] != "reviewbot-review-v1"
    # the stable prefix is byte-identical on the second turn: instructions, tools, first message
    assert (second["instructions"], second["tools"]) == (first["instructions"], first["tools"])
    assert second["input"][0] == {"role": "user", "content": first["input"]}
    answers = outputs(second)
    assert list(answers) == ["call_1", "call_2", "call_3", "call_4"]
    assert 'print("Helo " + name)' in answers["call_1"]  # hello.py at the head, numbered
    assert "main.py:3" in answers["call_2"]  # grep found the caller in another file
    assert "link" in answers["call_3"] and "environ" not in answers["call_3"].split("\n", 1)[-1]
    # text of the pull request's files comes back fenced as untrusted data
    assert mc.INJECTION in answers["call_4"]
    before, _, after = answers["call_4"].partition(mc.INJECTION)
    assert "<<<BEGIN UNTRUSTED DATA" in before and "<<<END UNTRUSTED DATA" in after
    assert "tools" not in verification  # verification checks without looking around

    [review] = r.review_posts()
    assert [c["line"] for c in review["comments"]] == [2]
    assert "Coverage gap" not in review["body"]
    assert "Agent mode: tool calls" in r.summary
    assert "Part 1: 2 turn(s), 4 tool call(s)" in r.summary
    assert "`read_file hello.py:1-40`" in r.summary and "`grep greet(`" in r.summary


def test_a_spent_call_budget_is_a_coverage_gap_in_the_review_and_the_summary(act: Act) -> None:
    # the base branch's config allows one tool call a part; the model asks for three at once
    r = act("agent_budget_spent", "pull_request", payload(OPENED))
    assert r.code == 0, r.out
    first, second, _ = model_requests(r)
    assert first["tool_choice"] == "auto" and second["tool_choice"] == "none"
    answers = outputs(second)
    assert list(answers) == ["call_1", "call_2", "call_3"]  # every call answered
    assert 'print("Helo " + name)' in answers["call_1"]
    assert all("not run" in answers[c] for c in ("call_2", "call_3"))
    gap = "Coverage gap in agent mode: the tool-call budget (1 call) was spent"
    [review] = r.review_posts()
    assert gap in review["body"] and gap in r.summary
    assert "coverage gap: the tool-call budget" in r.summary  # on the part's line too


@pytest.mark.parametrize(
    ("cassette", "why"),
    [
        ("agent_archive_missing", "the code archive was not available (GitHub refused to "),
        ("agent_archive_too_large", "it is 300 MB, over the 256 MB allowed"),
    ],
)
def test_an_archive_that_fails_or_is_too_large_reviews_with_scope_and_says_so(
    act: Act, cassette: str, why: str
) -> None:
    r = act(cassette, "pull_request", payload(OPENED), context="agent")
    assert r.code == 0, r.out
    [request, _] = model_requests(r)
    assert "tools" not in request and "@@" in request["input"]
    [review] = r.review_posts()
    for text in (review["body"], r.summary):
        assert "Agent mode: " in text and why in text and "reviewed with scope context" in text
    assert "Agent mode: tool calls" not in r.summary


def test_a_dry_run_prints_the_tool_definitions_and_the_first_request(act: Act) -> None:
    r = act("agent_dry_run", "pull_request", payload(OPENED), context="agent", dry_run="true")
    assert r.code == 0, r.out
    assert not r.review_posts() and not [s for s in r.sent if "/issues/" in s.url]
    shown = r.out.split("agent mode: the tools and the first request", 1)[1]
    assert '"name": "read_file"' in shown and '"name": "find_symbol"' in shown
    assert "# Looking around (agent mode)" in shown  # the first request's instructions
    assert 'print("Helo " + name)' in shown  # and its input, the hunk
    assert "::stop-commands::" in r.out.split("agent mode: the tools", 1)[1].split("\n", 2)[1]


# ------------------------------------------------------------------ where the code comes from


class Archive:
    """A GitHub whose archive download is counted, and fails or sends `data`."""

    def __init__(self, data: bytes | None = None) -> None:
        self.data = data
        self.asked: list[str] = []

    def archive(self, ref: str, into: IO[bytes], max_bytes: int) -> int:
        self.asked.append(ref)
        if self.data == b"disk full":
            raise OSError(28, "No space left on device")
        if self.data is None:
            raise GitHubError("GitHub refused to download the code at abc1234 (403): nope", 403)
        into.write(self.data)
        return len(self.data)


def _repo(tmp_path: Path) -> tuple[Path, str, str]:
    git = git_repo(tmp_path)
    (tmp_path / "a.py").write_text("def f():\n    return 1\n")
    git("add", "a.py")
    git("commit", "-qm", "base")
    (tmp_path / "a.py").write_text("def f():\n    return 2\n")
    git("commit", "-qam", "head")
    shas = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD~1", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return tmp_path, shas[0], shas[1]


def _pr(base: str, head: str) -> PullInfo:
    return PullInfo(7, "t", "", head, base, "main", "o/r", "o/r", False, "open", "")


def test_a_workspace_that_holds_the_commits_is_read_without_a_download(tmp_path: Path) -> None:
    workspace, base, head = _repo(tmp_path)
    gh: Any = Archive()
    agent, config, note = pull_agent(
        Config(context="agent"),
        gh,
        _pr(base, head),
        workspace,
    )
    assert agent is not None and config.context == "agent" and note == ""
    try:
        assert agent.snapshot.read("head", "a.py") == b"def f():\n    return 2\n"
        assert agent.snapshot.read("base", "a.py") == b"def f():\n    return 1\n"
    finally:
        agent.snapshot.close()
    assert gh.asked == []


def test_a_workspace_without_the_commit_downloads_the_archive(tmp_path: Path) -> None:
    workspace, base, _ = _repo(tmp_path)
    gh: Any = Archive(mc.archive_bytes())
    absent = "0123456789abcdef0123456789abcdef01234567"
    agent, _, note = pull_agent(
        Config(context="agent"),
        gh,
        _pr(base, absent),
        workspace,
    )
    assert agent is not None and note == "" and gh.asked == [absent]
    try:
        assert agent.snapshot.read("head", "hello.py") == mc.HELLO_AT_HEAD.encode()
    finally:
        agent.snapshot.close()


def test_a_full_disk_is_a_fallback_to_scope_not_a_failed_review(tmp_path: Path) -> None:
    gh: Any = Archive(b"disk full")
    agent, config, note = pull_agent(Config(context="agent"), gh, _pr("a" * 40, "b" * 40))
    assert agent is None and config.context == "scope"
    assert "could not store it: No space left on device" in note


def test_a_partial_clone_is_not_read_blob_by_blob_but_downloaded(tmp_path: Path) -> None:
    workspace, base, head = _repo(tmp_path)
    subprocess.run(
        ["git", "-C", str(workspace), "config", "extensions.partialClone", "origin"], check=True
    )
    gh: Any = Archive(mc.archive_bytes())
    agent, _, _ = pull_agent(Config(context="agent"), gh, _pr(base, head), workspace)
    assert agent is not None and gh.asked == [head]
    agent.snapshot.close()


def test_a_ref_the_pull_request_could_name_is_never_looked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reviewbot.agent import wiring

    workspace, base, _ = _repo(tmp_path)
    asked: list[tuple[str, ...]] = []
    real = wiring._git

    def git(*args: str) -> str | None:
        asked.append(args)
        return real(*args)

    monkeypatch.setattr(wiring, "_git", git)
    gh: Any = Archive()  # the download fails: scope, and the note says why
    agent, config, note = pull_agent(
        Config(context="agent"),
        gh,
        _pr(base, "--output=/tmp/x"),
        workspace,
    )
    assert not any("--output=/tmp/x" in a for a in asked)  # git is never handed the ref
    assert agent is None and config.context == "scope"
    assert "not available (GitHub refused to download" in note
    assert "\n" not in note


# ------------------------------------------------------------------ the download itself


class _Server:
    """The API on 127.0.0.1 answering 302 to a "codeload" on localhost (another host name),
    which fails `fail` times (`cut`: the first of them is a 200 that drops the connection
    after its first 64 KiB), then sends `body` (chunked: no Content-Length)."""

    def __init__(self, body: bytes, fail: int = 0, cut: bool = False) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[tuple[str, str, str]] = []  # (host, path, Authorization)
        self.fail = fail
        self.cut = cut
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.seen.append(
                    (self.headers["Host"], self.path, self.headers.get("Authorization", ""))
                )
                if self.path.startswith("/repos/old/name/"):  # a renamed repository
                    self.send_response(301)
                    self.send_header("Location", f"/repositories/42/{self.path.split('/', 4)[4]}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if "/tarball/" in self.path:
                    self.send_response(302)
                    self.send_header("Location", f"http://localhost:{port}/codeload/x.tar.gz")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if outer.fail:
                    outer.fail -= 1
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if outer.cut:  # a connection lost mid-download, after some bytes arrived
                    outer.cut = False
                    self.wfile.write(f"{65536:x}\r\n".encode() + body[:65536] + b"\r\n")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                for i in range(0, len(body), 65536):
                    part = body[i : i + 65536]
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.httpd.server_address[1]
        self.api = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _client(api: str, repo: str = "o/r") -> Any:
    from reviewbot.github import GitHubClient

    return GitHubClient(FAKE_TOKEN, repo, api, write_pause=0, secondary_wait=0, backoff=0)


def test_the_token_goes_to_the_api_only_and_a_failed_download_is_tried_again() -> None:
    import io

    server = _Server(b"x" * 300_000, fail=1)
    try:
        into = io.BytesIO()
        assert _client(server.api).archive("abc123", into, 1_000_000) == 300_000
    finally:
        server.close()
    assert into.getvalue() == b"x" * 300_000  # the failed attempt left nothing behind
    api = [s for s in server.seen if s[0].startswith("127.0.0.1")]
    codeload = [s for s in server.seen if s[0].startswith("localhost")]
    assert [p for _, p, _ in api] == ["/repos/o/r/tarball/abc123"] * 2
    assert all(auth == f"token {FAKE_TOKEN}" for _, _, auth in api)
    assert len(codeload) == 2 and all(auth == "" for _, _, auth in codeload)


def test_a_download_past_the_cap_stops_without_a_declared_length() -> None:
    import io

    from reviewbot.pulls import AnswerTooLarge

    server = _Server(b"x" * 3_000_000)
    try:
        with pytest.raises(AnswerTooLarge, match="passed the 1 MB allowed"):
            _client(server.api).archive("abc123", io.BytesIO(), 1_048_576)
    finally:
        server.close()


def test_a_renamed_repositorys_redirect_keeps_the_token_on_the_api_only() -> None:
    import io

    server = _Server(b"y" * 1000)
    try:
        assert _client(server.api, "old/name").archive("abc123", io.BytesIO(), 10_000) == 1000
    finally:
        server.close()
    assert [(p, auth != "") for _, p, auth in server.seen] == [
        ("/repos/old/name/tarball/abc123", True),
        ("/repositories/42/tarball/abc123", True),  # the same origin: the API
        ("/codeload/x.tar.gz", False),
    ]


def test_a_download_cut_off_midway_starts_again_from_nothing() -> None:
    import io

    body = bytes(range(256)) * 1200  # 300 KB, a first piece of it sent before the cut
    server = _Server(body, cut=True)
    try:
        into = io.BytesIO()
        assert _client(server.api).archive("abc123", into, 1_000_000) == len(body)
    finally:
        server.close()
    assert into.getvalue() == body  # not the cut attempt's 64 KiB, then the whole again
    assert len([s for s in server.seen if s[0].startswith("localhost")]) == 2
