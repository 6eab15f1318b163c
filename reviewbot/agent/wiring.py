"""Agent mode for an entry point: the snapshot the review reads, and the model that wraps.

The CLI builds the snapshot from the local repository (`--git`, `--staged`); a pull request's
(the Action, `--pr`, the App server) comes from a clone that holds its head commit (the
Action's workspace, when the workflow fetched it) or else from one download of the head
commit's archive. When there is no snapshot, the review goes on with `context: scope` and says
why, in the review body and the step summary.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from reviewbot.agent.loop import AgentModel, Budgets, PartReport, first_request
from reviewbot.agent.snapshot import (
    MAX_ARCHIVE_BYTES,
    MAX_UNPACK_SECONDS,
    Snapshot,
    SnapshotError,
    git_snapshot,
    tar_snapshot,
)
from reviewbot.agent.tools import TOOLS, Limits, Tools
from reviewbot.errors import GitHubError
from reviewbot.localdiff import GitContents
from reviewbot.markup import inline_code

if TYPE_CHECKING:
    from reviewbot.config import Config
    from reviewbot.context import RepoFiles
    from reviewbot.model import Model, ModelRequest
    from reviewbot.pulls import GitHub, PullInfo
    from reviewbot.review import Prepared, ReviewResult

# GitHub's gzipped tarball of the head commit; past this the download stops (its unpacked
# size is capped again by MAX_ARCHIVE_BYTES).
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024


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

    def review(
        self,
        prepared: Prepared,
        config: Config,
        model: Model,
        on_done: Callable[[int, int], None] | None = None,
    ) -> tuple[ReviewResult, list[PartReport]]:
        """The review of `prepared` by `model` with the tools, each part's report, and the
        findings verified by `model` alone (a check against the cited code needs no tools)."""
        from reviewbot.review import run_review

        wrapped = self.wrap(model, config)
        return run_review(prepared, config, wrapped, on_done, verifier=model), wrapped.reports


def cache_key(*parts: str) -> str:
    """One prompt cache key per pull request (its repository and number, or a local range)."""
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return f"reviewbot-agent-{digest}"


def cli_agent(
    config: Config, repo: RepoFiles | None, git_range: str | None = None
) -> tuple[Agent | None, Config, str]:
    """The agent for a local review over the sides `repo` (the diff's GitContents) compares,
    or None with the config falling back to `scope` and the note that says why (`--diff` has
    no repository)."""
    if config.context != "agent":
        return None, config, ""
    if not isinstance(repo, GitContents):
        if git_range:
            why = f"agent mode: cannot resolve {git_range!r}"
        else:
            why = "agent mode needs the repository (--git or --staged)"
        return None, replace(config, context="scope"), f"{why}: using scope"
    base, head = repo.sides
    key = cache_key("local", base, head or "working tree")
    agent, config, why = repo_agent(config, base, head, key, env=repo.env)
    return agent, config, f"{why}: using scope" if why else ""


def repo_agent(
    config: Config,
    base: str | None,
    head: str | None,
    key: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Agent | None, Config, str]:
    """The agent over a local repository's `base` and `head` (git in `cwd` with `env`), or
    None, `scope` and why not."""
    try:
        snapshot = git_snapshot(base, head, cwd=cwd, env=env)
    except SnapshotError as exc:
        return None, replace(config, context="scope"), f"agent mode: {exc}"
    return Agent(snapshot, key), config, ""


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
        # A quarter of the run's time at most: the model needs the rest.
        seconds = min(MAX_UNPACK_SECONDS, config.timeout_minutes * 15)
        snapshot = tar_snapshot(archive, max_bytes, seconds=seconds)
    except SnapshotError as exc:
        return None, scope, f"agent mode: {exc}; reviewed with scope context"
    return Agent(snapshot, cache_key(repository, str(number))), config, ""


def pull_agent(
    config: Config,
    gh: GitHub,
    pr: PullInfo,
    workspace: Path | None = None,
    max_download: int = MAX_DOWNLOAD_BYTES,
) -> tuple[Agent | None, Config, str]:
    """The agent for a pull request: its head (and base) commit from `workspace`'s git objects
    when that clone holds them (nothing downloaded), else the head commit's archive downloaded
    once from GitHub into a temporary file. None, `scope` and the note that says why when
    neither works (the review goes on)."""
    if config.context != "agent":
        return None, config, ""
    key = cache_key(pr.base_repo, str(pr.number))
    if workspace is not None and _has_commit(workspace, pr.head_sha) and _whole(workspace):
        base = pr.base_sha if _has_commit(workspace, pr.base_sha) else None
        try:
            return Agent(git_snapshot(base, pr.head_sha, cwd=workspace), key), config, ""
        except SnapshotError:
            pass  # the download below
    try:
        with tempfile.TemporaryFile(prefix="reviewbot-archive-") as fh:
            try:
                gh.archive(pr.head_sha, fh, max_download)
            except GitHubError as exc:
                return archive_agent(config, None, pr.base_repo, pr.number, _short(exc))
            fh.seek(0)
            return archive_agent(config, fh, pr.base_repo, pr.number)
    except OSError as exc:  # no room on the disk for the download or the snapshot
        why = f"could not store it: {exc.strerror or type(exc).__name__}"
        return archive_agent(config, None, pr.base_repo, pr.number, why)


def _has_commit(workspace: Path, sha: str) -> bool:
    if not sha or not all(c in "0123456789abcdef" for c in sha):
        return False  # only a full object name is looked up, never a ref the PR could name
    return _git("-C", str(workspace), "cat-file", "-t", sha) == "commit"


def _whole(workspace: Path) -> bool:
    """Not a partial clone (`actions/checkout` with `filter:`): there, reading a blob that was
    left out makes git fetch it, one request per file a grep reads."""
    return _git("-C", str(workspace), "config", "--get", "extensions.partialclone") is None


def _short(exc: GitHubError) -> str:
    return " ".join(str(exc).split())[:200]


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


def definitions() -> list[dict[str, Any]]:
    """The tools as the model is offered them (name, description, strict JSON schema)."""
    return [t.function() for t in TOOLS]


def preview(first: ModelRequest) -> str:
    """What a dry run shows of agent mode: the tool definitions, then the first request as
    the model gets it (instructions and input), whose later turns add tool answers."""
    tools = definitions()
    return "\n".join(
        [
            f"# agent mode: {len(tools)} read-only tools offered (tool_choice: auto)",
            "",
            json.dumps(tools, indent=2),
            "",
            "# the first request's instructions",
            "",
            first.instructions,
            "",
            "# the first request's input",
            "",
            first.input,
        ]
    )


def dry_run_agent(text: str, requests: Sequence[ModelRequest], as_json: bool) -> str:
    """A dry run's plan and prompts (`text`), with what agent mode adds: the tool definitions
    and the first request's instructions and input as the model gets them (JSON: `agent`)."""
    if not requests:
        return text
    first = first_request(requests[0])
    if not as_json:
        return f"{text.rstrip()}\n\n{preview(first)}\n"
    from reviewbot.formats import dumps

    extra = {
        "tools": definitions(),
        "instructions": first.instructions,
        "tool_choice": first.tool_choice,
    }
    return dumps(json.loads(text) | {"agent": extra})


def gap_notes(reports: Sequence[PartReport]) -> list[str]:
    """For the review body and the step summary: each part whose look-up budget ran out
    (a coverage gap: its answer came from what it had read by then)."""
    many = len(reports) > 1
    return [
        f"⚠️ Coverage gap in agent mode{f' (part {n} of {len(reports)})' if many else ''}: "
        f"{r.gap}; the model answered from what it had read by then."
        for n, r in enumerate(reports, 1)
        if r.gap
    ]


MAX_TRAIL = 20  # tool calls listed per part in the step summary


def trail_lines(reports: Sequence[PartReport]) -> list[str]:
    """For the step summary: per part, its turns and the tool calls it made (tool and main
    argument, truncated), and its coverage gap."""
    if not reports:
        return []
    lines = ["", "<details><summary>Agent mode: tool calls</summary>", ""]
    for n, r in enumerate(reports, 1):
        calls = sum(c for _, c in r.calls)
        gap = f"; coverage gap: {r.gap}" if r.gap else ""
        lines.append(f"- Part {n}: {r.turns} turn(s), {calls} tool call(s){gap}")
        lines += [f"  - {inline_code(t)}" for t in r.trail[:MAX_TRAIL]]
        if len(r.trail) > MAX_TRAIL:
            lines.append(f"  - … and {len(r.trail) - MAX_TRAIL} more")
    return [*lines, "", "</details>"]
