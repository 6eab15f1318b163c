"""`reviewbot review --pr`: a GitHub pull request reviewed from the terminal as the Action
reviews it (the same diff, file contents, guidance and base-branch config), then printed.

Nothing here writes to GitHub: only the adapter's reads are called (the pull request, the
config file, the diff or its files, file contents through GraphQL queries).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from reviewbot.errors import GitHubError, UsageError

if TYPE_CHECKING:
    from reviewbot.localdiff import Source
    from reviewbot.pulls import GitHub

GITHUB_API = "https://api.github.com"
CONFIG_PATH = ".github/reviewbot.yml"  # the Action's default `config` input
TOKEN_ENVS = ("GITHUB_TOKEN", "GH_TOKEN")
_NAME = r"[A-Za-z0-9_.-]+"
_SHORT = re.compile(rf"(?P<repo>{_NAME}/{_NAME})#(?P<number>\d+)")
_PATH = re.compile(rf"/(?P<repo>{_NAME}/{_NAME})/pulls?/(?P<number>\d+)(?:[/?#].*)?")


@dataclass(frozen=True, slots=True)
class PullRef:
    """Which pull request, and the API that serves it."""

    repo: str  # owner/name
    number: int
    api_url: str


def parse_pull_ref(spec: str, env: Mapping[str, str]) -> PullRef:
    """OWNER/REPO#N (on GITHUB_API_URL, else github.com) or a pull request's URL.

    The token goes only where the user chose to send it: api.github.com for a github.com URL,
    or the API GITHUB_API_URL names, whose host the URL must then name too (GitHub Enterprise).
    The URL's host is compared, never used as the API: a look-alike link in a chat
    (`githb.com`, `github.com.evil.example`, `github.com@evil.example`) cannot receive it."""
    spec = spec.strip()
    configured = env.get("GITHUB_API_URL", "").strip().rstrip("/")
    if m := _SHORT.fullmatch(spec):
        return PullRef(m["repo"], int(m["number"]), configured or GITHUB_API)
    parts = urlsplit(spec)
    m = _PATH.fullmatch(parts.path + (f"?{parts.query}" if parts.query else ""))
    if parts.scheme not in ("https", "http") or not parts.netloc or m is None:
        raise UsageError(
            f"--pr takes OWNER/REPO#NUMBER or a pull request URL "
            f"(https://github.com/OWNER/REPO/pull/NUMBER), not {spec[:80]!r}"
        )
    host, port = _server(parts.scheme, parts.netloc)
    if host in ("github.com", "www.github.com"):
        if port is not None:
            raise UsageError(f"--pr: a github.com pull request URL has no port (:{port})")
        return PullRef(m["repo"], int(m["number"]), GITHUB_API)
    if not configured:
        raise UsageError(
            f"--pr: {host} is not github.com, and the GitHub token is sent only to "
            f"api.github.com: for a GitHub Enterprise server, set GITHUB_API_URL to its API "
            f"(e.g. GITHUB_API_URL=https://{host}/api/v3)"
        )
    try:
        api = urlsplit(configured)
        api_host, api_port = (api.hostname or "").lower(), _port(api)
    except ValueError:
        raise UsageError(f"GITHUB_API_URL is no URL: {configured[:80]!r}") from None
    if (host, port) not in ((api_host, api_port), (api_host.removeprefix("api."), api_port)):
        raise UsageError(
            f"--pr names a pull request on {parts.netloc}, but GITHUB_API_URL is {configured}: "
            "the token goes only to that API; use a pull request URL on its server, or "
            "point GITHUB_API_URL at the API of this one"
        )
    return PullRef(m["repo"], int(m["number"]), configured)


def _server(scheme: str, netloc: str) -> tuple[str, int | None]:
    """(host, port other than 443) of a pull request URL that may lead to a token: https,
    no user name or password, and a port only if it is a number."""
    if scheme != "https":
        raise UsageError(f"--pr takes an https:// pull request URL, not {scheme}://")
    if "@" in netloc:
        raise UsageError(
            "--pr: a pull request URL has no user name or password (an @ before the host)"
        )
    parts = urlsplit(f"https://{netloc}")
    host = (parts.hostname or "").lower()
    try:
        port = _port(parts)
    except ValueError:
        raise UsageError(f"--pr: {netloc!r} has no valid port") from None
    if not host:
        raise UsageError(f"--pr: no host in the pull request URL {netloc!r}")
    return host, port


def _port(parts: SplitResult) -> int | None:
    """The URL's port, None for https's own (443) or none given."""
    port = parts.port
    return None if port in (None, 443) else port


def token_from(env: Mapping[str, str]) -> tuple[str, str]:
    """(variable name, token) from GITHUB_TOKEN or GH_TOKEN; a usage error without one."""
    for name in TOKEN_ENVS:
        if token := env.get(name, "").strip():
            return name, token
    raise UsageError(
        "--pr needs a GitHub token: set GITHUB_TOKEN or GH_TOKEN "
        "(e.g. `export GH_TOKEN=$(gh auth token)`; read access to the repository is enough)"
    )


def _client(token: str, repo: str, api_url: str) -> GitHub:
    from reviewbot.github import GitHubClient

    return GitHubClient(token, repo, api_url)


def pull_source(
    spec: str,
    env: Mapping[str, str],
    explicit: Mapping[str, Any],
    config_file: Path | None = None,
    make_github: Callable[[str, str, str], GitHub] = _client,
) -> Source:
    """The pull request's diff (the files API past GitHub's diff limits), its title and body,
    its files at head and base, and the settings the Action would use: the base branch's
    config file (or `config_file`, a local one) under the explicit options."""
    from reviewbot.config import resolve
    from reviewbot.filetexts import GitHubFiles
    from reviewbot.localdiff import Source
    from reviewbot.prompts import PullRequestText

    ref = parse_pull_ref(spec, env)
    variable, token = token_from(env)
    gh = make_github(token, ref.repo, ref.api_url)
    where = f"{ref.repo}#{ref.number}"
    try:
        pr = gh.pull(ref.number)
    except GitHubError as exc:
        host = urlsplit(ref.api_url).hostname or ref.api_url
        if exc.status == 404:
            raise GitHubError(
                f"pull request {where} was not found on {host} (or {variable} cannot see it)", 404
            ) from None
        if exc.status == 401:
            raise GitHubError(f"{host} did not accept the token in {variable} (401)", 401) from None
        raise
    notes = [f"reviewing {where} ({pr.state}) at {pr.head_sha[:7]}; nothing is posted"]
    if config_file is not None:
        text: str | None = _read_local(config_file)
        source = str(config_file)
    else:  # the base branch's, never the head's: the PR cannot choose its own rules
        text = gh.config_file(CONFIG_PATH, pr.base_sha)
        source = f"{CONFIG_PATH} ({pr.base_ref})"
        if text is not None:
            notes.append(f"settings from {source}")
    config = resolve(text, source, {k: v for k, v in explicit.items() if v is not None})
    fetched = gh.diff(pr.number)
    if fetched.via_files_api:
        notes.append("GitHub could not send this diff whole; it was rebuilt from the files API")
    return Source(
        fetched.text,
        config,
        PullRequestText(pr.title, pr.body),
        repo=GitHubFiles(gh, pr.head_sha, pr.base_sha),
        missing=fetched.missing,
        notes=tuple(notes),
        pull=(gh, pr),
    )


def _read_local(path: Path) -> str:
    from reviewbot.errors import ConfigError

    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
