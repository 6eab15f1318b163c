"""`reviewbot review --context agent` as a user runs it: the tools read the commit, and without a
repository the review goes on with scope context and says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.agent_cassettes import function_call
from tests.conftest import FAKE_KEY, FakeResponses, git_repo, run_cli
from tests.llm_cassettes import response


def typo_commit(tmp_path: Path) -> Callable[..., None]:
    """A repository whose last commit misspells a greeting; `git(*args)` runs there."""
    git = git_repo(tmp_path)
    (tmp_path / "hello.py").write_text('def greet():\n    print("Hello")\n')
    git("add", "-A")
    git("commit", "-qm", "base")
    (tmp_path / "hello.py").write_text('def greet():\n    print("Helo")\n')
    git("commit", "-qam", "typo")
    return git


def test_agent_mode_reads_the_commit_not_the_working_tree(
    tmp_path: Path, fake_responses: FakeResponses
) -> None:
    typo_commit(tmp_path)
    (tmp_path / "hello.py").write_text("# not committed\n")
    call = function_call(1, "read_file", path="hello.py", start_line=1, end_line=9, side="head")
    fake_responses.queue.append((200, {}, json.dumps(response(call)).encode()))
    done = run_cli(
        "review",
        "--git",
        "HEAD~1..HEAD",
        "--context",
        "agent",
        "--format",
        "json",
        cwd=tmp_path,
        REVIEWBOT_API_KEY=FAKE_KEY,
        REVIEWBOT_BASE_URL=fake_responses.base_url,
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(body) for _, _, body in fake_responses.seen)
    assert [t["name"] for t in first["tools"]] == ["read_file", "grep", "list_dir", "find_symbol"]
    (output,) = [i["output"] for i in second["input"] if i.get("type") == "function_call_output"]
    assert '2|     print("Helo")' in output and "not committed" not in output
    assert first["prompt_cache_key"] == second["prompt_cache_key"] != "reviewbot-review-v1"
    assert all(FAKE_KEY.encode() not in body for _, _, body in fake_responses.seen)
    # what the conversation did, in the JSON a CI job reads: two turns, one read, no gap
    assert json.loads(done.stdout)["agent"] == [
        {"part": 1, "turns": 2, "calls": {"read_file": 1}, "gap": None}
    ]
    assert json.loads(done.stdout)["status"] == "reviewed"


def test_agent_mode_without_a_repository_reviews_with_scope_and_says_so(
    tmp_path: Path, fake_responses: FakeResponses
) -> None:
    diff = tmp_path / "change.diff"
    diff.write_text("--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n")
    done = run_cli(
        "review",
        "--diff",
        str(diff),
        "--context",
        "agent",
        REVIEWBOT_API_KEY=FAKE_KEY,
        REVIEWBOT_BASE_URL=fake_responses.base_url,
    )
    assert done.returncode == 0, done.stderr
    assert "agent mode needs the repository (--git or --staged): using scope" in done.stderr
    (request,) = [json.loads(body) for _, _, body in fake_responses.seen]
    assert "tools" not in request


def test_agent_settings_in_the_config_file() -> None:
    import pytest

    from reviewbot.config import parse_config_file
    from reviewbot.errors import ConfigError

    got = parse_config_file("context: agent\nagent_turns: 4\nagent-tokens: 10000\n", "c.yml")
    assert got == {"context": "agent", "agent_turns": 4, "agent_tokens": 10_000}
    with pytest.raises(ConfigError, match="'agent_result_bytes' must be at least 500, not 10"):
        parse_config_file("agent_result_bytes: 10\n", "c.yml")
    with pytest.raises(ConfigError, match="'agent_turns' must be positive, not 0"):
        parse_config_file("agent_turns: 0\n", "c.yml")


def test_an_archive_that_fails_or_is_too_large_falls_back_to_scope(tmp_path: Path) -> None:
    import io
    import tarfile

    from reviewbot.agent.wiring import archive_agent
    from reviewbot.config import Config

    config = Config(context="agent")
    agent, used, note = archive_agent(config, None, "o/r", 7, "HTTP 502 from codeload")
    assert agent is None and used.context == "scope"
    assert note == (
        "agent mode: the code archive was not available (HTTP 502 from codeload); "
        "reviewed with scope context"
    )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("o-r-abc/big.txt")
        info.size = 2 * 1024 * 1024
        tar.addfile(info, io.BytesIO(b"x" * info.size))
    buf.seek(0)
    agent, used, note = archive_agent(config, buf, "o/r", 7, max_bytes=1024 * 1024)
    assert agent is None and used.context == "scope"
    assert note == "agent mode: the archive unpacks to more than 1 MB; reviewed with scope context"
    buf.seek(0)
    agent, used, note = archive_agent(config, buf, "o/r", 7)
    assert agent is not None and used.context == "agent" and note == ""
    assert agent.cache_key.startswith("reviewbot-agent-")
    agent.snapshot.close()


def test_a_dry_run_shows_the_tools_the_first_request_and_what_the_turns_may_cost(
    tmp_path: Path,
) -> None:
    typo_commit(tmp_path)

    def dry(*args: str) -> str:
        done = run_cli("review", "--git", "HEAD~1..HEAD", "--dry-run", *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout

    text = dry("--context", "agent")
    assert '"name": "find_symbol"' in text and "# Looking around (agent mode)" in text
    assert "(agent mode: up to 8 turns each)" in text
    agent = json.loads(dry("--context", "agent", "--format", "json"))
    scope = json.loads(dry("--context", "scope", "--format", "json"))
    assert [t["name"] for t in agent["agent"]["tools"]] == [
        "read_file",
        "grep",
        "list_dir",
        "find_symbol",
    ]
    assert "# Looking around (agent mode)" in agent["agent"]["instructions"]
    assert "agent" not in scope and scope["estimate"]["agent_turns"] is None
    # the worst case: every turn's output; as input, the first request, agent_tokens, and the
    # last request (the first again, with every tool answer: 16 calls of 3,000 bytes)
    assert agent["estimate"]["output_tokens"] == (8 + 1) * 32_000
    added = agent["estimate"]["input_tokens"] - scope["estimate"]["input_tokens"]
    budgets = 10_000 + 16 * 3_000 // 3.2  # agent_tokens, and every tool answer in the last
    assert budgets < added < budgets + 2 * scope["estimate"]["input_tokens"]
