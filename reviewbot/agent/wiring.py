"""Agent mode for an entry point: the snapshot the review reads, and the model that wraps.

The CLI builds the snapshot from the local repository (`--git`, `--staged`); the Action will
build it from the head commit's archive (`tar_snapshot` on the downloaded stream). When there is
no snapshot, the review goes on with `context: scope` and says why.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from reviewbot.agent.loop import AgentModel, Budgets, PartReport
from reviewbot.agent.snapshot import (
    MAX_ARCHIVE_BYTES,
    Snapshot,
    SnapshotError,
    git_snapshot,
    tar_snapshot,
)
from reviewbot.agent.tools import Limits, Tools

if TYPE_CHECKING:
    from reviewbot.config import Config
    from reviewbot.model import Model


@dataclass(frozen=True, slots=True)
class Agent:
    """A snapshot ready for a review, and the prompt cache key of this pull request."""

    snapshot: Snapshot
    cache_key: str

    def wrap(self, model: Model, config: Config) -> AgentModel:
        """`model`, with the tools over this snapshot, within the config's budgets."""
        budgets = Budgets(
            config.agent_turns,
            config.agent_tool_calls,
            config.agent_result_bytes,
            config.agent_tokens,
        )
        tools = Tools(self.snapshot, Limits(result_bytes=budgets.result_bytes))
        return AgentModel(model, tools, budgets, self.cache_key, _progress())


def cache_key(*parts: str) -> str:
    """One prompt cache key per pull request (its repository and number, or a local range)."""
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return f"reviewbot-agent-{digest}"


def cli_agent(
    config: Config, git_range: str | None, staged: bool, remote: bool
) -> tuple[Agent | None, Config, str]:
    """The agent for a local review, or None with the config falling back to `scope` and the
    note that says why. (`--diff` has no repository; `--pr` needs the archive download.)"""
    if config.context != "agent":
        return None, config, ""
    scope = replace(config, context="scope")
    if remote:
        return None, scope, "agent mode with --pr is not available yet: reviewing with scope"
    if not staged and not git_range:
        return None, scope, "agent mode needs the repository (--git or --staged): using scope"
    revs = revisions(git_range, staged)
    if revs is None:
        return None, scope, f"agent mode: cannot resolve {git_range!r}: using scope"
    try:
        snapshot = git_snapshot(*revs)
    except SnapshotError as exc:
        return None, scope, f"agent mode: {exc}: using scope"
    head = revs[1] or "working tree"
    return Agent(snapshot, cache_key("local", str(revs[0]), head)), config, ""


def archive_agent(
    config: Config,
    archive: IO[bytes] | Path | None,
    repository: str,
    number: int,
    why_not: str = "",
    max_bytes: int = MAX_ARCHIVE_BYTES,
) -> tuple[Agent | None, Config, str]:
    """The agent for a pull request from its head commit's archive (GitHub's tarball, as a
    stream or a downloaded file), or None, `scope`, and the note for the review body and the
    step summary when there is none (`archive` None: the download failed, `why_not` says why).
    The caller owns the stream; the snapshot is removed by `Agent.snapshot.close()`."""
    if config.context != "agent":
        return None, config, ""
    scope = replace(config, context="scope")
    if archive is None:
        return (
            None,
            scope,
            f"agent mode: the code archive was not available ({why_not or 'no download'}); "
            "reviewed with scope context",
        )
    try:
        snapshot = tar_snapshot(archive, max_bytes)
    except SnapshotError as exc:
        return None, scope, f"agent mode: {exc}; reviewed with scope context"
    return Agent(snapshot, cache_key(repository, str(number))), config, ""


def revisions(git_range: str | None, staged: bool) -> tuple[str | None, str | None] | None:
    """(base, head) of what `git diff RANGE` / `--cached` compares; head None: the working
    tree, ":" the index."""
    if staged:
        return "HEAD", ":"
    if not git_range:
        return None
    if "..." in git_range:
        a, b = git_range.split("...", 1)
        base = _git("merge-base", a or "HEAD", b or "HEAD")
        return (base, b or "HEAD") if base else None
    if ".." in git_range:
        a, b = git_range.split("..", 1)
        return a or "HEAD", b or "HEAD"
    return git_range, None


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def _progress() -> Callable[[str], None] | None:
    """A live line on stderr when it is a terminal (part, turn, tool calls); quiet in pipes."""
    if not sys.stderr.isatty():
        return None

    def show(line: str) -> None:
        print(f"\rreviewbot: agent: {line}\x1b[K", end="", file=sys.stderr, flush=True)

    return show


def report_json(reports: Sequence[PartReport]) -> list[dict[str, Any]]:
    """`--format json`'s `agent`: per part, its turns, tool calls by tool, and the budget that
    ran out (`gap`, null when none did: a coverage gap is never silent)."""
    return [
        {"part": n, "turns": r.turns, "calls": dict(r.calls), "gap": r.gap or None}
        for n, r in enumerate(reports, 1)
    ]
