"""The GitHub adapter's core: a token provider asked before every request, errors typed by
meaning at the one boundary, and "is this ours" decided outside the adapter."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from reviewbot import errors
from reviewbot.github import GitHubClient
from reviewbot.github_http import classify
from reviewbot.ours import Us
from reviewbot.pulls import PostedReview

HEAD = "b" * 40
PULL = {
    "number": 2,
    "title": "t",
    "head": {"sha": HEAD, "repo": {"full_name": "o/r"}},
    "base": {"sha": "a" * 40, "ref": "main", "repo": {"full_name": "o/r"}},
    "state": "open",
    "user": {"login": "alice"},
}


class FakeGitHub:
    """GitHub's REST and GraphQL on 127.0.0.1: records each request's Authorization."""

    def __init__(self) -> None:
        self.auth: list[str] = []
        self.status = 200
        seen = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen.auth.append(self.headers.get("Authorization", ""))
                size = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(size)
                if seen.status != 200:
                    body = json.dumps({"message": "nope"}).encode()
                elif self.path.endswith("/graphql"):
                    body = json.dumps({"data": {"viewer": {"login": "my-app[bot]"}}}).encode()
                else:
                    body = json.dumps(PULL).encode()
                self.send_response(seen.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # http.server calls do_<METHOD>

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


class Rotating:
    """A provider that hands out a new token each time (as a refreshing one would, hourly)."""

    def __init__(self) -> None:
        self.n = 0

    def token(self) -> str:
        self.n += 1
        return f"ghs_installation{self.n}"


def test_a_token_provider_is_asked_before_every_request(fake_github: FakeGitHub) -> None:
    tokens = Rotating()
    gh = GitHubClient.with_token_provider(
        tokens, "o/r", "my-app[bot]", fake_github.url, write_pause=0, retries=0
    )
    assert gh.pull(2).head_sha == HEAD
    assert gh.pull(2).author == "alice"
    gh.objects(["abc:a.py"], with_text=True, cap=1000)  # the size-capped GraphQL read too
    assert fake_github.auth == [f"token ghs_installation{n}" for n in (1, 2, 3)]
    assert gh.identity() == "my-app[bot]"  # known: never asked


def test_a_fixed_token_string_still_works_and_no_token_sends_no_header(
    fake_github: FakeGitHub,
) -> None:
    GitHubClient("ghp_fixedtoken", "o/r", fake_github.url).pull(2)
    GitHubClient("", "o/r", fake_github.url).pull(2)
    assert fake_github.auth == ["token ghp_fixedtoken", ""]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, errors.NotFound),
        (401, errors.Unauthorized),
        (403, errors.Refused),
        (422, errors.Rejected),
    ],
)
def test_failures_are_typed_by_meaning(
    fake_github: FakeGitHub, status: int, kind: type[errors.GitHubError]
) -> None:
    fake_github.status = status
    gh = GitHubClient("ghp_x", "o/r", fake_github.url, write_pause=0, retries=0)
    with pytest.raises(kind, match=rf"^GitHub refused to read pull request #2 \({status}\)"):
        gh.pull(2)


def test_classify_reads_what_github_meant() -> None:
    assert type(classify(406, {}, "x", "too big")) is errors.TooLarge
    slow = {"errors": [{"code": "not_available"}]}
    assert type(classify(500, slow, "x", "taking too long")) is errors.TooSlow
    assert isinstance(classify(500, slow, "x", ""), errors.Unavailable)
    assert type(classify(502, {}, "x", "Bad Gateway")) is errors.Unavailable
    assert type(classify(403, {}, "x", "API rate limit exceeded")) is errors.RateLimited
    assert type(classify(410, {}, "x", "gone")) is errors.NotFound


class Who:
    """Who the token is, counting how often it was asked."""

    def __init__(self, me: str, confirmed: str) -> None:
        self.me, self.confirmed, self.asked = me, confirmed, 0

    def identity(self) -> str:
        self.asked += 1
        return self.me

    def confirmed_identity(self) -> str:
        self.asked += 1
        return self.confirmed


MARKED = f"Earlier.\n<!-- reviewbot:v1 head={HEAD} fp=0123456789ab -->"


def test_only_our_identitys_marked_reviews_are_ours() -> None:
    who = Who("github-actions[bot]", "github-actions[bot]")
    reviews = [
        PostedReview("alice", "LGTM", "u1"),  # not marked: identity not even asked
        PostedReview("mallory", MARKED, "u2"),  # a person copying our marker
        PostedReview("copycat[bot]", MARKED, "u3"),  # another bot copying it
        PostedReview("github-actions[bot]", MARKED, "u4"),
    ]
    priors = Us(who).prior_reviews(reviews[:1])
    assert priors == [] and who.asked == 0
    priors = Us(who).prior_reviews(reviews)
    assert [p.url for p in priors] == ["u4"] and priors[0].head_sha == HEAD
    assert Us(who).review_at(reviews, HEAD) == "u4"
    assert Us(who).review_at(reviews, "c" * 40) is None


def test_an_apps_own_bot_login_is_confirmed_and_trusted() -> None:
    who = Who("github-actions[bot]", "my-app[bot]")  # assumed, then GitHub says otherwise
    assert Us(who).wrote("my-app[bot]", MARKED)
    assert not Us(Who("github-actions[bot]", "github-actions[bot]")).wrote("my-app[bot]", MARKED)
