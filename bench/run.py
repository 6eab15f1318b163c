"""Speed and size figures for reviewbot's own work (the model's latency is not ours).

Prints, on this machine:
  1. `reviewbot --help` wall time (median of 7);
  2. `reviewbot review --dry-run` on a generated 200-file, 10,000-changed-line diff: wall, peak RSS;
  3. a full review of that diff against a local fake endpoint that answers each request after
     1 s: wall time, number of requests, files reviewed, and the ratio to the ideal
     ceil(requests / concurrency) seconds;
  4. `reviewbot action` on a 67-file PR of this repository's history with a 1 s model, with
     `context: diff` and `context: scope`, against the ideal (request waves + GitHub's 1 s pause
     between two writes; `--only-scope` prints just this);
  5. `--dry-run` on a generated ~50 MB, 6,500-file diff: peak RSS against 4x the diff + 100 MB;
  6. the size of a fresh virtual environment after `pip install .` (skip with --no-install).

Run: `make bench` or `.venv/bin/python bench/run.py`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"help": 0.4, "dry_run": 1.0, "dry_run_mb": 150, "review": 2.5, "venv_mb": 80}


def generated_diff(files: int = 200, hunks: int = 5, added: int = 10) -> str:
    """A diff of `files` Python files, each with `hunks` hunks of `added` new lines."""
    out: list[str] = []
    for i in range(files):
        path = f"pkg/module_{i:03d}/service_{i:03d}.py"
        out += [
            f"diff --git a/{path} b/{path}",
            "index 1234567..89abcde 100644",
            f"--- a/{path}",
            f"+++ b/{path}",
        ]
        for h in range(hunks):
            old = 1 + h * 40
            new = old + h * added
            out.append(f"@@ -{old},6 +{new},{6 + added} @@ def handler_{h}(request):")
            out += [f"     context_line_{h}_{k} = compute(value_{k})" for k in range(3)]
            out += [
                f"+    result_{h}_{k} = self.client.fetch(request.args.get('k{k}'), timeout=30)"
                for k in range(added)
            ]
            out += [f"     trailing_{h}_{k} = finish(value_{k})" for k in range(3)]
    return "\n".join(out) + "\n"


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB, exit code of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


class SlowEndpoint:
    """A Responses endpoint on 127.0.0.1 answering every POST after `delay` seconds."""

    def __init__(self, delay: float, findings: list[dict[str, object]] | None = None) -> None:
        body = json.dumps(
            {
                "status": "completed",
                "output": [
                    {
                        "type": "message",
                        "content": [
                            {
                                "type": "output_text",
                                "text": json.dumps({"summary": "ok", "findings": findings or []}),
                            }
                        ],
                    }
                ],
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }
        ).encode()
        self.requests = 0

        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                endpoint.requests += 1
                time.sleep(delay)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"


def venv_size(tmp: Path) -> tuple[float, float]:
    """MB of a fresh venv after `pip install .`, with and without pip/setuptools themselves."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(ROOT),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    total = du(venv)
    site = next((venv / "lib").glob("python*/site-packages"))
    tooling = sum(du(p) for p in site.iterdir() if p.name.split("-")[0] in ("pip", "setuptools"))
    return total / 2**20, (total - tooling) / 2**20


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# The 67-file bench PR: a real range of this repository's history (Python, Markdown, YAML,
# templates), with the real texts of both sides served by a fake GitHub.
PR_BASE, PR_HEAD = "4cb595de45a1", "af8305f"  # af8305f~14..


def git_text(rev: str, path: str) -> str | None:
    p = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True)
    return p.stdout.decode("utf-8", "replace") if p.returncode == 0 else None


def scope_review(runs: int = 3) -> None:
    """`reviewbot action` on the 67-file PR with a 1 s model, `context: diff` and `scope`:
    wall time against the ideal (request waves at 1 s each, plus GitHub's 1 s pause between
    the review and the walkthrough writes: GitHub's rule, not our work)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from action import PAYLOAD, REPO, FakeGitHub

    pr = PAYLOAD["pull_request"]
    revs = {pr["head"]["sha"]: PR_HEAD, pr["base"]["sha"]: PR_BASE}
    texts: dict[str, str | None] = {}

    def text_of(spec: str) -> str | None:
        sha, _, path = spec.partition(":")
        if spec not in texts:
            texts[spec] = git_text(revs[sha], path) if sha in revs else None
        return texts[spec]

    diff = subprocess.run(
        ["git", "diff", PR_BASE, PR_HEAD], cwd=ROOT, capture_output=True, text=True
    ).stdout
    if not diff:
        print(f"scope:     skipped: commits {PR_BASE}..{PR_HEAD} are not in this clone")
        return
    files = diff.count("\ndiff --git ") + diff.startswith("diff --git ")
    gh = FakeGitHub()
    gh.diff, gh.text_of = diff, text_of
    model = SlowEndpoint(delay=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        event = Path(tmp) / "event.json"
        event.write_text(json.dumps(PAYLOAD))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))},
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": gh.url,
            "INPUT_API_KEY": "bench-not-a-key",
            "INPUT_GITHUB_TOKEN": "bench-not-a-token",
            "INPUT_BASE_URL": model.url,
        }
        for context in ("diff", "scope"):
            walls, cpus = [], []
            for run in range(runs + 1):  # the first warms the fake's texts, and is not timed
                model.requests = 0 if run == 1 else model.requests
                used = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                p = subprocess.run(
                    [sys.executable, "-m", "reviewbot", "action"],
                    env={**env, "INPUT_CONTEXT": context},
                    capture_output=True,
                    text=True,
                )
                walls += [time.perf_counter() - start] if run else []
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
                cpus += [cpu] if run else []
                if p.returncode != 0:
                    sys.exit(f"reviewbot action failed:\n{p.stdout}\n{p.stderr}")
            requests = model.requests // runs
            ideal = math.ceil(requests / 4) * 1.0 + 1.0
            wall = statistics.median(walls)
            print(
                f"{context + ':':<7} {wall:.3f} s wall (median of {runs}), {files}-file PR, "
                f"{requests} requests at 1 s, concurrency 4; ideal {ideal:.0f} s "
                f"({math.ceil(requests / 4)} waves + GitHub's 1 s pause between two writes): "
                f"+{wall - ideal:.2f} s (goal < +0.5 s); reviewbot's own CPU "
                f"{statistics.median(cpus):.2f} s"
            )
    gh.server.shutdown()
    model.server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-install", action="store_true", help="skip the venv size figure")
    parser.add_argument("--only-scope", action="store_true", help="only the 67-file PR figure")
    args = parser.parse_args()
    if args.only_scope:
        scope_review()
        return
    exe = [sys.executable, "-m", "reviewbot"]
    print(f"reviewbot benchmark · {os.cpu_count()} cores · Python {sys.version.split()[0]}")

    helps = sorted(run_measured([*exe, "--help"])[0] for _ in range(7))
    print(
        f"help:      {statistics.median(helps):.3f} s wall (median of 7; goal < {GOALS['help']} s)"
    )

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        diff = tmp / "big.diff"
        diff.write_text(generated_diff())
        changed = sum(
            1
            for ln in diff.read_text().splitlines()
            if ln.startswith("+") and not ln.startswith("+++")
        )
        wall, rss, _ = run_measured([*exe, "review", "--diff", str(diff), "--dry-run"])
        print(
            f"dry-run:   {wall:.3f} s wall, {rss:.0f} MB peak RSS on 200 files / {changed:,} "
            f"changed lines (goal < {GOALS['dry_run']} s, < {GOALS['dry_run_mb']} MB)"
        )

        endpoint = SlowEndpoint(delay=1.0)
        env = {**os.environ, "REVIEWBOT_API_KEY": "bench-not-a-key"}
        out = tmp / "review.json"
        start = time.perf_counter()
        with out.open("w") as fh:
            subprocess.run(
                [
                    *exe,
                    "review",
                    "--diff",
                    str(diff),
                    "--base-url",
                    endpoint.url,
                    "--format",
                    "json",
                ],
                check=True,
                stdout=fh,
                env=env,
            )
        wall = time.perf_counter() - start
        doc = json.loads(out.read_text())
        left_out = len(doc["not_reviewed"])
        ideal = math.ceil(endpoint.requests / 4) * 1.0
        print(
            f"review:    {wall:.3f} s wall for {endpoint.requests} requests at 1 s each, "
            f"concurrency 4; {200 - left_out} of 200 files reviewed, {left_out} left out; "
            f"wall / ideal {ideal:.0f} s = {wall / ideal:.2f} (goal < {GOALS['review']} s)"
        )
        endpoint.server.shutdown()

        scope_review()

        huge = tmp / "huge.diff"
        huge.write_text(generated_diff(files=6500, hunks=5, added=17))
        size_mb = huge.stat().st_size / 2**20
        wall, rss, _ = run_measured([*exe, "review", "--diff", str(huge), "--dry-run"])
        goal = 4 * size_mb + 100
        print(
            f"huge diff: {size_mb:.0f} MB / 6,500 files: {rss:.0f} MB peak RSS "
            f"({rss / size_mb:.1f}x the diff; goal < {goal:.0f} MB), {wall:.1f} s wall"
        )

        if not args.no_install:
            total, without = venv_size(tmp)
            print(
                f"install:   {total:.1f} MB venv after `pip install .`; {without:.1f} MB without "
                f"pip/setuptools themselves (goal < {GOALS['venv_mb']} MB)"
            )
    shutil.rmtree(ROOT / "build", ignore_errors=True)


if __name__ == "__main__":
    main()
