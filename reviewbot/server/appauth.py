"""GitHub App authentication: the App's JWT (RS256, signed with its private key) → an
installation token per job, cached per process and replaced before it could expire mid-job."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from reviewbot.errors import ConfigError, GitHubError

logger = logging.getLogger(__name__)

JWT_SECONDS = 540  # GitHub accepts at most 10 minutes
CLOCK_SKEW = 60  # `iat` this far in the past, as GitHub recommends against clock drift
MARGIN = 120.0  # a token with less left is replaced before the next request is sent


@dataclass(frozen=True, slots=True)
class InstallationToken:
    value: str = field(repr=False)
    expires_at: float  # epoch seconds


class AppAuth:
    """Mints JWTs and installation tokens for one App; thread-safe; one per worker process."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        api_url: str = "https://api.github.com",
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app_id = app_id
        self._key = private_key
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            timeout=30,
            transport=transport,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "reviewbot/0.1",
            },
        )
        self._clock = clock
        self._tokens: dict[int, InstallationToken] = {}
        self._login: str | None = None
        self._lock = threading.Lock()

    def jwt(self) -> str:
        """The App's own credential (10 minutes at most), for the /app endpoints."""
        import jwt  # PyJWT, a PyGithub dependency; with `cryptography` for RS256

        now = int(time.time())  # GitHub's clock, not the cache's (tests move that one)
        claims = {"iat": now - CLOCK_SKEW, "exp": now + JWT_SECONDS, "iss": self._app_id}
        try:
            return str(jwt.encode(claims, self._key, algorithm="RS256"))
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ConfigError(
                f"the App's private key cannot sign a JWT ({type(exc).__name__})"
            ) from None

    def bot_login(self) -> str:
        """`<app-slug>[bot]`: who the App's installation tokens write as (GET /app; GET /user
        is not open to installation tokens)."""
        with self._lock:
            if self._login is None:
                data = self._call("GET", "/app", "read the App (GET /app)")
                self._login = f"{data.get('slug') or ''}[bot]"
            return self._login

    def token(self, installation_id: int) -> str:
        """The installation's token for the next request: the cached one, or a new one when
        the cached one has less than MARGIN left (jobs ask before every request)."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached and cached.expires_at - self._clock() > MARGIN:
                return cached.value
            url = f"/app/installations/{installation_id}/access_tokens"
            data = self._call("POST", url, f"get a token for installation {installation_id}")
            value = str(data.get("token") or "")
            if not value:
                raise GitHubError("GitHub sent no installation token")
            expires = _epoch(str(data.get("expires_at") or "")) or self._clock() + 3600
            self._tokens[installation_id] = InstallationToken(value, expires)
            return value

    def forget(self, installation_id: int) -> None:
        """Drop a token GitHub no longer accepts (revoked, or expired early)."""
        with self._lock:
            self._tokens.pop(installation_id, None)

    def _call(self, method: str, url: str, what: str) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {self.jwt()}"}
        try:
            response = self._http.request(method, url, headers=headers)
        except httpx.HTTPError as exc:
            raise GitHubError(f"could not reach GitHub to {what}: {type(exc).__name__}") from None
        if response.status_code == 401:
            raise ConfigError(
                f"GitHub refused the App's JWT to {what} (401): check REVIEWBOT_APP_ID and the "
                "private key"
            )
        if response.status_code >= 400:
            raise GitHubError(
                f"GitHub refused to {what} ({response.status_code})", response.status_code
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise GitHubError(f"GitHub sent no JSON object to {what}", response.status_code)
        return data


def _epoch(stamp: str) -> float | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
