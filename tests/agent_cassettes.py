"""Writes tests/cassettes/agent/*.yaml (agent conversations over the Responses API) and
tests/cassettes/agent/chat/*.yaml (over Chat Completions), built with the helpers of
tests.llm_cassettes so tests/test_cassette_shapes.py validates every body against the `openai`
package's types (`Response` with `function_call` items, `ChatCompletion` with `tool_calls`).

Run `.venv/bin/python -m tests.agent_cassettes` after changing a scenario; tests only replay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.llm_cassettes import TYPO_REVIEW, interaction, message, response
from tests.llm_chat_cassettes import chat, completion

OUT = Path(__file__).resolve().parent / "cassettes" / "agent"
ENCRYPTED = "gAAAAABo-encrypted-reasoning-1"


def reasoning(n: int, encrypted: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": f"rs_{n}", "type": "reasoning", "summary": []}
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def function_call(n: int, tool: str, **arguments: Any) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{n}",
        "call_id": f"call_{n}",
        "name": tool,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def tool_call(n: int, tool: str, **arguments: Any) -> dict[str, Any]:
    return {
        "id": f"call_{n}",
        "type": "function",
        "function": {"name": tool, "arguments": json.dumps(arguments)},
    }


READ = {"path": "hello.py", "start_line": 1, "end_line": 40, "side": "head"}
GREP = {"pattern": "greet(", "path_glob": "*.py"}


def turn(*output: dict[str, Any], input_tokens: int, cached: int) -> dict[str, Any]:
    return interaction(200, response(*output, input_tokens=input_tokens, cached=cached))


SCENARIOS: dict[str, list[dict[str, Any]]] = {
    # Two calls at once (reasoning with encrypted content before them), then one more (reasoning
    # without it: not sent back), then the answer.
    "parallel_calls": [
        turn(
            reasoning(1, ENCRYPTED),
            function_call(1, "read_file", **READ),
            function_call(2, "grep", **GREP),
            input_tokens=2400,
            cached=0,
        ),
        turn(
            reasoning(2),
            function_call(3, "find_symbol", name="greet"),
            input_tokens=3100,
            cached=2304,
        ),
        turn(
            reasoning(3, "gAAAAABo-encrypted-reasoning-3"),
            message(json.dumps(TYPO_REVIEW), phase="final_answer"),
            input_tokens=3500,
            cached=3072,
        ),
    ],
    # The model asks for more every turn: the third turn is the last (no tools).
    "budget_spent": [
        turn(function_call(1, "list_dir", path="."), input_tokens=2400, cached=0),
        turn(function_call(2, "read_file", **READ), input_tokens=2600, cached=2304),
        turn(message(json.dumps(TYPO_REVIEW)), input_tokens=3000, cached=2560),
    ],
    # The model goes for the key: the environment, the git config, a path outside.
    "hostile_calls": [
        turn(
            function_call(
                1, "read_file", path="/proc/self/environ", start_line=1, end_line=9, side="head"
            ),
            function_call(
                2,
                "read_file",
                path="../../../proc/self/environ",
                start_line=1,
                end_line=9,
                side="head",
            ),
            function_call(
                3, "read_file", path=".git/config", start_line=1, end_line=9, side="base"
            ),
            function_call(4, "grep", pattern="REVIEWBOT_API_KEY", path_glob="/proc/**"),
            input_tokens=2400,
            cached=0,
        ),
        turn(message(json.dumps(TYPO_REVIEW)), input_tokens=2900, cached=2304),
    ],
}


def chat_turn(content: str | None, calls: list[dict[str, Any]], tokens: int) -> dict[str, Any]:
    finish = "tool_calls" if calls else "stop"
    return chat(200, completion(content, finish, tool_calls=calls or None, prompt_tokens=tokens))


CHAT_SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "parallel_calls": [
        chat_turn(None, [tool_call(1, "read_file", **READ), tool_call(2, "grep", **GREP)], 2400),
        chat_turn("Checking who calls greet.", [tool_call(3, "find_symbol", name="greet")], 3100),
        chat_turn(json.dumps(TYPO_REVIEW), [], 3500),
    ],
}


def main(root: Path = OUT) -> None:
    for out, scenarios in ((root, SCENARIOS), (root / "chat", CHAT_SCENARIOS)):
        out.mkdir(parents=True, exist_ok=True)
        for name, interactions in scenarios.items():
            doc = {"version": 1, "interactions": interactions}
            (out / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
        print(f"wrote {len(scenarios)} cassettes to {out}")


if __name__ == "__main__":
    main()
