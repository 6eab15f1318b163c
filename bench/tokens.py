"""Input tokens per review, as `prepare` plans it: instructions + input + output schema of
every request (the same estimate the planner uses). Run it on two trees to compare a change:

    PYTHONPATH=OLD_TREE .venv/bin/python bench/tokens.py examples/demo.diff
    .venv/bin/python bench/tokens.py examples/demo.diff

No diff given: the demo diff and the 200-file diff of bench/run.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    import reviewbot
    from reviewbot.chunking import estimate_tokens
    from reviewbot.config import Config
    from reviewbot.findings import response_schema
    from reviewbot.review import prepare

    print(f"code from {Path(reviewbot.__file__).parent}")
    diffs = [(name, Path(name).read_text()) for name in sys.argv[1:]]
    if not diffs:
        sys.path.insert(0, str(HERE))
        from run import generated_diff

        demo = HERE.parent / "examples" / "demo.diff"
        diffs = [(str(demo), demo.read_text()), ("200-file diff", generated_diff())]
    schema = json.dumps(response_schema())
    for name, diff in diffs:
        requests = prepare(diff, Config()).requests
        total = sum(estimate_tokens(r.instructions + r.input + schema) for r in requests)
        print(
            f"{name}: {len(requests)} request(s), ~{total:,} input tokens per review "
            f"(schema {estimate_tokens(schema):,})"
        )


if __name__ == "__main__":
    main()
