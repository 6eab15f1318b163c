"""`reviewbot review --pr`: a pull request reviewed from a terminal, over cassettes of GitHub's
answers (tests/pr_cassettes.py) and a model on 127.0.0.1. Run from a directory that is no git
repository; nothing is ever written to GitHub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import vcr
import yaml

from reviewbot.cli import main
from tests import make_cassettes as mc
from tests import pr_cassettes as pc
from tests.conftest import CASSETTES, FAKE_KEY, FakeResponses, responses_body
from tests.test_graphql_shapes import answer, query_for, within

FAKE_TOKEN = "ghp_faketokenfaketokenfaketoken012345"
TYPO = {k: v for k, v in mc.TYPO.items()}


def _accept(r1: Any, r2: Any) -> None:
    assert (r1.headers.get("Accept") == mc.DIFF_MEDIA) == (
        r2.headers.get("Accept") == mc.DIFF_MEDIA
    )


VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES / "pr"),
    record_mode="none",
    filter_headers=["authorization"],
    match_on=["method", "scheme", "host", "port", "path", "query", "accept"],
    ignore_localhost=True,  # the model endpoint on 127.0.0.1 answers for itself
)
VCR.register_matcher("accept", _accept)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, bytes]]]:
    """Every request PyGithub sends (method, URL, body), seen before vcr answers it."""
    seen: list[tuple[str, str, bytes]] = []
    real = requests.Session.send

    def spy(self: requests.Session, req: requests.PreparedRequest, **kw: Any) -> Any:
        body = req.body if isinstance(req.body, bytes) else (req.body or "").encode()
        url = (req.url or "").replace(":443/", "/", 1)  # PyGithub names the port
        seen.append((req.method or "", url, body))
        return real(self, req, **kw)

    monkeypatch.setattr(requests.Session, "send", spy)
    yield seen


@pytest.fixture
def outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.delenv("GH_TOKEN", raising=False)
    return tmp_path


def review_pr(
    cassette: str,
    spec: str,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    env: dict[str, str],
) -> tuple[int, str, str]:
    with VCR.use_cassette(f"{cassette}.yaml") as cass:
        code = main(["review", "--pr", spec, *args], env)
        assert cass.all_played, f"not every recorded request was made: {cass.play_counts}"
    out, err = capsys.readouterr()
    assert FAKE_TOKEN not in out + err and FAKE_KEY not in out + err
    return code, out, err


def assert_only_reads(sent: list[tuple[str, str, bytes]]) -> None:
    """GETs, and GraphQL queries (POSTs that read): no review, comment, reaction or mutation."""
    assert sent
    for method, url, body in sent:
        if method == "POST" and url.endswith("/graphql"):
            assert json.loads(body)["query"].lstrip().startswith("query"), body[:200]
        else:
            assert method == "GET", f"{method} {url}"


@pytest.mark.parametrize("name", sorted(pc.SCENARIOS))
def test_the_pr_cassettes_hold_only_reads_in_githubs_shapes(name: str) -> None:
    doc = yaml.safe_load((CASSETTES / "pr" / f"{name}.yaml").read_text())
    for it in doc["interactions"]:
        method, uri = it["request"]["method"], it["request"]["uri"]
        assert method == "GET" or (method == "POST" and uri.endswith("/graphql")), uri
        if uri.endswith("/graphql"):  # REST bodies: tests/test_cassette_shapes.py
            data = json.loads(it["response"]["body"]["string"])["data"]
            result = answer(query_for(data), data)
            assert result.errors is None and within(data, result.data), name


def test_a_pull_request_is_reviewed_like_the_action_and_printed_posting_nothing(
    outside_a_repository: Path,
    fake_responses: FakeResponses,
    sent: list[tuple[str, str, bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"GITHUB_TOKEN": FAKE_TOKEN, "REVIEWBOT_API_KEY": FAKE_KEY}
    fake_responses.default = (200, {}, responses_body({"summary": "Typo.", "findings": [TYPO]}))
    keep = {"id": 1, "verdict": "keep", "severity": None, "reason": "It is misspelled."}
    fake_responses.by_content["finding_verdicts"] = (200, {}, responses_body({"verdicts": [keep]}))
    code, out, err = review_pr(
        "opened",
        "https://github.com/Codertocat/Hello-World/pull/2",
        capsys,
        "--base-url",
        fake_responses.base_url,
        "--format",
        "text",
        env=env,
    )
    assert code == 0, err
    assert out == "hello.py:2:1: major: Greeting is misspelled\n"
    assert_only_reads(sent)
    assert [(m, u.removeprefix(mc.API)) for m, u, _ in sent] == [
        ("GET", "/pulls/2"),
        ("GET", f"/contents/.github/reviewbot.yml?ref={mc.BASE}"),  # the base commit's
        ("GET", "/pulls/2"),
        ("POST", "https://api.github.com/graphql"),
    ]
    [(_, _, body), (_, _, verification)] = fake_responses.seen  # the review, then its check
    assert b"Greeting is misspelled" in verification
    request = json.loads(body)
    # The base branch's config, the PR's own words as untrusted data, the scope from the head
    # and the guidance from the base: what the Action sends.
    assert "Prefer f-strings." in request["instructions"]
    assert mc.AGENTS_MD in request["instructions"]
    text = request["input"].rsplit("<<<BEGIN UNTRUSTED DATA", 1)[1]
    assert "Pull request title: Update the README with new information." in text
    assert 'R2 +     print("Helo " + name)' in text
    assert "reviewing Codertocat/Hello-World#2 (open) at ec26c3e; nothing is posted" in err
    assert "settings from .github/reviewbot.yml (master)" in err


def test_agent_mode_reads_the_head_commits_archive_without_sending_the_token_there(
    outside_a_repository: Path,
    fake_responses: FakeResponses,
    sent: list[tuple[str, str, bytes]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {"GITHUB_TOKEN": FAKE_TOKEN, "REVIEWBOT_API_KEY": FAKE_KEY}
    fake_responses.default = (200, {}, responses_body({"summary": "Typo.", "findings": [TYPO]}))
    keep = {"id": 1, "verdict": "keep", "severity": None, "reason": "It is misspelled."}
    fake_responses.by_content["finding_verdicts"] = (200, {}, responses_body({"verdicts": [keep]}))
    headers: dict[str, dict[str, str]] = {}
    real = requests.Session.send

    def keep_headers(self: requests.Session, req: requests.PreparedRequest, **kw: Any) -> Any:
        headers[req.url or ""] = dict(req.headers)
        return real(self, req, **kw)

    monkeypatch.setattr(requests.Session, "send", keep_headers)
    code, out, err = review_pr(
        "agent",
        "Codertocat/Hello-World#2",
        capsys,
        "--context",
        "agent",
        "--base-url",
        fake_responses.base_url,
        "--format",
        "text",
        env=env,
    )
    assert code == 0, err
    assert out == "hello.py:2:1: major: Greeting is misspelled\n"
    assert "agent mode" not in err  # no fallback: the archive was read
    assert "Authorization" not in headers[mc.CODELOAD]
    assert headers[f"{mc.API}/tarball/{mc.HEAD}"]["Authorization"] == f"token {FAKE_TOKEN}"
    review, verification = (json.loads(body) for _, _, body in fake_responses.seen)
    assert [t["name"] for t in review["tools"]] == ["read_file", "grep", "list_dir", "find_symbol"]
    assert "tools" not in verification


def test_a_short_spec_and_gh_token_and_every_format(
    outside_a_repository: Path,
    fake_responses: FakeResponses,
    sent: list[tuple[str, str, bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"GH_TOKEN": FAKE_TOKEN, "REVIEWBOT_API_KEY": FAKE_KEY}
    fake_responses.default = (200, {}, responses_body({"summary": "Typo.", "findings": [TYPO]}))
    base = ("--base-url", fake_responses.base_url)
    code, out, _ = review_pr("opened", "Codertocat/Hello-World#2", capsys, *base, env=env)
    assert code == 0
    assert "🟠 **Major**: Greeting is misspelled" in out  # markdown, as GitHub would show it
    assert '```suggestion\n    print("Hello " + name)\n```' in out
    code, out, _ = review_pr(
        "opened",
        "Codertocat/Hello-World#2",
        capsys,
        *base,
        "--format",
        "json",
        env=env,
    )
    [f] = json.loads(out)["findings"]
    assert (f["path"], f["line"], f["anchored"]) == ("hello.py", 2, True)
    code, out, _ = review_pr(
        "opened",
        "Codertocat/Hello-World#2",
        capsys,
        *base,
        "--format",
        "sarif",
        "--fail-on",
        "major",
        env=env,
    )
    assert code == 3
    assert json.loads(out)["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert_only_reads(sent)


def test_past_githubs_diff_limits_the_files_api_is_used_and_the_rest_is_named(
    outside_a_repository: Path,
    fake_responses: FakeResponses,
    sent: list[tuple[str, str, bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"GITHUB_TOKEN": FAKE_TOKEN, "REVIEWBOT_API_KEY": FAKE_KEY}
    fake_responses.default = (200, {}, responses_body({"summary": "Typo.", "findings": [TYPO]}))
    code, out, err = review_pr(
        "diff_too_large",
        "Codertocat/Hello-World#2",
        capsys,
        "--base-url",
        fake_responses.base_url,
        "--format",
        "json",
        env=env,
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "partial"
    assert {s["path"] for s in doc["not_reviewed"]} == {"logo.png", "data/huge.sql"}
    assert "rebuilt from the files API" in err
    assert "reviewbot: not reviewed: 2 file(s): logo.png (GitHub sent no patch" in err
    assert_only_reads(sent)


def test_github_enterprise_through_github_api_url(
    outside_a_repository: Path,
    fake_responses: FakeResponses,
    sent: list[tuple[str, str, bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        "GITHUB_TOKEN": FAKE_TOKEN,
        "REVIEWBOT_API_KEY": FAKE_KEY,
        "GITHUB_API_URL": pc.ENTERPRISE_API,
    }
    fake_responses.default = (200, {}, responses_body({"summary": "Typo.", "findings": [TYPO]}))
    base = ("--base-url", fake_responses.base_url, "--format", "text")
    for spec in (
        "Codertocat/Hello-World#2",
        "https://ghe.example.com/Codertocat/Hello-World/pull/2",
    ):
        code, out, err = review_pr("enterprise", spec, capsys, *base, env=env)
        assert code == 0, err
        assert out == "hello.py:2:1: major: Greeting is misspelled\n"
    assert {u.split("/api/")[0] for _, u, _ in sent} == {"https://ghe.example.com"}
    assert_only_reads(sent)


class Sent(BaseException):
    """A request left the process (raised, not sent: no test reaches a network)."""


@pytest.fixture
def nothing_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: requests.Session, req: requests.PreparedRequest, **kw: Any) -> Any:
        raise Sent(f"{req.method} {req.url} with {req.headers.get('Authorization', '')!r}")

    monkeypatch.setattr(requests.Session, "send", refuse)


ENTERPRISE = {"GITHUB_API_URL": pc.ENTERPRISE_API}


@pytest.mark.parametrize(
    ("spec", "env", "says"),
    [
        # look-alikes of github.com, with no Enterprise configured
        ("https://githb.com/o/r/pull/1", {}, "githb.com is not github.com"),
        ("https://github.com.evil.example/o/r/pull/1", {}, "github.com.evil.example is not"),
        ("https://ghe.example.com/o/r/pull/7/files", {}, "set GITHUB_API_URL to its API"),
        # userinfo: the host is what follows the @, whatever comes before it
        ("https://github.com@evil.example/o/r/pull/42", {}, "no user name or password"),
        ("https://user:pw@ghe.example.com/o/r/pull/1", ENTERPRISE, "no user name or password"),
        ("http://github.com/o/r/pull/1", {}, "takes an https:// pull request URL"),
        ("https://github.com:8443/o/r/pull/1", {}, "has no port (:8443)"),
        ("https://github.com:x/o/r/pull/1", {}, "has no valid port"),
        # an Enterprise API is configured: only its own host gets the token
        ("https://evil.example/o/r/pull/1", ENTERPRISE, "but GITHUB_API_URL is"),
        ("https://ghe.example.com.evil.example/o/r/pull/1", ENTERPRISE, "but GITHUB_API_URL"),
        ("https://ghe.example.com:8443/o/r/pull/1", ENTERPRISE, "but GITHUB_API_URL"),
        ("https://example.com/o/r/pull/1", ENTERPRISE, "but GITHUB_API_URL"),
    ],
)
def test_a_pr_url_on_any_other_host_is_refused_before_the_token_leaves(
    outside_a_repository: Path,
    nothing_sent: None,
    capsys: pytest.CaptureFixture[str],
    spec: str,
    env: dict[str, str],
    says: str,
) -> None:
    code = main(["review", "--pr", spec, "--dry-run"], {"GH_TOKEN": FAKE_TOKEN, **env})
    out, err = capsys.readouterr()
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith("reviewbot: error: --pr") and says in line, line
    assert out == "" and FAKE_TOKEN not in err


def test_the_refusal_says_how_to_allow_an_enterprise_host(
    outside_a_repository: Path, nothing_sent: None, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["review", "--pr", "https://ghe.example.com/o/r/pull/7", "--dry-run"], {"GH_TOKEN": "t"})
    assert capsys.readouterr().err == (
        "reviewbot: error: --pr: ghe.example.com is not github.com, and the GitHub token is "
        "sent only to api.github.com: for a GitHub Enterprise server, set GITHUB_API_URL to its "
        "API (e.g. GITHUB_API_URL=https://ghe.example.com/api/v3)\n"
    )


@pytest.mark.parametrize(
    ("spec", "env", "api"),
    [
        ("https://github.com/o/r.js/pull/12", {}, "https://api.github.com"),
        ("https://www.github.com/o/r/pull/12/files", {}, "https://api.github.com"),
        ("https://GitHub.com:443/o/r/pull/12", {}, "https://api.github.com"),
        ("o/r#12", {}, "https://api.github.com"),
        # a github.com URL is github.com's, whatever Enterprise API is configured
        ("https://github.com/o/r/pull/12", ENTERPRISE, "https://api.github.com"),
        ("o/r#12", ENTERPRISE, pc.ENTERPRISE_API),
        ("https://ghe.example.com/o/r/pull/12", ENTERPRISE, pc.ENTERPRISE_API),
        # GHE.com with data residency: the API is api.SUBDOMAIN.ghe.com
        (
            "https://octocorp.ghe.com/o/r/pull/12",
            {"GITHUB_API_URL": "https://api.octocorp.ghe.com"},
            "https://api.octocorp.ghe.com",
        ),
    ],
)
def test_the_token_goes_only_to_api_github_com_or_github_api_url(
    spec: str, env: dict[str, str], api: str
) -> None:
    from reviewbot.remote import pull_source

    given: list[tuple[str, str, str]] = []

    def make_github(token: str, repo: str, api_url: str) -> Any:
        given.append((token, repo, api_url))
        raise Sent(api_url)

    with pytest.raises(Sent):
        pull_source(spec, {"GH_TOKEN": FAKE_TOKEN, **env}, {}, make_github=make_github)
    assert [(token, api_url) for token, _, api_url in given] == [(FAKE_TOKEN, api)]


@pytest.mark.parametrize(
    ("cassette", "line"),
    [
        (
            "not_found",
            "reviewbot: error: pull request Codertocat/Hello-World#2 was not found on "
            "api.github.com (or GITHUB_TOKEN cannot see it)",
        ),
        (
            "bad_credentials",
            "reviewbot: error: api.github.com did not accept the token in GITHUB_TOKEN (401)",
        ),
    ],
)
def test_github_refusals_are_one_line_and_exit_1(
    outside_a_repository: Path,
    sent: list[tuple[str, str, bytes]],
    capsys: pytest.CaptureFixture[str],
    cassette: str,
    line: str,
) -> None:
    env = {"GITHUB_TOKEN": FAKE_TOKEN}
    code, out, err = review_pr(cassette, "Codertocat/Hello-World#2", capsys, "--dry-run", env=env)
    assert code == 1
    assert out == "" and err.strip().splitlines() == [line]
    assert_only_reads(sent)


@pytest.mark.parametrize(
    "spec",
    ["Codertocat/Hello-World", "Hello-World#2", "https://github.com/o/r/issues/2", "o/r#x", ""],
)
def test_a_bad_pr_spec_is_a_usage_error(
    outside_a_repository: Path, capsys: pytest.CaptureFixture[str], spec: str
) -> None:
    assert main(["review", "--pr", spec, "--dry-run"], {"GITHUB_TOKEN": FAKE_TOKEN}) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("reviewbot: error: --pr takes OWNER/REPO#NUMBER or a pull request URL")


def test_without_a_token_it_names_both_variables(
    outside_a_repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", "--pr", "o/r#1", "--dry-run"], {"REVIEWBOT_API_KEY": FAKE_KEY}) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        "reviewbot: error: --pr needs a GitHub token: set GITHUB_TOKEN or GH_TOKEN"
    )


def test_a_local_config_file_stands_in_for_the_base_branchs(
    outside_a_repository: Path,
    fake_responses: FakeResponses,
    sent: list[tuple[str, str, bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"GITHUB_TOKEN": FAKE_TOKEN, "REVIEWBOT_API_KEY": FAKE_KEY}
    conf = outside_a_repository / "try.yml"
    conf.write_text("instructions: Trying out local rules.\n")
    base = ("--base-url", fake_responses.base_url, "--config", str(conf))
    code, _, err = review_pr("local_config", "Codertocat/Hello-World#2", capsys, *base, env=env)
    assert code == 0, err
    [(_, _, body)] = fake_responses.seen
    assert "Trying out local rules." in json.loads(body)["instructions"]
    assert not any("/contents/" in u for _, u, _ in sent)
    assert_only_reads(sent)
