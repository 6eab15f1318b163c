"""The HTTP core of the GitHub adapter: authentication (a token provider), pacing, retries and
the one error boundary, where every PyGithub and requests failure becomes a GitHubError typed
by meaning (reviewbot.errors: NotFound, Refused, RateLimited, Unavailable, MaybeApplied), so
no caller tests a status code. The adapter's parts (github.py, github_writes.py,
github_graphql.py) each hold one core; the core knows nothing of pull requests or markers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from github import Auth, Github, GithubException

from reviewbot import errors
from reviewbot.errors import GitHubError
from reviewbot.github_wire import (
    MAX_RATE_LIMIT_WAIT,
    Retry,
    error_code,
    error_message,
    json_or_text,
    rate_limited,
    retry_status,
    transient_wait,
)
from reviewbot.pulls import AnswerTooLarge

logger = logging.getLogger(__name__)

API_VERSION = "2022-11-28"  # pinned, so a new default version cannot change what we read
USER_AGENT = "reviewbot/0.1"
MAX_REDIRECTS = 5  # a download's: the API's 302 to codeload, a renamed repository's 301


class TokenProvider(Protocol):
    """Where the token of each request comes from: asked before every request, so a provider
    that refreshes (a GitHub App's installation token lasts one hour) is used as it is."""

    def token(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FixedToken:
    """One token for the whole run (the Actions GITHUB_TOKEN, a personal access token)."""

    value: str = field(repr=False)

    def token(self) -> str:
        return self.value


class _ProvidedAuth(Auth.Auth):
    """PyGithub's authentication, asking the provider for each request."""

    def __init__(self, tokens: TokenProvider) -> None:
        self._tokens = tokens

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._tokens.token()

    def authentication(self, headers: dict[str, Any]) -> None:
        token = self.token
        if token:  # no token: anonymous requests (public repositories' reads)
            headers["Authorization"] = f"{self.token_type} {token}"


def _mb(n: int) -> str:
    return f"{n / 1_048_576:,.0f} MB"


def classify(status: int | None, data: object, what: str, text: str) -> GitHubError:
    """GitHub's failure as the error that says what it means; `text` is the one line."""
    code = error_code(data)
    kind: type[GitHubError] = errors.Refused
    if status in (404, 410):
        kind = errors.NotFound
    elif status == 401:
        kind = errors.Unauthorized
    elif status == 406:
        kind = errors.TooLarge
    elif status == 422:
        kind = errors.Rejected
    elif code == "not_available":
        kind = errors.TooSlow
    elif status in (403, 429) and "rate limit" in text.lower():
        kind = errors.RateLimited
    elif status is not None and status >= 500:
        kind = errors.Unavailable
    return kind(f"GitHub refused to {what} ({status}): {text}", status, code, text)


class GitHubHttp:
    """Serial requests to one repository's API: paced writes, retries, one error boundary."""

    def __init__(
        self,
        tokens: TokenProvider,
        repo: str,
        api_url: str = "https://api.github.com",
        write_pause: float = 1.0,
        secondary_wait: float = 60.0,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 0.5,
    ) -> None:
        """`write_pause` is GitHub's pause between writes, `secondary_wait` the wait after a
        secondary rate limit without Retry-After, `backoff` the base of retry backoff;
        `sleep` is how to wait (tests pass zeros and a recorder)."""
        retry = Retry(
            total=retries,
            secondary_rate_wait=secondary_wait,
            max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,  # beyond that: a clear failure, not a hang
            # Only GETs are retried by urllib3; every POST, PATCH and DELETE by request(),
            # which checks whether a create landed before sending it again.
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=[429, *range(500, 600)],
            backoff_factor=backoff,
        )
        auth = _ProvidedAuth(tokens)

        def client(pause: float) -> Github:
            return Github(
                auth=auth,
                base_url=api_url.rstrip("/"),
                timeout=30,
                per_page=100,
                retry=retry,
                # Requests are serial; GitHub asks for pauses between writes, not reads.
                seconds_between_requests=0.0,
                seconds_between_writes=pause,
                user_agent=USER_AGENT,
                api_version=API_VERSION,
            )

        self._tokens = tokens
        self._gh = client(write_pause)
        # GraphQL queries are POSTs but read nothing into being: no write pause for them.
        self._graphql = client(0.0).requester
        self.repo = repo
        self.repo_url = f"{api_url.rstrip('/')}/repos/{repo}"
        self.graphql_url = str(self._graphql.graphql_url)
        self._secondary_wait = secondary_wait
        self._sleep = sleep
        self._backoff = backoff
        self._attempts = retries + 1
        self._session = requests.Session()  # for reads that stop at a size (capped_graphql)
        self._session.headers.update(
            {"User-Agent": USER_AGENT, "X-GitHub-Api-Version": API_VERSION}
        )

    def request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        parameters: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        accept: str | None = None,
        reads: bool = False,
        landed: Callable[[], Any] | None = None,
    ) -> Any:
        """One request; the only place PyGithub and requests errors become GitHubErrors.
        GETs are retried by urllib3; everything else here, with the same policy: rate limits
        waited out, 5xx and lost connections sent again, but a create (`landed` given) only
        after checking that the first one did not land (GitHub can apply a request, then 502).
        `reads`: a POST that only reads (GraphQL queries), sent without the write pause."""
        attempts = 1 if method == "GET" else self._attempts
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                return self._send(method, url, parameters, body, accept, reads)
            except GithubException as exc:
                wait = transient_wait(exc, self._secondary_wait, self._backoff)
                if wait is None or last:
                    raise classify(exc.status, exc.data, what, error_message(exc)) from exc
                if exc.status >= 500 and landed is not None:
                    # A gateway error often means GitHub is still applying the write: wait
                    # first, then look, so a slow create is not sent a second time.
                    self._sleep(wait)
                    if (done := self._landed(landed, what, exc)) is not None:
                        return done
                    logger.warning("GitHub did not %s; trying again", what)
                    continue
            except requests.exceptions.RetryError as exc:
                status = retry_status(exc)
                raise errors.Unavailable(
                    f"GitHub kept failing to {what}"
                    + (f" (HTTP {status})" if status else "")
                    + " after every retry; it may be having an outage",
                    status,
                ) from exc
            except requests.RequestException as exc:
                if last:
                    raise errors.Unavailable(
                        f"could not reach GitHub to {what}: {type(exc).__name__}"
                    ) from exc
                wait = self._backoff * 2.0 ** (attempt + 1)
                if landed is not None:  # the request may have arrived: wait, then look
                    self._sleep(wait)
                    if (done := self._landed(landed, what, exc)) is not None:
                        return done
                    logger.warning("GitHub did not %s; trying again", what)
                    continue
            logger.warning("GitHub did not %s; trying again in %.0fs", what, wait)
            self._sleep(wait)
        raise GitHubError(f"could not {what}")  # pragma: no cover - the loop returns or raises

    def _landed(self, check: Callable[[], Any], what: str, exc: Exception) -> Any:
        """After a failed create: is it there anyway? If GitHub cannot say, the write fails
        (sending it again could make two)."""
        try:
            done = check()
        except GitHubError:
            raise errors.MaybeApplied(f"could not {what}, nor check whether it was done") from exc
        if done is not None:
            logger.warning("GitHub did %s despite the error; not sending it again", what)
        return done

    def _send(
        self,
        method: str,
        url: str,
        parameters: dict[str, Any] | None,
        body: dict[str, Any] | None,
        accept: str | None,
        reads: bool,
    ) -> Any:
        if accept is not None:  # not JSON (the diff): PyGithub hands back the text
            status, headers, text = self._gh.requester.requestJson(
                method, url, parameters=parameters, headers={"Accept": accept}
            )
            if status >= 400:
                raise GithubException(status, json_or_text(text), headers)
            return text
        requester = self._graphql if reads else self._gh.requester
        _, data = requester.requestJsonAndCheck(method, url, parameters=parameters, input=body)
        return data

    def pages(self, url: str, what: str, max_pages: int = 100) -> Iterator[dict[str, Any]]:
        """Items of a paginated list endpoint, 100 a page, one request at a time."""
        for page in range(1, max_pages + 1):
            data = self.request("GET", url, what, parameters={"per_page": 100, "page": page})
            items = [x for x in data if isinstance(x, dict)] if isinstance(data, list) else []
            yield from items
            if len(items) < 100:
                return

    def download(
        self, url: str, what: str, into: IO[bytes], max_bytes: int, timeout: float = 120.0
    ) -> int:
        """A file the API hands out by redirect (a repository archive), written to `into`:
        the API answers 302 with where to fetch it, and that second request goes without the
        token (the token goes only to the API; for a private repository the URL carries a
        short-lived one of its own). Reading stops past `max_bytes` (AnswerTooLarge) or after
        `timeout` seconds, retries included; a 5xx or a lost connection is tried again from the
        start."""
        deadline = time.monotonic() + timeout  # for every attempt together
        for attempt in range(self._attempts):
            into.seek(0)
            into.truncate()
            try:
                return self._download(url, what, into, max_bytes, deadline)
            except (requests.RequestException, errors.Unavailable) as exc:
                late = time.monotonic() >= deadline
                if attempt == self._attempts - 1 or isinstance(exc, errors.TooSlow) or late:
                    if isinstance(exc, GitHubError):
                        raise
                    raise errors.Unavailable(f"could not {what}: {type(exc).__name__}") from exc
                wait = self._backoff * 2.0 ** (attempt + 1)
                logger.warning("could not %s; trying again in %.0fs", what, wait)
                self._sleep(wait)
        raise GitHubError(f"could not {what}")  # pragma: no cover - the loop returns or raises

    def _download(
        self, url: str, what: str, into: IO[bytes], max_bytes: int, deadline: float
    ) -> int:
        """Each redirect followed by hand: the token goes along only while the address stays
        on the API's own origin (a renamed repository's 301), never to another host."""
        api = urlsplit(self.repo_url)
        for _ in range(MAX_REDIRECTS + 1):
            where = urlsplit(url)
            if where.scheme != "https" and (where.scheme, api.scheme) != ("http", "http"):
                raise errors.Refused(f"GitHub sent no usable address to {what}")
            same = (where.scheme, where.netloc) == (api.scheme, api.netloc)
            token = self._tokens.token() if same else ""
            auth = {"Authorization": f"token {token}"} if token else {}
            timeout = (10.0, max(1.0, min(30.0, deadline - time.monotonic())))
            with self._session.get(
                url, headers=auth, allow_redirects=False, stream=True, timeout=timeout
            ) as r:
                if r.status_code not in (301, 302, 303, 307, 308):
                    return self._save(r, what, into, max_bytes, deadline)
                url = urljoin(url, r.headers.get("Location", ""))
        raise errors.Refused(f"GitHub sent too many redirects to {what}")

    @staticmethod
    def _save(
        r: requests.Response, what: str, into: IO[bytes], max_bytes: int, deadline: float
    ) -> int:
        if r.status_code >= 400:
            text = r.text[:500] if r.status_code < 500 else r.reason or ""
            data = json_or_text(text)
            failed = GithubException(r.status_code, data, dict(r.headers))
            raise classify(r.status_code, data, what, error_message(failed))
        if r.status_code != 200:
            raise errors.Refused(f"GitHub answered {r.status_code} to {what}", r.status_code)
        declared = r.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise AnswerTooLarge(
                f"could not {what}: it is {_mb(int(declared))}, over the {_mb(max_bytes)} allowed"
            )
        size = 0
        for chunk in r.iter_content(1 << 16):
            size += len(chunk)
            if size > max_bytes:
                raise AnswerTooLarge(f"could not {what}: it passed the {_mb(max_bytes)} allowed")
            if time.monotonic() > deadline:
                raise errors.TooSlow(f"could not {what} in time (a slow download)")
            into.write(chunk)
        into.flush()
        return size

    def graphql(
        self, query: str, variables: dict[str, Any], what: str, write: bool = False
    ) -> dict[str, Any]:
        """One GraphQL request. 5xx and rate limits answered with a status are retried by
        request(); GraphQL also reports its rate limit as HTTP 200 with
        `errors[].type: RATE_LIMITED`, retried here."""
        body = {"query": query, "variables": variables}
        for attempt in range(self._attempts):
            data = self.request("POST", self.graphql_url, what, body=body, reads=not write)
            if rate_limited(data) and attempt < self._attempts - 1:
                logger.warning(
                    "GitHub's GraphQL rate limit: trying again in %.0fs", self._secondary_wait
                )
                self._sleep(self._secondary_wait)
                continue
            errors_ = data.get("errors") if isinstance(data, dict) else None
            if errors_:
                first = errors_[0].get("message") if isinstance(errors_[0], dict) else errors_[0]
                kind = errors.RateLimited if rate_limited(data) else errors.Refused
                raise kind(f"GitHub refused to {what}: {str(first)[:200]}")
            return (data.get("data") or {}) if isinstance(data, dict) else {}
        raise GitHubError(f"could not {what}")  # pragma: no cover - the loop returns or raises

    def capped_graphql(
        self, query: str, variables: dict[str, Any], what: str, cap: int
    ) -> dict[str, Any]:
        """A GraphQL read whose answer is read only up to `cap` bytes: past that, the
        connection is dropped and AnswerTooLarge raised. If GitHub fails it, the ordinary
        read (with its retries) is sent instead."""
        body = {"query": query, "variables": variables}
        token = self._tokens.token()
        auth = {"Authorization": f"token {token}"} if token else {}
        try:
            with self._session.post(
                self.graphql_url, json=body, stream=True, timeout=30, headers=auth
            ) as r:
                if r.status_code == 200:
                    chunks, size = [], 0
                    for chunk in r.iter_content(65_536):
                        size += len(chunk)
                        if size > cap:
                            raise AnswerTooLarge(f"GitHub's answer to {what} passed {cap:,} bytes")
                        chunks.append(chunk)
                    data = json.loads(b"".join(chunks))
                    if isinstance(data, dict) and not data.get("errors"):
                        return dict(data.get("data") or {})
        except (requests.RequestException, ValueError) as exc:
            logger.warning("could not %s in one answer (%s); asking again", what, exc)
        return self.graphql(query, variables, what)
