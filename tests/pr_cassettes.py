"""Writes tests/cassettes/pr/*.yaml: what GitHub answers `reviewbot review --pr`.

Built like tests/make_cassettes.py (whose builders this imports): the pull request is the real
webhook payload's, REST bodies are filled in from GitHub's published examples and validated
against its published schemas (tests/test_cassette_shapes.py checks every cassette, these too),
GraphQL bodies are the ones the Action's cassettes use. Only reads: the test asserts it.
Run `.venv/bin/python -m tests.pr_cassettes` after changing a scenario; tests only replay.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests import make_cassettes as mc

OUT = mc.HERE / "cassettes" / "pr"
ENTERPRISE_API = "https://ghe.example.com/api/v3"
ENTERPRISE_GRAPHQL = "https://ghe.example.com/api/graphql"
CONFIG = "instructions: Prefer f-strings.\n"
BAD_CREDENTIALS = {
    "message": "Bad credentials",
    "documentation_url": "https://docs.github.com/rest",
    "status": "401",
}


def config(found: bool = True) -> dict[str, Any]:
    """GET the config file at the base commit (the base branch's, never the head's)."""
    if not found:
        return mc.gh(
            "GET", "/contents/.github/reviewbot.yml", 404, mc.NOT_FOUND, query=f"?ref={mc.BASE}"
        )
    body = mc.config_file(CONFIG)
    return mc.gh("GET", "/contents/.github/reviewbot.yml", 200, body, query=f"?ref={mc.BASE}")


def unauthorized() -> dict[str, Any]:
    """401 for a token GitHub does not know (make_cassettes has no 401 helper)."""
    answer = mc.gh("GET", "/pulls/2", 403, BAD_CREDENTIALS)
    answer["response"]["status"] = {"code": 401, "message": "Unauthorized"}
    return answer


def on_enterprise(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same exchanges with a GitHub Enterprise Server (REST under /api/v3, GraphQL at
    /api/graphql)."""
    out = copy.deepcopy(interactions)
    for i in out:
        uri = i["request"]["uri"]
        if uri == f"{mc.ROOT_API}/graphql":
            i["request"]["uri"] = ENTERPRISE_GRAPHQL
        else:
            i["request"]["uri"] = uri.replace(mc.ROOT_API, ENTERPRISE_API, 1)
    return out


OPENED = [
    mc.gh("GET", "/pulls/2", 200, mc.pull()),
    config(),
    mc.diff(),
    *mc.WITH_FILES,  # hello.py at the head, AGENTS.md at the base, in one GraphQL query
]

SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "opened": OPENED,
    "enterprise": on_enterprise(OPENED),
    "diff_too_large": [
        mc.gh("GET", "/pulls/2", 200, mc.pull()),
        config(found=False),
        next(i for i in mc.SCENARIOS["diff_too_large"] if i["response"]["status"]["code"] == 406),
        next(i for i in mc.SCENARIOS["diff_too_large"] if "/files?" in i["request"]["uri"]),
        *mc.NO_FILES,
    ],
    "local_config": [OPENED[0], *OPENED[2:]],  # --config FILE: the base's file is not read
    "not_found": [mc.gh("GET", "/pulls/2", 404, mc.NOT_FOUND)],
    # --context agent: the head commit's archive (a 302 to codeload), then the file reads
    "agent": [*OPENED[:3], mc.tarball(), mc.codeload(), *OPENED[3:]],
    "bad_credentials": [unauthorized()],
}


def main(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, interactions in SCENARIOS.items():
        doc = {"version": 1, "interactions": interactions}
        (out / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    print(f"wrote {len(SCENARIOS)} cassettes to {out}")


if __name__ == "__main__":
    main()
