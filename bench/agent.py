"""What agent mode costs, and how fast its snapshot and tools are.

1. Input tokens per review, `context: agent` at the default budgets against `context: scope`,
   on the last N commits of a repository (goal: at most 3x scope). The model is scripted and
   greedy: every turn it makes three parallel calls (read a changed file, grep and find_symbol
   a name from the diff, list its directory) until it is asked for the answer without tools.
2. The share of input tokens served from cache on turns after the first, with a fake prefix
   cache as the API documents it: per `prompt_cache_key`, the longest prefix shared with an
   earlier request, counted in 128-token blocks once it reaches 1,024 tokens (goal >= 75%).
3. Snapshot preparation (time, peak memory) on a generated archive of a ~100 MB repository
   (goal: under 5 s and 150 MB), and each tool's latency on it (goal: under 50 ms a call).

Run: `.venv/bin/python bench/agent.py [REPO] [--commits N] [--rev REV] [--archive-mb MB]
[--runs N] [--set KEY=VALUE]`
(`--archive-only`: the snapshot figures alone; `--no-archive`: the token figures alone;
`--archive-from DIR`: the archive made of real source files, e.g. Python's library).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewbot.agent.snapshot import git_snapshot  # noqa: E402
from reviewbot.agent.wiring import Agent, cache_key  # noqa: E402
from reviewbot.chunking import estimate_tokens  # noqa: E402
from reviewbot.config import Config  # noqa: E402
from reviewbot.gather import prepare_from  # noqa: E402
from reviewbot.localdiff import GIT_DIFF, GitContents  # noqa: E402
from reviewbot.model import FunctionCall, ModelReply, ModelRequest, Usage  # noqa: E402
from reviewbot.responses import ResponsesCodec  # noqa: E402
from reviewbot.runner import ClientSettings  # noqa: E402

SETTINGS = ClientSettings("https://api.example/v1", "k", "m")
BLOCK, MIN_CACHED = 128, 1024
ANSWER = json.dumps({"summary": "ok", "findings": [], "resolved": [], "file_summaries": []})


def prompt_text(req: ModelRequest) -> str:
    """The request as the endpoint lays out its prompt: tools, instructions, then the input."""
    body = ResponsesCodec().body(req, SETTINGS, 1000)
    items = body["input"]
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    parts = [json.dumps(body.get("tools", [])), body["instructions"]]
    return "".join(parts + [json.dumps(i) for i in items])


class PrefixCache:
    """Per cache key, the prompts seen; a request's cached tokens are its longest common
    prefix with one of them, in whole blocks, from 1,024 tokens on."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = {}

    def cached(self, key: str, text: str) -> int:
        best = 0
        for old in self.seen.get(key, []):
            n = len(os.path.commonprefix([old, text]))  # noqa: RUF071 - text, not paths
            best = max(best, n)
        self.seen.setdefault(key, []).append(text)
        tokens = estimate_tokens(text[:best]) if best else 0
        return 0 if tokens < MIN_CACHED else tokens // BLOCK * BLOCK


class Greedy:
    """A scripted model that uses every call it is allowed, then answers."""

    def __init__(self, paths: Sequence[str], words: Sequence[str], cache: PrefixCache) -> None:
        self.paths, self.words, self.cache = list(paths) or ["README.md"], list(words), cache
        self.turns: list[tuple[int, int, int]] = []  # (turn, input tokens, cached)
        self.n = 0

    def run(
        self,
        requests: Sequence[ModelRequest],
        on_done: Callable[[int, int], None] | None = None,
        deadline: float | None = None,
    ) -> list[ModelReply]:
        out = []
        for req in requests:
            text = prompt_text(req)
            tokens = estimate_tokens(text)
            cached = self.cache.cached(req.cache_key, text)
            turn = 1 + sum(
                1 for i in req.items if isinstance(i, FunctionCall) and i.call_id[-2:] == "_0"
            )
            self.turns.append((turn, tokens, cached))
            usage = Usage(tokens, 200, cached, 0, 1)
            if req.tool_choice == "none":
                out.append(ModelReply(ANSWER, usage))
                continue
            calls = []
            for k in range(3):
                self.n += 1
                path = self.paths[self.n % len(self.paths)]
                word = self.words[self.n % len(self.words)] if self.words else "def"
                name, args = [
                    ("read_file", {"path": path, "start_line": 1, "end_line": 400, "side": "head"}),
                    ("grep", {"pattern": word, "path_glob": None}),
                    ("find_symbol", {"name": word}),
                    ("list_dir", {"path": path.rsplit("/", 1)[0] if "/" in path else "."}),
                ][(self.n + k) % 4]
                calls.append(FunctionCall(f"c{self.n}_{k}", name, json.dumps(args)))
            out.append(ModelReply(None, usage, items=tuple(calls)))
        return out


def words_of(diff: str) -> list[str]:
    import re

    found = re.findall(r"^\+.*?\b([A-Za-z_][A-Za-z0-9_]{3,40})\b", diff, re.M)
    return list(dict.fromkeys(found))[:20]


def cost_bench(repo: str, commits: int, config: Config, rev: str = "HEAD") -> None:
    os.chdir(repo)
    log = subprocess.run(
        ["git", "log", "--no-merges", "--format=%H", f"-{commits}", rev, "--"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    scope_tokens = agent_tokens = later_input = later_cached = reviews = gaps = 0
    calls = turns = 0
    for sha in log:
        if subprocess.run(
            ["git", "rev-parse", "-q", "--verify", f"{sha}~1"], capture_output=True
        ).returncode:
            continue
        diff = subprocess.run(
            [*GIT_DIFF, f"{sha}~1", sha, "--"], capture_output=True, check=True
        ).stdout.decode("utf-8", "replace")
        contents = GitContents(f"{sha}~1", sha, os.environ)
        # One plan for both: agent mode sends scope's prompts, and adds its tools.
        scoped = prepare_from(contents, diff, replace(config, context="scope"))
        contents.close()
        if not scoped.plan.chunks:
            continue
        reviews += 1
        scope_tokens += sum(estimate_tokens(prompt_text(r)) for r in scoped.requests)
        snap = git_snapshot(f"{sha}~1", sha)
        model = Greedy([f.path for f in scoped.files], words_of(diff), PrefixCache())
        agent = Agent(snap, cache_key("bench", sha)).wrap(model, config)
        agent.run(scoped.requests)
        snap.close()
        agent_tokens += sum(t for _, t, _ in model.turns)
        later = [(t, c) for turn, t, c in model.turns if turn > 1]
        later_input += sum(t for t, _ in later)
        later_cached += sum(c for _, c in later)
        gaps += sum(1 for r in agent.reports if r.gap)
        calls += sum(n for r in agent.reports for _, n in r.calls)
        turns += sum(r.turns for r in agent.reports)
    if not reviews:
        sys.exit("no commits with reviewable changes")
    d = config
    print(
        f"agent bench · {Path(repo).name} at {rev} · {reviews} reviews · budgets: "
        f"{d.agent_turns} turns, "
        f"{d.agent_tool_calls} calls, {d.agent_result_bytes:,} B a result, "
        f"{d.agent_tokens:,} added tokens a part"
    )
    print(
        f"input tokens: scope {scope_tokens:,} · agent {agent_tokens:,} · "
        f"ratio {agent_tokens / scope_tokens:.2f}x (goal <= 3x) · {turns} turns, {calls} tool "
        f"calls, {gaps} parts with a coverage gap"
    )
    share = later_cached / later_input if later_input else 0.0
    print(f"cached share of input on turns after the first: {share:.1%} (goal >= 75%)")


def make_archive(path: Path, megabytes: int, source: Path | None = None) -> int:
    """A gzipped tarball like GitHub's: one top directory, source-like files. Generated lines
    of ten words (the hardest case for a substring search: every pair of letters is common),
    or, with `source`, the real files under it (`*.py`, `*.c`, `*.h`, `*.md`, `*.rst`, `*.txt`)
    copied again under `copyN/` until the size is reached, beside the generated files the
    measured calls name (`pkg71/mod4242.py` and `pkg3/`)."""
    rng = random.Random(7)
    words = ["def", "return", "self", "value", "config", "parse", "items", "for", "in", "if"]
    total = 0
    real = sorted(
        p
        for p in (source.rglob("*") if source else [])
        if p.suffix in {".py", ".c", ".h", ".md", ".rst", ".txt"} and p.is_file()
    )
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:

        def add(name: str, data: bytes) -> None:
            nonlocal total
            info = tarfile.TarInfo(f"octo-big-abc1234/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            total += len(data)

        n = 0
        while total < megabytes * 1024 * 1024 and (not real or n <= 4242):
            lines = [" ".join(rng.choices(words, k=8)) + f" # {rng.random()}" for _ in range(200)]
            if n == 4242:
                lines[100] = "def needle_function(x):  # the one grep finds"
            if not real or n in (3, 4242):
                add(f"pkg{n % 97}/mod{n}.py", ("\n".join(lines) + "\n").encode())
            n += 1
        copy = 0
        while real and total < megabytes * 1024 * 1024:
            for file in real:
                if total >= megabytes * 1024 * 1024:
                    break
                add(f"copy{copy}/{file.relative_to(source or file)}", file.read_bytes())
            copy += 1
    return total


# Run in a fresh process, so its peak memory is the snapshot's alone (and Python's own). The
# calls: the five a model makes most (cold: each the first of its kind), then harder ones (an
# identifier found nowhere, a `**` glob over every file, a name in most lines, a name inside
# every `self`), then all of them again (warm).
CHILD = """
import json, os, resource, sys, time, tracemalloc
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from reviewbot.agent.snapshot import tar_snapshot
from reviewbot.agent.tools import Tools

def rss():
    # This process's own peak (VmHWM): ru_maxrss would also count the bench's memory, which
    # the child shares until it executes Python.
    try:
        with open("/proc/self/status") as status:
            for row in status:
                if row.startswith("VmHWM:"):
                    return int(row.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

if sys.argv[3] == "heap":  # traced allocations slow Python down: measured on their own
    tracemalloc.start()
    tar_snapshot(Path(sys.argv[1])).close()
    print(json.dumps({"heap": tracemalloc.get_traced_memory()[1]}))
    sys.exit()
base = rss()
t = time.perf_counter()
snap = tar_snapshot(Path(sys.argv[1]))
tools = Tools(snap)
prep = time.perf_counter() - t
prep_rss = rss()
calls = [
    ("read_file", {"path": "pkg71/mod4242.py", "start_line": 90, "end_line": 120, "side": "head"}),
    ("list_dir", {"path": "pkg3"}),
    ("grep", {"pattern": "needle_function", "path_glob": "pkg71/*.py"}),
    ("grep", {"pattern": "needle_function", "path_glob": None}),
    ("find_symbol", {"name": "needle_function"}),
    ("grep", {"pattern": "load_config", "path_glob": None}),
    ("grep", {"pattern": "self.confi", "path_glob": "**/*.py"}),
    ("find_symbol", {"name": "parse"}),
    ("find_symbol", {"name": "elf"}),
]
lat = []
for warm in (False, True):
    for name, args in calls:
        t = time.perf_counter()
        out = tools.call(name, json.dumps(args))
        ms = (time.perf_counter() - t) * 1000
        if "needle" in json.dumps(args):
            assert "needle_function(x)" in out, out[:300]
        assert not out.startswith("error"), out[:300]
        arg = args.get("pattern") or args.get("name") or args.get("path")
        glob = args.get("path_glob")
        lat.append((warm, name + "(" + repr(arg) + (", " + repr(glob) if glob else "") + ")", ms))
print(json.dumps({"prep": prep, "base": base, "prep_rss": prep_rss, "rss": rss(),
                  "lat": lat, "files": len(snap.entries("head"))}))
snap.close()
"""


def cpu_times() -> list[int]:
    """The machine's CPU time counters (Linux `/proc/stat`: user ... steal), or none."""
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return []


def busy_and_stolen(before: list[int], after: list[int]) -> str:
    """How busy the CPUs were between two readings, and how much the hypervisor took."""
    if len(before) < 8 or len(after) < 8:
        return ""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta) or 1
    idle = delta[3] + delta[4]
    return f", CPUs {1 - idle / total:.0%} busy, {delta[7] / total:.0%} stolen by the host"


def snapshot_bench(megabytes: int, runs: int, source: Path | None) -> None:
    mb = 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "repo.tar.gz"
        size = make_archive(archive, megabytes, source)
        made_of = f"real files from {source}" if source else "generated files"
        for run in range(1, runs + 1):
            load, ticks = os.getloadavg()[0], cpu_times()
            got = {}
            for what in ("time", "heap"):
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(archive), str(ROOT), what],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                got.update(json.loads(out))
            print(
                f"run {run}/{runs} (load average {load:.2f} before, {os.getloadavg()[0]:.2f} "
                f"after, {os.cpu_count()} cores{busy_and_stolen(ticks, cpu_times())}): "
                f"snapshot of a {size / mb:.0f} MB repository "
                f"of {made_of} "
                f"({archive.stat().st_size / mb:.0f} MB archive, {got['files']:,} files) "
                f"prepared in {got['prep']:.2f} s (goal < 5 s; the tools' plan included); "
                f"Python heap peak {got['heap'] / mb:.1f} MB; process peak RSS "
                f"{got['prep_rss'] / mb:.0f} MB "
                f"after preparing, {got['rss'] / mb:.0f} MB after the calls, of which "
                f"{got['base'] / mb:.0f} MB before it began (goal < 150 MB)"
            )
            for warm in (False, True):
                lat = [(k, v) for w, k, v in got["lat"] if w == warm]
                worst = max(v for _, v in lat)
                shown = ", ".join(f"{k} {v:.0f} ms" for k, v in lat)
                kind = "again (warm)" if warm else "first time"
                print(f"  tools, {kind}: {shown}; slowest {worst:.0f} ms (goal < 50 ms a call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repo", nargs="?", default=str(ROOT))
    parser.add_argument("--commits", type=int, default=30)
    parser.add_argument(
        "--rev", default="HEAD", help="the newest commit of the set (pin it to compare runs)"
    )
    parser.add_argument("--archive-mb", type=int, default=100)
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="e.g. agent_tokens=20000"
    )
    parser.add_argument("--runs", type=int, default=1, help="snapshot runs (fresh processes)")
    parser.add_argument(
        "--archive-from", type=Path, help="a directory of real source for the archive"
    )
    parser.add_argument("--no-archive", action="store_true")
    parser.add_argument("--archive-only", action="store_true", help="skip the token figures")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the gaps are counted below, not logged one by one
    values = dict(kv.split("=", 1) for kv in args.set)
    config = Config(context="agent").with_overrides(values)
    if not args.archive_only:
        cost_bench(args.repo, args.commits, config, args.rev)
    if not args.no_archive:
        snapshot_bench(args.archive_mb, args.runs, args.archive_from)


if __name__ == "__main__":
    main()
