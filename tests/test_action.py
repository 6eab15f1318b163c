"""`reviewbot action` end to end: real PyGithub and httpx over vcrpy cassettes, real payloads."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import requests
import vcr

from reviewbot import walkthrough
from reviewbot.action import run_action
from reviewbot.github import GitHubClient
from tests import make_cassettes as mc
from tests.conftest import CASSETTES, DATA, FAKE_KEY, FakeResponses, responses_body

FAKE_TOKEN = "ghs_faketokenfaketokenfaketoken0123"  # an installation token, as Actions gives
PAT = "ghp_fakepersonaltokenfakepersonal012345"  # a personal access token
EVENTS = DATA / "events"


def _accept(r1: Any, r2: Any) -> None:
    diff1 = r1.headers.get("Accept") == mc.DIFF_MEDIA
    diff2 = r2.headers.get("Accept") == mc.DIFF_MEDIA
    assert diff1 == diff2


VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES / "action"),
    record_mode="none",
    filter_headers=["authorization"],
    match_on=["method", "scheme", "host", "port", "path", "query", "accept"],
    ignore_localhost=True,  # a model endpoint on 127.0.0.1 (FakeResponses) answers for itself
)
VCR.register_matcher("accept", _accept)


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def line(self) -> str:
        return f"{self.method} {self.url.replace(mc.API, '').replace(mc.ROOT_API, '')}"

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Result:
    code: int
    out: str
    outputs: dict[str, str]
    summary: str
    sent: list[Sent]

    @property
    def github(self) -> list[str]:
        return [s.line for s in self.sent if s.url.startswith(mc.ROOT_API)]

    @property
    def model_calls(self) -> int:
        return sum(1 for s in self.sent if s.url == mc.MODEL_URL)

    def review_posts(self) -> list[dict[str, Any]]:
        return [s.json() for s in self.sent if s.line == "POST /pulls/2/reviews"]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Sent]]:
    sent: list[Sent] = []
    real_requests = requests.Session.send
    real_httpx = httpx.Client.send

    def requests_send(self: requests.Session, req: requests.PreparedRequest, **kw: Any) -> Any:
        body = req.body if isinstance(req.body, bytes) else (req.body or "").encode()
        url = (req.url or "").replace("https://api.github.com:443/", "https://api.github.com/")
        sent.append(Sent(req.method or "", url, dict(req.headers), body))
        return real_requests(self, req, **kw)

    def httpx_send(self: httpx.Client, req: httpx.Request, **kw: Any) -> Any:
        sent.append(Sent(req.method, str(req.url), dict(req.headers), req.read()))
        return real_httpx(self, req, **kw)

    monkeypatch.setattr(requests.Session, "send", requests_send)
    monkeypatch.setattr(httpx.Client, "send", httpx_send)
    yield sent


def payload(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EVENTS / name).read_text()))


def push_payload() -> dict[str, Any]:
    """A push to a reviewed PR: `synchronize` with the head at NEW_HEAD."""
    data = payload("pull_request.synchronize.json")
    data["pull_request"]["head"]["sha"] = mc.NEW_HEAD
    return data


def comment_payload(
    body: str = "/review", login: str = "octocat", user_type: str = "User"
) -> dict[str, Any]:
    p = payload("issue_comment.created.json")
    p["issue"]["number"] = 2
    p["issue"]["pull_request"] = {
        "url": f"{mc.API}/pulls/2",
        "html_url": "https://github.com/Codertocat/Hello-World/pull/2",
    }
    p["comment"]["body"] = body
    p["comment"]["id"] = mc.COMMAND_ID
    p["comment"]["user"]["login"] = login
    p["comment"]["user"]["type"] = user_type
    return p


class Act(Protocol):
    def __call__(
        self, cassette: str | None, event: str, data: dict[str, Any], **inputs: str
    ) -> Result: ...


@pytest.fixture
def act(tmp_path: Path, spy: list[Sent], capsys: pytest.CaptureFixture[str]) -> Act:
    """Runs `reviewbot action` on one event over one cassette (None: no HTTP allowed)."""

    def call(cassette: str | None, event: str, data: dict[str, Any], **inputs: str) -> Result:
        return run(tmp_path, spy, capsys, cassette, event, data, **inputs)

    return call


def run(
    tmp_path: Path,
    spy: list[Sent],
    capsys: pytest.CaptureFixture[str],
    cassette: str | None,
    event: str,
    data: dict[str, Any],
    **inputs: str,
) -> Result:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(data))
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "INPUT_API_KEY": FAKE_KEY,
        "INPUT_GITHUB_TOKEN": FAKE_TOKEN,
        "INPUT_TRIGGER_PHRASE": "/review",
        "INPUT_FAIL_ON_ERROR": "true",
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }

    def github(token: str, repo: str, api_url: str) -> GitHubClient:
        return GitHubClient(token, repo, api_url, write_pause=0, secondary_wait=0, backoff=0)

    if cassette is None:
        code = run_action(env, make_github=github)
    else:
        with VCR.use_cassette(f"{cassette}.yaml") as cass:
            code = run_action(env, make_github=github)
            assert cass.all_played, f"not every recorded request was made: {cass.play_counts}"
    captured = capsys.readouterr()
    outputs = dict(
        line.split("=", 1) for line in (output.read_text().splitlines() if output.exists() else [])
    )
    result = Result(
        code,
        captured.out + captured.err,
        outputs,
        summary.read_text() if summary.exists() else "",
        spy,
    )
    everything = result.out + result.summary + "".join(s.body.decode(errors="replace") for s in spy)
    assert FAKE_KEY not in everything.replace(f"::add-mask::{FAKE_KEY}", "")
    assert FAKE_TOKEN not in everything
    for s in spy:
        if s.url.startswith(mc.ROOT_API):
            assert FAKE_KEY not in json.dumps(s.headers)
        else:
            assert FAKE_TOKEN not in json.dumps(s.headers), s.url
    return result


READS = [
    "GET /pulls/2",
    "GET /pulls/2/reviews?page=1&per_page=100",
    f"GET /contents/.github/reviewbot.yml?ref={mc.BASE}",
]


def test_opened_pr_gets_one_comment_review(act: Act) -> None:
    r = act("opened", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    # one GraphQL read: the texts of the (few) files and the guidance files; the PR's first
    # review also posts its walkthrough
    assert r.github == [
        *READS,
        "GET /pulls/2",
        "POST /graphql",
        "POST /pulls/2/reviews",
        "POST /issues/2/comments",
    ]
    assert r.model_calls == 2  # the review, then the verification of its finding
    [review] = r.review_posts()
    assert review["event"] == "COMMENT" and review["commit_id"] == mc.HEAD
    [comment] = review["comments"]
    assert (comment["path"], comment["line"], comment["side"]) == ("hello.py", 2, "RIGHT")
    assert '```suggestion\n    print("Hello " + name)\n```' in comment["body"]
    assert "`hello.py:40` Unrelated: add a docstring" in review["body"]
    assert f"<!-- reviewbot:v1 head={mc.HEAD} fp=" in review["body"]
    assert r.outputs == {
        "status": "reviewed",
        "review_url": mc.REVIEW_OK["html_url"],
        "findings": "2",
        "inline_comments": "1",
    }
    assert "### reviewbot: #2 at `ec26c3e` — reviewed" in r.summary
    assert "1 major, 1 nit" in r.summary and mc.REVIEW_OK["html_url"] in r.summary
    assert f"::add-mask::{FAKE_KEY}" in r.out


def test_github_request_count_for_a_small_pr_is_in_single_digits(act: Act) -> None:
    r = act("comment_by_writer", "issue_comment", comment_payload())
    assert r.code == 0, r.out
    # Every request, in order (vcr would refuse any other): nine, with the walkthrough posted
    # by the PR's first review. A new request here is a budget decision, not a passing detail.
    assert r.github == [
        "GET /collaborators/octocat/permission",
        f"POST /issues/comments/{mc.COMMAND_ID}/reactions",
        "GET /pulls/2",
        "GET /pulls/2/reviews?page=1&per_page=100",
        f"GET /contents/.github/reviewbot.yml?ref={mc.BASE}",
        "GET /pulls/2",  # the diff (another media type)
        "POST /graphql",  # file texts and guidance, in one read
        "POST /pulls/2/reviews",
        "POST /issues/2/comments",  # the walkthrough
    ]
    assert [s.json() for s in r.sent if "reactions" in s.url] == [{"content": "eyes"}]
    assert len(r.review_posts()) == 1


def test_config_comes_from_the_base_branch(act: Act) -> None:
    r = act(
        "opened_with_config",
        "pull_request",
        payload("pull_request.opened.json"),
    )
    assert r.code == 0, r.out
    model_request = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)
    assert model_request["instructions"].rstrip().endswith("Prefer f-strings.")


def test_bad_config_names_the_key_and_calls_no_model(act: Act) -> None:
    r = act("bad_config", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 2
    assert "::error::reviewbot: .github/reviewbot.yml (master): unknown key 'max_coments'" in r.out
    assert r.model_calls == 0 and r.review_posts() == []
    assert r.outputs["status"] == "failed"


def test_rerun_on_the_same_head_posts_nothing(act: Act) -> None:
    r = act(
        "rerun_same_head",
        "pull_request",
        payload("pull_request.synchronize.json"),
    )
    assert r.code == 0
    assert r.github == [*READS[:2], "POST /graphql"]  # `viewer`, before skipping on its word
    assert r.model_calls == 0
    assert r.outputs["status"] == "skipped"
    assert "ec26c3e was already reviewed" in r.summary


def test_synchronize_reviews_only_new_changes_and_repeats_nothing(act: Act) -> None:
    data = push_payload()
    r = act("synchronize_incremental", "pull_request", data)
    assert r.code == 0, r.out
    assert f"GET /compare/{mc.HEAD}...{mc.NEW_HEAD}" in r.github
    model_input = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)["input"]
    assert "R4 + greet(input())" in model_input
    assert 'print("Helo " + name)' not in model_input  # reviewed before: not sent again
    assert "from_main.py" not in model_input  # merged from the base branch, not the PR's
    [review] = r.review_posts()
    assert [c["line"] for c in review["comments"]] == [4]  # the typo was posted on HEAD already
    assert "Incremental review: only the changes since ec26c3e." in review["body"]
    assert "1 finding(s) already posted on an earlier commit are not repeated." in review["body"]
    assert mc.typo_fingerprint() in review["body"].rsplit("fp=", 1)[1]
    assert review["commit_id"] == mc.NEW_HEAD


def test_force_push_falls_back_to_a_full_review_and_says_so(act: Act) -> None:
    data = push_payload()
    r = act("synchronize_force_push", "pull_request", data)
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert (
        "Full review: the last reviewed commit ec26c3e is no longer part of this branch (force-push)."
        in review["body"]
    )
    assert sorted(c["line"] for c in review["comments"]) == [2, 4]


def test_review_comment_by_a_reader_does_nothing(act: Act) -> None:
    r = act("comment_by_reader", "issue_comment", comment_payload())
    assert r.code == 0
    assert r.github == ["GET /collaborators/octocat/permission"]
    assert r.model_calls == 0
    assert "octocat asked for a review but has read permission" in r.summary


@pytest.mark.parametrize(
    ("body", "user_type", "action", "why"),
    [
        ("/review", "Bot", "created", "comments by bots never trigger a review"),
        ("looks good to me", "User", "created", "the comment does not start with /review"),
        ("/reviewer please", "User", "created", "the comment does not start with /review"),
        ("/review", "User", "edited", "comment edited: only new comments can ask for a review"),
    ],
)
def test_comments_that_do_not_ask_make_no_request(
    act: Act,
    body: str,
    user_type: str,
    action: str,
    why: str,
) -> None:
    data = comment_payload(body, user_type=user_type)
    data["action"] = action
    r = act(None, "issue_comment", data)
    assert r.code == 0 and r.sent == []
    assert f"::notice::reviewbot: {why}" in r.out
    assert r.outputs["status"] == "skipped"


def test_comment_on_a_plain_issue_is_ignored(act: Act) -> None:
    data = comment_payload()
    del data["issue"]["pull_request"]
    r = act(None, "issue_comment", data)
    assert r.code == 0 and r.sent == []
    assert "not a pull request" in r.out


def test_fork_pr_on_pull_request_explains_pull_request_target(act: Act) -> None:
    data = payload("pull_request.opened.json")
    data["pull_request"]["head"]["repo"]["full_name"] = "forker/Hello-World"
    r = act(None, "pull_request", data, api_key="")
    assert r.code == 0 and r.sent == []
    assert "pull_request_target" in r.summary and "Traceback" not in r.out
    assert r.outputs["status"] == "skipped"


def test_diff_too_large_falls_back_to_files_api(act: Act) -> None:
    r = act("diff_too_large", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    assert "GET /pulls/2/files?page=1&per_page=100" in r.github
    [review] = r.review_posts()
    assert [c["line"] for c in review["comments"]] == [2]
    assert (
        "- GitHub sent no patch (binary or too large) (2 files): `logo.png`, `data/huge.sql`"
        in review["body"]
    )
    assert "rebuilt from the files API" in review["body"]
    assert r.outputs["status"] == "partial"


def test_rejected_anchor_moves_comments_to_the_body_and_posts_again(act: Act) -> None:
    r = act(
        "review_rejected_422",
        "pull_request",
        payload("pull_request.opened.json"),
    )
    assert r.code == 0, r.out
    first, second = r.review_posts()
    assert len(first["comments"]) == 1 and second["comments"] == []
    assert "`hello.py:2` Greeting is misspelled" in second["body"]
    assert "Pull request review thread line must be part of the diff" in second["body"]


def test_secondary_rate_limits_are_waited_out(act: Act) -> None:
    r = act(
        "secondary_rate_limit",
        "pull_request",
        payload("pull_request.opened.json"),
    )
    assert r.code == 0, r.out
    assert r.github.count("POST /pulls/2/reviews") == 2
    assert r.outputs["status"] == "reviewed"


def test_endpoint_down_fails_with_one_line(act: Act) -> None:
    r = act("endpoint_down", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 1
    assert r.review_posts() == []
    errors = [ln for ln in r.out.splitlines() if ln.startswith("::error::")]
    assert errors == [
        "::error::reviewbot: nothing was reviewed: HTTP 503 from the model endpoint; gave up after 5 attempts"
    ]
    assert "Service temporarily unavailable" not in r.summary  # the server's words: log only
    assert r.outputs["status"] == "failed"
    assert "❌ nothing was reviewed" in r.summary


def test_fail_on_error_false_turns_failure_into_a_warning(act: Act) -> None:
    r = act(
        "endpoint_down",
        "pull_request",
        payload("pull_request.opened.json"),
        fail_on_error="false",
    )
    assert r.code == 0
    assert "::warning::reviewbot: nothing was reviewed" in r.out
    assert r.outputs["status"] == "failed"


def test_rejected_model_key_fails_fast(act: Act) -> None:
    r = act(
        "model_key_rejected",
        "pull_request",
        payload("pull_request.opened.json"),
    )
    assert r.code == 1 and r.model_calls == 1
    assert (
        "::error::reviewbot: the model endpoint refused the request (401): Incorrect API key provided"
        in r.out
    )


def test_dry_run_posts_nothing_and_prints_the_review(act: Act) -> None:
    r = act(
        "dry_run",
        "pull_request",
        payload("pull_request.opened.json"),
        dry_run="true",
    )
    assert r.code == 0, r.out
    assert r.review_posts() == []
    assert "::group::reviewbot dry run" in r.out and "Greeting is misspelled" in r.out
    # The step summary, where people trying the bot look, lists every finding.
    assert "| 🟠 major | `hello.py:2` (inline) | Greeting is misspelled |" in r.summary


def test_missing_api_key_is_a_configuration_error(act: Act) -> None:
    r = act(None, "pull_request", payload("pull_request.opened.json"), api_key="")
    assert r.code == 2 and r.sent == []
    assert "::error::reviewbot: the api_key input is empty" in r.out


def test_hyphenated_input_is_named(act: Act) -> None:
    r = act(
        None,
        "pull_request",
        payload("pull_request.opened.json"),
        **{"max-comments": "3"},
    )
    assert r.code == 2
    assert "input names use underscores, not hyphens: max-comments" in r.out


def test_unhandled_event_is_a_notice(act: Act) -> None:
    r = act(None, "push", {"ref": "refs/heads/main"})
    assert r.code == 0 and r.sent == []
    assert "::notice::reviewbot: reviewbot does not handle the push event" in r.out


def test_workflow_dispatch_needs_pr_number(act: Act) -> None:
    r = act(None, "workflow_dispatch", payload("workflow_dispatch.json"))
    assert r.code == 2
    assert "workflow_dispatch needs the input pr_number" in r.out


def test_inputs_left_at_their_defaults_let_the_repository_config_decide() -> None:
    from reviewbot.inputs import read_inputs

    env = {"INPUT_MAX_COMMENTS": "25", "INPUT_MODEL": "openai/gpt-5-3-codex", "INPUT_EXCLUDE": ""}
    assert read_inputs(env).overrides == {}
    env = {"INPUT_MAX_COMMENTS": "10", "INPUT_EXCLUDE": "docs/**", "INPUT_DRY_RUN": "true"}
    inputs = read_inputs(env)
    assert inputs.overrides == {"max_comments": "10", "exclude": "docs/**"}
    assert inputs.dry_run is True and inputs.fail_on_error is True


def test_review_post_that_landed_despite_a_502_is_not_posted_twice(act: Act) -> None:
    r = act(
        "post_applied_despite_502",
        "pull_request",
        payload("pull_request.opened.json"),
    )
    assert r.code == 0, r.out
    assert r.github.count("POST /pulls/2/reviews") == 1
    assert r.github[-3:] == [
        "GET /pulls/2/reviews?page=1&per_page=100",
        "POST /graphql",  # `viewer`: the review found is a bot's; is that bot us?
        "POST /issues/2/comments",
    ]
    assert r.outputs["review_url"].endswith(f"#pullrequestreview-{mc.EARLIER_REVIEW_ID}")


def test_review_full_and_a_502_never_takes_the_older_review_for_the_new_one(act: Act) -> None:
    # the head was reviewed before; `/review full` reviews it again and the POST answers 502
    lost = act("review_full_502_lost", "issue_comment", comment_payload("/review full"))
    assert lost.code == 0, lost.out
    # the older review (same head, same marker) is not taken for this one: sent again
    assert lost.github.count("POST /pulls/2/reviews") == 2
    assert lost.outputs["review_url"].endswith("#pullrequestreview-2390000081")


def test_review_full_and_a_502_that_landed_is_not_posted_twice(act: Act) -> None:
    landed = act("review_full_502_landed", "issue_comment", comment_payload("/review full"))
    assert landed.code == 0, landed.out
    assert landed.github.count("POST /pulls/2/reviews") == 1
    assert landed.outputs["review_url"].endswith(f"#pullrequestreview-{mc.NEW_REVIEW_ID}")


def test_a_marker_in_a_humans_review_is_not_trusted(act: Act) -> None:
    r = act("spoofed_marker", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert [c["line"] for c in review["comments"]] == [2]


def test_every_github_request_pins_the_rest_api_version(act: Act) -> None:
    r = act("opened", "pull_request", payload("pull_request.opened.json"))
    github = [s for s in r.sent if s.url.startswith(mc.API)]
    assert github and all(s.headers.get("X-GitHub-Api-Version") == "2022-11-28" for s in github)


def test_a_personal_access_tokens_own_marker_is_trusted(act: Act) -> None:
    r = act(
        "pat_rerun_same_head", "pull_request", payload("pull_request.opened.json"), github_token=PAT
    )
    assert r.code == 0, r.out
    assert r.github[-1] == "GET /user" and r.model_calls == 0
    assert r.outputs["status"] == "skipped" and "already reviewed" in r.summary


@pytest.mark.parametrize("fail_on_error", ["true", "false"])
def test_a_github_outage_past_every_retry_is_one_line_with_outputs(
    act: Act, fail_on_error: str
) -> None:
    r = act(
        "outage_on_reviews_list",
        "pull_request",
        payload("pull_request.opened.json"),
        fail_on_error=fail_on_error,
    )
    line = (
        "reviewbot: GitHub kept failing to list the reviews of #2 (HTTP 502) after every retry; "
        "it may be having an outage"
    )
    if fail_on_error == "true":
        assert r.code == 1 and f"::error::{line}" in r.out
    else:
        assert r.code == 0 and f"::warning::{line} (fail_on_error is false)" in r.out
    assert "Traceback" not in r.out
    assert r.outputs["status"] == "failed" and r.outputs["findings"] == "0"
    assert "GitHub kept failing to list the reviews" in r.summary
    assert r.model_calls == 0


def test_a_pull_request_that_is_gone_is_one_line_not_a_traceback(act: Act) -> None:
    r = act("pull_not_found", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 1 and "Traceback" not in r.out
    assert "::error::reviewbot: GitHub refused to read pull request #2 (404): Not Found" in r.out
    assert r.outputs["status"] == "failed"


def test_github_unreachable_is_one_line_with_outputs(
    tmp_path: Path, spy: list[Sent], capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = payload("pull_request.opened.json")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(data))
    output = tmp_path / "output"
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        "GITHUB_API_URL": f"http://127.0.0.1:{port}",
        "GITHUB_OUTPUT": str(output),
        "INPUT_API_KEY": FAKE_KEY,
        "INPUT_GITHUB_TOKEN": FAKE_TOKEN,
    }
    code = run_action(
        env,
        make_github=lambda t, r, u: GitHubClient(
            t, r, u, write_pause=0, secondary_wait=0, backoff=0
        ),
    )
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "::error::reviewbot: could not reach GitHub to read pull request #2: ConnectionError" in out
    )
    assert "status=failed" in output.read_text()


def test_diff_taking_too_long_falls_back_to_the_files_api(act: Act) -> None:
    r = act("diff_taking_too_long", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    assert r.github.count("GET /pulls/2") == 2  # the 500 is GitHub's final word: not retried
    assert "GET /pulls/2/files?page=1&per_page=100" in r.github
    [review] = r.review_posts()
    assert [c["line"] for c in review["comments"]] == [2]
    assert "rebuilt from the files API" in review["body"]
    assert r.outputs["status"] == "reviewed"


def test_compare_taking_too_long_means_a_full_review(act: Act) -> None:
    data = push_payload()
    r = act("compare_taking_too_long", "pull_request", data)
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert (
        "Full review: GitHub could not compute the changes since ec26c3e in time." in review["body"]
    )
    assert sorted(c["line"] for c in review["comments"]) == [2, 4]


def test_incremental_review_lists_files_compare_sent_no_patch_for(act: Act) -> None:
    data = push_payload()
    r = act("incremental_with_binary", "pull_request", data)
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert "Incremental review" in review["body"]
    assert "- GitHub sent no patch (binary or too large) (1 file): `logo.png`" in review["body"]
    assert r.outputs["status"] == "partial"


@pytest.mark.parametrize(
    ("cassette", "line"),
    [
        ("config_not_utf8", ".github/reviewbot.yml on f95f852bd8fc is not UTF-8 text"),
        (
            "config_too_large",
            ".github/reviewbot.yml on f95f852bd8fc is 2,500,000 bytes; a config file may be at most 1 MB",
        ),
        (
            "config_is_a_submodule",
            ".github/reviewbot.yml on f95f852bd8fc is a submodule, not a config file",
        ),
    ],
)
def test_unusable_config_files_are_one_configuration_error(
    act: Act, cassette: str, line: str
) -> None:
    r = act(cassette, "pull_request", payload("pull_request.opened.json"))
    assert r.code == 2 and "Traceback" not in r.out
    assert f"::error::reviewbot: {line}" in r.out
    assert r.outputs["status"] == "failed" and r.model_calls == 0


def test_an_unexpected_error_still_writes_outputs_and_summary(
    act: Act, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: GitHubClient, number: int) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(GitHubClient, "pull", boom)
    r = act(None, "pull_request", payload("pull_request.opened.json"))
    assert r.code == 1
    assert "::error::reviewbot: internal error (KeyError); the log has the details" in r.out
    assert r.outputs["status"] == "failed" and "internal error" in r.summary


def test_a_push_that_deletes_a_file_is_reviewed_incrementally(act: Act) -> None:
    data = push_payload()
    r = act("incremental_deletes_a_file", "pull_request", data)
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert "Incremental review: only the changes since ec26c3e." in review["body"]
    assert [c["line"] for c in review["comments"]] == [4]
    assert r.outputs["status"] == "reviewed"


def test_a_model_endpoint_echoing_the_key_cannot_get_it_posted(
    act: Act, fake_responses: FakeResponses
) -> None:
    def echo(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        auth = headers.get("Authorization", "")
        finding = {**mc.TYPO, "body": f"Your proxy sent {auth} and {auth.split()[-1]}"}
        return 200, {}, responses_body({"summary": f"Echo: {auth}", "findings": [finding]})

    fake_responses.respond = echo
    r = act(
        "opened_github_only",
        "pull_request",
        payload("pull_request.opened.json"),
        base_url=fake_responses.base_url,
    )
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert "Echo: Bearer ***" in review["body"]
    assert review["comments"][0]["body"].count("***") == 2
    # the harness checks that the key is nowhere: posts, log, summary, outputs


def test_a_marker_hidden_in_a_listed_file_name_is_not_trusted(act: Act) -> None:
    data = push_payload()
    r = act("spoofed_marker_in_file_name", "pull_request", data)
    assert r.code == 0, r.out
    [review] = r.review_posts()  # not skipped as "already reviewed"
    assert "Incremental review: only the changes since ec26c3e." in review["body"]


def test_hostile_names_and_model_paths_cannot_plant_a_marker_or_a_mention(act: Act) -> None:
    r = act("hostile_paths", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    [review] = r.review_posts()
    body = review["body"]
    assert body.count("<!-- reviewbot:v1") == 1 and body.rstrip().endswith("-->")
    outside_code = re.sub(r"`[^`]*`", "", body)
    assert "Ping @\u200bmallory and see #\u200b1 and _@\u200bmallory_" in outside_code
    assert re.search(r"(?<![A-Za-z0-9])@mallory", outside_code) is None


def fork_payload(association: str) -> dict[str, Any]:
    data = payload("pull_request.opened.json")
    data["pull_request"]["head"]["repo"]["full_name"] = "stranger/Hello-World"
    data["pull_request"]["author_association"] = association
    return data


@pytest.mark.parametrize("association", ["NONE", "FIRST_TIME_CONTRIBUTOR", "CONTRIBUTOR"])
def test_a_strangers_fork_pr_costs_nothing_by_default(act: Act, association: str) -> None:
    r = act(None, "pull_request_target", fork_payload(association))
    assert r.code == 0 and r.sent == []  # no GitHub request, no model call
    assert r.outputs["status"] == "skipped"
    assert f"whose author is {association.lower()} is not reviewed automatically" in r.summary
    assert "comment `/review` to review it" in r.summary


@pytest.mark.parametrize(
    ("association", "policy"),
    [
        ("MEMBER", "members"),
        ("COLLABORATOR", "members"),
        ("CONTRIBUTOR", "contributors"),
        ("NONE", "all"),
    ],
)
def test_fork_prs_policy_lets_chosen_authors_through(
    act: Act, association: str, policy: str
) -> None:
    r = act("opened", "pull_request_target", fork_payload(association), fork_prs=policy)
    assert r.code == 0, r.out
    assert r.model_calls == 2 and len(r.review_posts()) == 1  # review + verification


def test_an_unknown_fork_policy_is_a_configuration_error(act: Act) -> None:
    r = act(None, "pull_request_target", fork_payload("NONE"), fork_prs="everyone")
    assert r.code == 2
    assert "::error::reviewbot: input fork_prs must be one of members, contributors, all" in r.out


def test_when_every_file_is_skipped_a_short_review_says_so(act: Act) -> None:
    r = act("only_skipped_files", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    assert r.model_calls == 0
    [review] = r.review_posts()
    body = review["body"]
    assert "**Nothing was reviewed**: every changed file was skipped" in body
    assert "- generated file (its header says so) (1 file): `api/service.go`" in body
    assert "- lock file (skipped by default) (1 file): `package-lock.json`" in body
    assert "no findings" not in body
    assert r.outputs["status"] == "skipped"


def test_a_gate_never_passes_a_pr_whose_own_content_hid_every_file(act: Act) -> None:
    # one file skipped by its generated header (the PR wrote it), one lock file (a path rule)
    r = act(
        "only_skipped_files", "pull_request", payload("pull_request.opened.json"), fail_on="nit"
    )
    assert r.code == 1, r.out
    [error] = [ln for ln in r.out.splitlines() if ln.startswith("::error::")]
    assert "nothing was reviewed: every changed file was skipped, 1 by what" in error
    assert "api/service.go" in error and "`include`" in error
    assert "package-lock.json" not in error
    [review] = r.review_posts()  # the review is still posted, and says why, loudly
    assert (
        "⚠️ 1 file(s) not reviewed because their own content says so (a generated-file header, "
        "very long lines), which this pull request decides: `api/service.go`." in review["body"]
    )
    without_gate = act("only_skipped_files", "pull_request", payload("pull_request.opened.json"))
    assert without_gate.code == 0, without_gate.out


def test_a_gate_passes_a_pr_of_lock_files_only(act: Act) -> None:
    r = act("only_lock_file", "pull_request", payload("pull_request.opened.json"), fail_on="nit")
    assert r.code == 0, r.out
    assert "::error::" not in r.out and r.outputs["status"] == "skipped"
    [review] = r.review_posts()
    assert "their own content says so" not in review["body"]


def test_a_dry_run_prints_model_text_with_workflow_commands_stopped(act: Act) -> None:
    r = act("dry_run_hostile", "pull_request", payload("pull_request.opened.json"), dry_run="true")
    assert r.code == 0, r.out
    lines = r.out.splitlines()
    blocks: list[tuple[int, int, str]] = []  # the review, then the walkthrough
    at = 0
    while any(ln.startswith("::stop-commands::") for ln in lines[at:]):
        start = next(i for i in range(at, len(lines)) if lines[i].startswith("::stop-commands::"))
        token = lines[start].removeprefix("::stop-commands::")
        assert len(token) == 32 and token not in {b[2] for b in blocks}
        at = lines.index(f"::{token}::", start) + 1
        blocks.append((start, at - 1, token))
    assert len(blocks) == 3  # what the review may cost, the review, the walkthrough
    assert "Estimate: " in "\n".join(lines[blocks[0][0] : blocks[0][1]])
    hostile = [
        i
        for i, ln in enumerate(lines)
        if ln.startswith(("::add-mask::Hello", "::warning::pwned", "::error::fake"))
    ]
    assert hostile and all(any(s < i < e for s, e, _ in blocks) for i in hostile)


@pytest.mark.parametrize("url", ["https://[::1/v1", "http://models.example/v1"])
def test_a_bad_base_url_input_fails_before_any_request(act: Act, url: str) -> None:
    r = act(None, "pull_request", payload("pull_request.opened.json"), base_url=url)
    assert r.code == 2 and r.sent == [] and "Traceback" not in r.out
    assert "::error::reviewbot: input 'base_url'" in r.out
    assert r.outputs["status"] == "failed"


@pytest.mark.parametrize(
    ("fail_on", "code"), [("none", 0), ("critical", 0), ("major", 3), ("nit", 3)]
)
def test_fail_on_fails_the_job_after_the_review_is_posted(
    act: Act, fail_on: str, code: int
) -> None:
    r = act("opened", "pull_request", payload("pull_request.opened.json"), fail_on=fail_on)
    assert r.code == code, r.out
    assert len(r.review_posts()) == 1 and r.outputs["status"] == "reviewed"
    if code == 3:
        count = {"major": 1, "nit": 2}[fail_on]  # the cassette's findings: one major, one nit
        assert f"::error::reviewbot: {count} finding(s) at or above {fail_on}" in r.out


def test_a_small_prs_context_and_guidance_come_in_one_graphql_read_of_the_right_commits(
    act: Act,
) -> None:
    r = act("opened", "pull_request", payload("pull_request.opened.json"))
    [texts] = [s.json() for s in r.sent if s.line == "POST /graphql"]
    assert set(texts["variables"].values()) >= {
        f"{mc.HEAD}:hello.py",  # the head, for the scope context
        f"{mc.BASE}:AGENTS.md",  # the base branch, never the head, for guidance
        f"{mc.BASE}:.github/copilot-instructions.md",
        f"{mc.BASE}:.github/instructions",
    }
    assert "hello.py" not in texts["query"]  # paths travel as variables
    assert " text" in texts["query"]
    request = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)
    assert (
        "## From AGENTS.md\nGreetings shown to users must be spelled correctly."
        in request["instructions"]
    )
    assert "Review guidance from the base branch: AGENTS.md." in r.summary


def test_a_failed_context_read_never_fails_the_review(act: Act) -> None:
    r = act("context_read_fails", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert "GitHub could not send file contents: scope context is off." in review["body"]
    assert r.outputs["status"] == "reviewed"


def reply_payload(
    login: str = "Codertocat", user_type: str = "User", action: str = "created"
) -> dict[str, Any]:
    p = payload("pull_request_review_comment.created.json")
    p["action"] = action
    p["comment"]["in_reply_to_id"] = mc.ROOT_ID
    p["comment"]["id"] = mc.REPLY_ID
    p["comment"]["user"]["login"] = login
    p["comment"]["user"]["type"] = user_type
    p["pull_request"]["base"]["sha"] = mc.BASE
    return p


def test_a_reply_by_the_author_is_answered_in_the_thread(act: Act) -> None:
    r = act("reply_by_author", "pull_request_review_comment", reply_payload())
    assert r.code == 0, r.out
    assert r.github == [
        f"GET /contents/.github/reviewbot.yml?ref={mc.BASE}",
        f"GET /pulls/comments/{mc.ROOT_ID}",
        "POST /graphql",  # `viewer`: the installation token's identity, before trusting a bot
        "GET /pulls/2/comments?page=1&per_page=100",
        "GET /pulls/2/comments?page=1&per_page=100",  # the budget, counted again before posting
        f"POST /pulls/2/comments/{mc.ROOT_ID}/replies",
    ]
    request = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)
    assert request["text"]["format"]["schema"]["required"] == ["reply", "suggestion"]
    assert "Is Helo not a valid greeting in some places?" in request["input"]
    assert "--- reviewbot:\n🟠 **Major**: Greeting is misspelled" in request["input"]
    assert "<<<BEGIN UNTRUSTED DATA" in request["input"]
    [post] = [s.json() for s in r.sent if s.line.endswith("/replies")]
    assert post["body"].startswith("Not in English: `Helo` is a typo here")
    assert '```suggestion\n    print("Hello " + name)\n```' in post["body"]
    assert post["body"].endswith("<!-- reviewbot:v1 reply -->")
    assert r.outputs["status"] == "reviewed"


def test_a_reply_by_a_reader_costs_no_model_call(act: Act) -> None:
    r = act("reply_by_reader", "pull_request_review_comment", reply_payload("mallory"))
    assert r.code == 0 and r.model_calls == 0
    assert not any(s.method == "POST" for s in r.sent)
    assert "mallory replied in a reviewbot thread but has read permission" in r.summary


@pytest.mark.parametrize(
    ("login", "user_type", "action", "why"),
    [
        (
            "github-actions[bot]",
            "Bot",
            "created",
            "replies by bots (reviewbot included) are never answered",
        ),
        ("Codertocat", "User", "edited", "review comment edited: only new replies are answered"),
    ],
)
def test_bots_and_edits_are_ignored_without_a_request(
    act: Act, login: str, user_type: str, action: str, why: str
) -> None:
    r = act(None, "pull_request_review_comment", reply_payload(login, user_type, action))
    assert r.code == 0 and r.sent == [] and why in r.summary


def test_a_reply_in_a_human_thread_is_left_alone(act: Act) -> None:
    r = act("reply_in_human_thread", "pull_request_review_comment", reply_payload())
    assert r.code == 0 and r.model_calls == 0
    assert "a reply in a thread reviewbot did not start" in r.summary


def test_over_the_reply_budget_one_notice_per_thread_and_no_model_call(act: Act) -> None:
    r = act("reply_over_budget", "pull_request_review_comment", reply_payload())
    assert r.code == 0 and r.model_calls == 0
    [post] = [s.json() for s in r.sent if s.line.endswith("/replies")]
    assert "`max_replies: 1`" in post["body"] and post["body"].endswith(
        "<!-- reviewbot:v1 reply limit -->"
    )
    again = act("reply_over_budget_notice_posted", "pull_request_review_comment", reply_payload())
    assert again.code == 0 and not any(s.method == "POST" for s in again.sent[len(r.sent) :])


def test_a_reply_on_a_forks_pull_request_says_why_it_cannot_be_answered(act: Act) -> None:
    p = reply_payload()
    p["pull_request"]["head"]["repo"]["full_name"] = "stranger/Hello-World"
    r = act(None, "pull_request_review_comment", p, api_key="")
    assert r.code == 0 and r.sent == []
    assert "read-only token and no secrets" in r.summary


def sent_lines(r: Result, end: str) -> list[str]:
    return [s.line for s in r.sent if s.line.endswith(end)]


def mutations(r: Result) -> list[dict[str, Any]]:
    return [
        s.json()["variables"]
        for s in r.sent
        if s.line == "POST /graphql" and "resolveReviewThread" in s.json()["query"]
    ]


def test_a_push_that_fixes_one_of_two_findings_resolves_exactly_that_thread(act: Act) -> None:
    r = act("push_fixes_one_of_two", "pull_request", push_payload())
    assert r.code == 0, r.out
    request = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)
    text = request["input"]
    # every earlier finding is listed, so none is raised again, reworded or not
    assert "- hello.py:2: Greeting is misspelled (open)" in text
    assert "- hello.py:3: Return value unused (reopened)" in text
    assert "- hello.py:1: Add a docstring (dismissed)" in text  # the PR author's "won't fix"
    # a "wontfix" from someone without write access decides nothing
    assert "- hello.py:1: Name the parameter (open, its lines unchanged by this push)" in text
    # only open findings whose lines this push rewrote are offered for re-checking, by id
    recheck = text.split("list in `resolved` the ids")[1].split("FILE:")[0]
    assert f"id: {mc.TYPO_FP}" in recheck and f"id: {mc.FP_B}" in recheck
    assert all(fp not in recheck for fp in (mc.FP_C, mc.FP_D, mc.FP_E))
    assert request["text"]["format"]["schema"]["required"] == [
        "summary",
        "findings",
        "resolved",
        "file_summaries",
    ]
    # the model named four ids; one was offered: exactly that thread is resolved, GitHub
    # confirms it, and only then the thread, the review and the walkthrough say "resolved"
    assert mutations(r) == [{"id": "PRRT_a"}]
    [reply] = [s.json() for s in r.sent if s.line.endswith("/replies")]
    assert sent_lines(r, "/replies") == [f"POST /pulls/2/comments/{mc.IDS + 1}/replies"]
    assert reply["body"] == "Addressed in `5b1d3c1`.\n<!-- reviewbot:v1 resolved -->"
    [review] = r.review_posts()
    assert "1 earlier finding(s) fixed by this push: resolved." in review["body"]
    assert "1 earlier finding(s) fixed by this push: resolved." in r.summary
    [(_, walk)] = walkthrough_writes(r)
    assert "| `5b1d3c1` | incremental | reviewed | 0 | 1 |" in walk
    assert r.github.index("POST /graphql", 3) < r.github.index("POST /pulls/2/reviews")


@pytest.mark.parametrize("cassette", ["resolve_not_allowed", "resolve_refused"])
def test_a_token_that_may_not_resolve_says_addressed_once_and_claims_nothing(
    act: Act, cassette: str
) -> None:
    r = act(cassette, "pull_request", push_payload())
    assert r.code == 0, r.out
    # GitHub said beforehand that this token may not resolve: no mutation is even tried
    assert mutations(r) == ([] if cassette == "resolve_not_allowed" else [{"id": "PRRT_a"}])
    [reply] = [s.json()["body"] for s in r.sent if s.line.endswith("/replies")]
    assert reply.startswith("Addressed in `5b1d3c1`. GitHub did not let this token resolve the")
    assert reply.endswith("\n<!-- reviewbot:v1 addressed -->")
    [review] = r.review_posts()
    assert ": resolved." not in review["body"] and ": resolved." not in r.summary
    assert "1 earlier finding(s) fixed by this push but left open" in review["body"]
    [(_, walk)] = walkthrough_writes(r)
    assert "| `5b1d3c1` | incremental | reviewed | 0 | 0 |" in walk  # none resolved


def test_a_fixed_but_open_thread_is_neither_reopened_nor_offered_again(act: Act) -> None:
    r = act("fixed_open_next_push", "pull_request", push_payload())
    assert r.code == 0, r.out
    text = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)["input"]
    assert "- hello.py:2: Greeting is misspelled (fixed)" in text
    recheck = text.split("list in `resolved` the ids")[1].split("FILE:")[0]
    assert mc.TYPO_FP not in recheck
    assert mutations(r) == [] and sent_lines(r, "/replies") == []  # said once, not again


def test_a_push_that_only_says_it_fixed_things_resolves_nothing(act: Act) -> None:
    r = act("resolve_injection", "pull_request", push_payload())
    assert r.code == 0, r.out
    text = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)["input"]
    assert "list in `resolved` the ids" not in text  # nothing is offered: no line was rewritten
    # the model named every id; none was offered, so nothing is resolved or replied to
    assert mutations(r) == [] and sent_lines(r, "/replies") == []
    [review] = r.review_posts()
    assert "fixed by this push" not in review["body"]


def test_a_force_push_alone_offers_no_finding_whose_line_is_unchanged(act: Act) -> None:
    # a full review: GitHub calls every thread outdated after a force-push, but the typo's
    # line still reads the same at the head (only a comment was added above it)
    r = act("force_push_line_unchanged", "pull_request", push_payload())
    assert r.code == 0, r.out
    text = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)["input"]
    assert "list in `resolved` the ids" not in text
    assert "- hello.py:2: Greeting is misspelled (open, its lines unchanged by this push)" in text
    assert mutations(r) == [] and sent_lines(r, "/replies") == []
    [read] = [s.json() for s in r.sent if s.line == "POST /graphql"][1:2]
    assert list(read["variables"].values())[2:] == [f"{mc.NEW_HEAD}:hello.py"]


def test_a_force_push_that_changed_the_line_offers_it_for_re_checking(act: Act) -> None:
    r = act("force_push_line_fixed", "pull_request", push_payload())
    assert r.code == 0, r.out
    text = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)["input"]
    recheck = text.split("list in `resolved` the ids")[1].split("FILE:")[0]
    assert f"id: {mc.TYPO_FP}" in recheck
    assert mc.FP_B not in recheck  # anchored to a blank line: no text to check, not offered
    assert mutations(r) == [{"id": "PRRT_a"}]


def test_threads_past_the_first_hundred_are_read(act: Act) -> None:
    r = act("many_threads", "pull_request", push_payload())
    assert r.code == 0, r.out
    pages = [
        s.json()
        for s in r.sent
        if s.line == "POST /graphql" and "reviewThreads" in s.json()["query"]
    ]
    assert [p["variables"].get("after") for p in pages] == [None, "Y3Vyc29yOnYyOpK5MTAw"]
    assert mutations(r) == [{"id": "PRRT_a"}]  # our thread, on the second page


def test_a_reopen_past_the_fiftieth_comment_is_seen(act: Act) -> None:
    r = act("long_thread", "pull_request", push_payload())
    assert r.code == 0, r.out
    page = [
        s.json() for s in r.sent if s.line == "POST /graphql" and "node(id:" in s.json()["query"]
    ]
    assert [p["variables"] for p in page] == [{"id": "PRRT_a", "after": "Y3Vyc29yOnYyOpHOAAAAMg=="}]
    text = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)["input"]
    assert "- hello.py:2: Greeting is misspelled (reopened)" in text
    assert mutations(r) == [] and sent_lines(r, "/replies") == []


def test_a_failed_threads_read_never_fails_the_review(act: Act) -> None:
    data = push_payload()
    r = act("threads_read_fails", "pull_request", data)
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert (
        "GitHub could not list the review threads: earlier findings not re-checked."
        in review["body"]
    )
    request = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)
    assert "Findings already raised" not in request["input"]
    assert not any(s.line.endswith("/replies") for s in r.sent)
    # The walkthrough may exist: without the read, a new one could be a second one.
    assert not any("/issues/" in s.line for s in r.sent)
    assert (
        "- Walkthrough not updated: GitHub could not list the pull request's comments." in r.summary
    )


def test_a_failed_reply_post_is_one_line_with_outputs(act: Act) -> None:
    r = act("reply_post_fails", "pull_request_review_comment", reply_payload())
    assert r.code == 1
    assert "::error::reviewbot: GitHub refused to reply in the review thread (502)" in r.out
    assert r.outputs["status"] == "failed"


# ------------------------------------------------------------------ the walkthrough


def walkthrough_writes(r: Result) -> list[tuple[str, str]]:
    """The walkthrough POSTs and PATCHes, with the body each sent."""
    return [
        (s.line, s.json()["body"])
        for s in r.sent
        if s.line.startswith(("POST /issues/2/comments", "PATCH /issues/comments/"))
    ]


def test_the_first_review_posts_one_walkthrough(act: Act) -> None:
    r = act("opened", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    [(line, body)] = walkthrough_writes(r)
    assert line == "POST /issues/2/comments"
    assert body.startswith("### reviewbot walkthrough\n\nRenames the greeting.")
    # one row per file of the PR, the model's line for it (a pipe cannot break the table)
    assert "| `hello.py` | modified | +3 −1 | Greeting reworded \\| returns the name. |" in body
    assert "| `ec26c3e` | full | reviewed | 2 | 0 | 2,520 |" in body  # with verification
    assert body.endswith("\n<!-- reviewbot:v1 walkthrough -->")
    state = walkthrough.read_state(body)
    assert state.files == (("hello.py", "Greeting reworded | returns the name."),)
    assert f"- Walkthrough posted: {mc.WALKTHROUGH_URL}" in r.summary


def test_a_push_edits_our_walkthrough_and_never_a_persons_comment(act: Act) -> None:
    data = push_payload()
    r = act("walkthrough_edited", "pull_request", data)
    assert r.code == 0, r.out
    [(line, body)] = walkthrough_writes(r)  # no POST: the one walkthrough is edited
    assert line == f"PATCH /issues/comments/{mc.WALKTHROUGH_ID}"
    # What the PR does stays the full review's; the push gets its own line.
    assert body.startswith("### reviewbot walkthrough\n\nReworks the greeting.\n")
    assert "**Latest push** (`5b1d3c1`): Calls greet at import time." in body
    assert "Calls greet at import. |" in body and "Greeting reworded." not in body
    assert "gone.py" not in body  # no longer in the PR
    history = body.split("Review history", 1)[1]
    assert "| `ec26c3e` | full | reviewed | 1 | 0 | 1,500 |" in history
    assert "| `5b1d3c1` | incremental | reviewed | 1 | 0 | 2,520 |" in history
    assert f"- Walkthrough updated: {mc.WALKTHROUGH_URL}" in r.summary


def test_a_walkthrough_post_that_landed_despite_a_502_is_not_posted_again(act: Act) -> None:
    r = act("walkthrough_post_landed", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    assert [line for line, _ in walkthrough_writes(r)] == ["POST /issues/2/comments"]
    # looked before sending it again, and found ours (not the other bot's copy)
    assert r.github[-3:] == [
        "POST /issues/2/comments",
        "GET /issues/2/comments?page=1&per_page=100",
        "POST /graphql",  # `viewer`: is the other bot's copy ours? (no)
    ]
    assert r.outputs["status"] == "reviewed"
    assert f"- Walkthrough posted: {mc.WALKTHROUGH_URL}" in r.summary


def test_a_lost_walkthrough_post_is_one_line_and_never_fails_the_review(act: Act) -> None:
    r = act("walkthrough_post_lost", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    # four attempts, each after checking that the one before did not land
    assert [line for line, _ in walkthrough_writes(r)] == ["POST /issues/2/comments"] * 4
    assert r.github.count("GET /issues/2/comments?page=1&per_page=100") == 3
    assert r.outputs["status"] == "reviewed" and len(r.review_posts()) == 1
    assert "- Walkthrough not posted: GitHub refused to post the walkthrough comment (502)" in (
        r.summary
    )


def test_the_walkthrough_can_be_turned_off(act: Act) -> None:
    r = act("walkthrough_off", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    assert walkthrough_writes(r) == [] and len(r.review_posts()) == 1


def test_a_rerun_on_a_reviewed_head_writes_no_walkthrough(act: Act) -> None:
    r = act("rerun_same_head", "pull_request", payload("pull_request.synchronize.json"))
    assert r.code == 0 and walkthrough_writes(r) == []


def test_two_walkthroughs_from_runs_at_once_become_one(act: Act) -> None:
    data = push_payload()
    r = act("walkthrough_duplicates", "pull_request", data)
    assert r.code == 0, r.out
    assert [line for line, _ in walkthrough_writes(r)] == [
        f"PATCH /issues/comments/{mc.WALKTHROUGH_ID}"  # the oldest is kept and edited
    ]
    assert f"DELETE /issues/comments/{mc.WALKTHROUGH_ID + 1}" in r.github
    assert "(removed 1 duplicate(s))" in r.summary


# ------------------------------------------------------------------ who is "us"


def test_another_bots_markers_are_never_taken_for_ours(act: Act) -> None:
    r = act("other_bot_markers", "pull_request", push_payload())
    assert r.code == 0, r.out
    # its review "of" this head does not make the bot skip it; ours of HEAD makes it incremental
    [review] = r.review_posts()
    assert "Incremental review: only the changes since ec26c3e." in review["body"]
    # its walkthrough copies are neither edited nor removed; ours is edited
    assert [line for line, _ in walkthrough_writes(r)] == [
        f"PATCH /issues/comments/{mc.WALKTHROUGH_ID}"
    ]
    assert not any(s.method == "DELETE" for s in r.sent)
    # its thread carries our finding's marker: not offered, not resolved, not replied to
    text = next(s.json() for s in r.sent if s.url == mc.MODEL_URL)["input"]
    assert "Findings already raised" not in text
    assert mutations(r) == [] and sent_lines(r, "/replies") == []


def test_a_reply_in_another_bots_thread_with_our_marker_is_left_alone(act: Act) -> None:
    r = act("reply_in_other_bots_thread", "pull_request_review_comment", reply_payload())
    assert r.code == 0 and r.model_calls == 0
    assert "a reply in a thread reviewbot did not start" in r.summary


def test_a_personal_access_tokens_own_reply_starts_nothing(act: Act) -> None:
    # the bot's reply, written with a PAT, is a User's comment: its author is the token's user
    r = act(
        "pat_own_reply",
        "pull_request_review_comment",
        reply_payload("review-robot", "User"),
        github_token=PAT,
    )
    assert r.code == 0 and r.model_calls == 0
    assert r.github == ["GET /user"]
    assert "the reply is by review-robot, the account reviewbot writes as" in r.summary


def test_a_reply_that_carries_our_marker_starts_nothing_without_a_request(act: Act) -> None:
    data = reply_payload("review-robot", "User")
    data["comment"]["body"] = "Sure.\n<!-- reviewbot:v1 reply -->"
    r = act(None, "pull_request_review_comment", data, github_token=PAT)
    assert r.code == 0 and r.sent == []
    assert "carries reviewbot's marker is its own" in r.summary


# ------------------------------------------------------------------ retries


def test_every_write_waits_out_a_secondary_rate_limit(act: Act) -> None:
    r = act("writes_rate_limited", "pull_request", push_payload())
    assert r.code == 0, r.out
    assert mutations(r) == [{"id": "PRRT_a"}] * 2  # 403 secondary limit, then resolved
    assert sent_lines(r, "/replies") == [f"POST /pulls/2/comments/{mc.IDS + 1}/replies"] * 2
    assert r.github.count("POST /pulls/2/reviews") == 2
    assert [line for line, _ in walkthrough_writes(r)] == [
        f"PATCH /issues/comments/{mc.WALKTHROUGH_ID}"
    ] * 2
    assert r.github.count(f"DELETE /issues/comments/{mc.WALKTHROUGH_ID + 1}") == 2
    # the history read answered 502 once, the context read RATE_LIMITED once: both again
    reads = [s.json()["query"] for s in r.sent if s.line == "POST /graphql"]
    assert sum("reviewThreads" in q for q in reads) == 2
    assert sum("object(expression:" in q for q in reads) == 2
    assert "1 earlier finding(s) fixed by this push: resolved." in r.summary
    assert "(removed 1 duplicate(s))" in r.summary and r.outputs["status"] == "reviewed"


def test_a_reaction_and_a_new_walkthrough_wait_out_rate_limits(act: Act) -> None:
    r = act("command_writes_rate_limited", "issue_comment", comment_payload())
    assert r.code == 0, r.out
    assert r.github.count(f"POST /issues/comments/{mc.COMMAND_ID}/reactions") == 2
    assert [line for line, _ in walkthrough_writes(r)] == ["POST /issues/2/comments"] * 2
    assert f"- Walkthrough posted: {mc.WALKTHROUGH_URL}" in r.summary


def test_a_failed_reply_post_is_checked_before_it_is_sent_again(act: Act) -> None:
    r = act("reply_post_fails", "pull_request_review_comment", reply_payload())
    assert r.code == 1
    assert sent_lines(r, "/replies") == [f"POST /pulls/2/comments/{mc.ROOT_ID}/replies"] * 4
    # each retry only after the comments list showed the reply had not landed
    assert r.github.count("GET /pulls/2/comments?page=1&per_page=100") == 2 + 3


# ------------------------------------------------------------------ budgets and gates


def test_parallel_replies_recount_the_budget_before_posting(act: Act) -> None:
    r = act("reply_budget_race", "pull_request_review_comment", reply_payload())
    assert r.code == 0, r.out
    assert r.model_calls == 1 and sent_lines(r, "/replies") == []
    assert "used up by other answers meanwhile (1 of 1)" in r.summary


def test_replies_waiting_for_an_answer_take_the_budget_before_any_model_call(act: Act) -> None:
    # max_replies 2: one answered, one older reply still waiting (another run is answering
    # it); the reader's reply, which reply_to would not answer, does not count
    r = act("reply_budget_reserved", "pull_request_review_comment", reply_payload())
    assert r.code == 0, r.out
    assert r.model_calls == 0
    assert "(1 answered and 1 earlier replies waiting for an answer, of 2)" in r.summary
    [post] = [s.json()["body"] for s in r.sent if s.line.endswith("/replies")]
    assert "`max_replies: 2`" in post and post.endswith("<!-- reviewbot:v1 reply limit -->")


def test_with_room_left_after_the_waiting_replies_the_reply_is_answered(act: Act) -> None:
    r = act("reply_budget_room_left", "pull_request_review_comment", reply_payload())
    assert r.code == 0, r.out
    assert r.model_calls == 1 and len(sent_lines(r, "/replies")) == 1


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("major", 3)])
def test_a_finding_outside_the_pr_does_not_trip_fail_on(act: Act, fail_on: str, code: int) -> None:
    r = act(
        "finding_outside_pr", "pull_request", payload("pull_request.opened.json"), fail_on=fail_on
    )
    assert r.code == code, r.out
    [review] = r.review_posts()
    assert "`elsewhere.py:40`" in review["body"]  # still said, in the body
    if code == 3:
        assert "::error::reviewbot: 1 finding(s) at or above major" in r.out


def test_a_small_prs_large_file_is_not_downloaded_whole(
    act: Act, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviewbot.filetexts

    # the first answer (texts with sizes) may be this large; the cassette's is larger
    monkeypatch.setattr(reviewbot.filetexts, "AT_ONCE_BYTES", 2_000)
    r = act("big_file_in_small_pr", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    first, sizes, texts = [s.json() for s in r.sent if s.line == "POST /graphql"]
    assert " text" in first["query"] and " text" not in sizes["query"]
    assert list(texts["variables"].values())[2:] == [f"{mc.BASE}:AGENTS.md"]  # not hello.py
    [review] = r.review_posts()
    assert "1 file(s) over 512 KB keep their plain hunk context." in review["body"]
    assert len(r.github) == 9  # the rare case: two more reads than a small PR's one


@pytest.mark.parametrize(
    ("token", "status", "me"),
    [
        (FAKE_TOKEN, None, "github-actions[bot]"),  # installation token: no request at all
        ("v1.0123456789abcdef", 403, "github-actions[bot]"),  # GET /user refused
        (PAT, 200, "review-robot"),
    ],
)
def test_who_we_are_is_asked_once_and_only_for_other_tokens(
    monkeypatch: pytest.MonkeyPatch, token: str, status: int | None, me: str
) -> None:
    from reviewbot.errors import Refused
    from reviewbot.github_http import GitHubHttp

    asked: list[str] = []

    def request(self: GitHubHttp, method: str, url: str, what: str, **kw: Any) -> Any:
        asked.append(url)
        if status == 403:
            raise Refused("refused", 403)
        return {"login": "review-robot"}

    monkeypatch.setattr(GitHubHttp, "request", request)
    gh = GitHubClient(token, "Codertocat/Hello-World")
    assert gh.identity() == me and gh.identity() == me
    assert asked == ([] if status is None else ["/user"])
    assert GitHubClient(token, "o/r", login="my-app[bot]").identity() == "my-app[bot]"


def test_a_github_apps_token_trusts_its_own_reviews(act: Act) -> None:
    r = act("app_token_rerun_same_head", "pull_request", payload("pull_request.opened.json"))
    assert r.code == 0, r.out
    assert r.github[-1] == "POST /graphql" and r.model_calls == 0  # asked `viewer` once
    assert r.outputs["status"] == "skipped" and "already reviewed" in r.summary


def test_an_apps_token_never_skips_a_head_on_the_actions_bots_marker(act: Act) -> None:
    r = act(
        "app_token_actions_marker_same_head", "pull_request", payload("pull_request.opened.json")
    )
    assert r.code == 0, r.out
    assert r.github[2] == "POST /graphql"  # `viewer`, asked before skipping on that review
    [review] = r.review_posts()
    assert [c["line"] for c in review["comments"]] == [2]  # its "posted" finding is not hidden
    assert r.outputs["status"] == "reviewed"


def test_an_apps_token_decides_again_when_the_history_read_says_who_it_is(act: Act) -> None:
    # a push: the Actions bot's marked review of the old head was trusted only provisionally;
    # the history read (which asks `viewer` at no extra request) says the token is the App's
    r = act("app_token_actions_marker_push", "pull_request", push_payload())
    assert r.code == 0, r.out
    [review] = r.review_posts()
    assert "Incremental review" not in review["body"]  # not "since" a review that is not ours
    assert 2 in [c["line"] for c in review["comments"]]  # its fingerprint hides nothing
    assert r.model_calls == 2  # once: the review, then its verification
