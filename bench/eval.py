"""How long `reviewbot eval` takes: the frozen set with the bundled sample response (offline,
no key; goal < 60 s) and mining a repository's history (goal < 30 s for this repository).

Run: `.venv/bin/python bench/eval.py [REPO ...]` (REPO defaults to this repository; any local
clone works, e.g. a clone of pallets/click for a 3,000-commit history).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "eval" / "click.jsonl"
SAMPLE = ROOT / "examples" / "demo-response.json"
GOALS = {"run": 60.0, "mine": 30.0}


def timed(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "reviewbot", *args], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        sys.exit(f"reviewbot {' '.join(args)} failed:\n{proc.stderr}")
    return time.monotonic() - start, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repos", nargs="*", default=[str(ROOT)])
    args = parser.parse_args()
    run_args = ["eval", "run", str(CASES), "--sample-response", str(SAMPLE), "--format", "json"]
    wall, proc = timed(run_args)
    report = json.loads(proc.stdout)
    print(
        f"eval run:  {wall:.2f} s wall for {report['case_runs_done']} cases of the frozen set "
        f"with the sample response (goal < {GOALS['run']:.0f} s)"
    )
    for repo in args.repos:
        wall, proc = timed(["eval", "mine", repo])
        cases = proc.stdout.count("\n")
        found = re.search(r"(\d+) commits", proc.stderr)
        commits = found.group(1) if found else "?"
        print(
            f"eval mine: {wall:.2f} s wall on {repo} ({commits} commits, {cases} cases) "
            f"(goal < {GOALS['mine']:.0f} s for this repository)"
        )


if __name__ == "__main__":
    main()
