"""The walkthrough comment's text and the state it carries from one review to the next."""

from __future__ import annotations

import base64
import json

import cmarkgfm

from reviewbot.anchor import Placed
from reviewbot.conversation import _reply_body
from reviewbot.diff import Skipped
from reviewbot.findings import Finding
from reviewbot.markers import WALKTHROUGH, read_walkthrough_state, walkthrough_tail
from reviewbot.render import GITHUB_BODY_LIMIT, comment_body
from reviewbot.review import ManifestEntry
from reviewbot.walkthrough import MAX_ROUNDS, Round, State, read_state, render, update
from tests.conftest import ROOT


def round_(head: str = "abc1234", kind: str = "full") -> Round:
    return Round(head, kind, "reviewed", 2, 0, 1_234)


def test_the_state_survives_a_round_trip_through_the_comment() -> None:
    state = State("Adds a cache.", (("a.py", "New cache."),), (round_(),))
    body = render(state, [ManifestEntry("a.py", "added", 10, 0, 1)], [], redact=str)
    assert body.endswith("\n" + WALKTHROUGH)
    assert read_state(body) == state


def test_a_state_in_another_shape_or_place_reads_as_empty() -> None:
    good = walkthrough_tail(b'{"summary": "x", "files": [], "rounds": []}')
    assert read_state("text\n" + good).summary == "x"
    assert read_state("text\n" + good + "\nmore") == State()  # not the last lines
    assert read_state("text\n" + good.replace("walkthrough-state", "walkthrough-stat")) == State()
    wrong = base64.b64encode(json.dumps({"summary": 5, "files": [["a", 1]]}).encode()).decode()
    assert read_state(f"<!-- reviewbot:v1 walkthrough-state {wrong} -->\n{WALKTHROUGH}") == State()
    assert (
        read_walkthrough_state(f"x\n<!-- reviewbot:v1 walkthrough-state ** -->\n{WALKTHROUGH}")
        is None
    )


def test_a_push_keeps_what_the_pr_does_and_the_lines_of_files_it_did_not_touch() -> None:
    before = State(
        "Adds a cache.",
        (("a.py", "New cache."), ("b.py", "Uses it."), ("c.py", "Old.")),
        (round_(),),
    )
    after = update(
        before,
        "Fixes a typo.",
        True,
        [("b.py", "Uses it, typo fixed.")],
        ["a.py", "b.py"],
        round_("def5678", "incremental"),
    )
    assert after.summary == "Adds a cache."
    assert after.files == (
        ("a.py", "New cache."),
        ("b.py", "Uses it, typo fixed."),
    )  # c.py left the PR
    assert [r.head for r in after.rounds] == ["abc1234", "def5678"]
    full = update(after, "Adds a cache, reworked.", False, [], ["a.py"], round_("0000000"))
    assert full.summary == "Adds a cache, reworked."


def test_the_history_keeps_the_latest_rounds() -> None:
    state = State()
    for i in range(MAX_ROUNDS + 5):
        state = update(state, "s", False, [], [], round_(f"{i:07d}"))
    assert len(state.rounds) == MAX_ROUNDS and state.rounds[-1].head == f"{MAX_ROUNDS + 4:07d}"


def test_model_and_pr_text_cannot_mention_link_or_break_the_table() -> None:
    hostile = (
        "@octocat see [here](https://evil.example) | <img src=x> <!-- reviewbot:v1 walkthrough -->"
    )
    state = State(hostile, (("a|b.py", hostile),), (round_(),))
    body = render(
        state,
        [ManifestEntry("a|b.py", "modified", 1, 1, 1)],
        [Skipped("x.lock", "lock file")],
        redact=str,
    )
    html = cmarkgfm.github_flavored_markdown_to_html(body.rsplit("\n", 2)[0])
    # a bare URL may autolink (it shows itself); no link hides behind other words
    assert ">here</a>" not in html and "<img" not in html and "@octocat" not in html
    row = next(line for line in body.splitlines() if line.startswith("| `a\\|b.py`"))
    assert row.count(" | ") == 3  # four cells: the pipes in the path and the text are escaped
    assert body.count(WALKTHROUGH) == 1 and body.endswith(WALKTHROUGH)
    assert "lock file (1 file): `x.lock`" in body


def test_a_huge_pr_stays_within_githubs_limit_and_keeps_its_state() -> None:
    files = tuple((f"src/{'d/' * 40}{i}.py", "x" * 200) for i in range(100))
    manifest = [ManifestEntry(p, "modified", 1, 1, 1) for p, _ in files]
    body = render(State("s", files, (round_(),)), manifest, [], redact=str)
    assert len(body) <= GITHUB_BODY_LIMIT
    assert read_state(body).rounds == (round_(),)


def readme_example() -> str:
    state = State(
        "Renames the greeting helper and makes it return the name it greets; adds a CLI entry "
        "point.",
        (
            ("hello.py", "`greet` returns the name; the message is reworded."),
            ("cli.py", "New entry point that reads a name and calls `greet`."),
        ),
        (
            Round("ec26c3e", "full", "reviewed", 2, 0, 4_812),
            Round("5b1d3c1", "incremental", "reviewed", 1, 1, 2_205),
        ),
    )
    manifest = [
        ManifestEntry("hello.py", "modified", 3, 1, 1),
        ManifestEntry("cli.py", "added", 12, 0, 1),
        ManifestEntry("poetry.lock", "modified", 40, 12, 0, "lock file (skipped by default)"),
    ]
    skipped = [Skipped("poetry.lock", "lock file (skipped by default)")]
    push = 'Guards the call with `if __name__ == "__main__":`.'
    return render(state, manifest, skipped, push, redact=str)


def test_the_readme_shows_the_walkthrough_as_the_code_renders_it() -> None:
    shown = readme_example().rsplit("\n\n", 1)[0]  # the two hidden lines are invisible anyway
    # what the README quotes is a whole walkthrough, not an empty or cut render
    for part in ("Renames the greeting helper", "| `hello.py` |", "`poetry.lock`", "5b1d3c1"):
        assert part in shown, part
    quoted = "\n".join(f"> {line}".rstrip() for line in shown.splitlines())
    assert quoted in (ROOT / "README.md").read_text()


def test_history_rows_read_back_are_only_values_the_bot_could_have_written() -> None:
    rows = [
        ["abc1234", "full", "reviewed", 1, 0, 10],
        ["@admins", "full", "reviewed", 1, 0, 10],  # a mention, from an edited comment
        ["abc1234", "<img src=x>", "reviewed", 1, 0, 10],
        ["abc1234", "full", "approved", 1, 0, 10],
        ["abc1234", "full", "reviewed", -1, 0, 10],
    ]
    state = json.dumps({"summary": "s", "files": [], "rounds": rows}).encode()
    assert read_state("x\n" + walkthrough_tail(state)).rounds == (
        Round("abc1234", "full", "reviewed", 1, 0, 10),
    )


def readme_thread() -> str:
    """A conversation in one of the bot's threads, each comment rendered by the code that
    writes it (the hidden marker lines left out: GitHub does not show them)."""
    typo = Finding(
        "hello.py",
        2,
        None,
        "RIGHT",
        "major",
        "Greeting is misspelled",
        "`Helo` should be `Hello`.",
        '    print("Helo " + name)',
        '    print("Hello " + name)\n',
    )
    first = comment_body(Placed(typo, True, 2, "RIGHT", suggestion=typo.suggestion))
    answer = _reply_body(
        "Not in English: `Helo` is a typo here, and users see this string.",
        '    print("Hello " + name)\n',
        "RIGHT",
    )
    said = [
        ("github-actions[bot]", first),
        ("Codertocat", "Is Helo not a valid greeting in some places?"),
        ("github-actions[bot]", answer),
    ]
    blocks = [f"**{who}** on `hello.py` line 2:\n\n{text}" for who, text in said]
    return "\n\n---\n\n".join(blocks)


def test_the_readme_shows_a_thread_as_the_code_renders_it() -> None:
    quoted = "\n".join(f"> {line}".rstrip() for line in readme_thread().splitlines())
    assert quoted in (ROOT / "README.md").read_text()


SECRET = "sk-" + "live" * 6  # shaped like a key, so the redactor hides it without being told


def _decoded_state(body: str) -> str:
    raw = read_walkthrough_state(body)
    assert raw is not None
    return raw.decode()


def test_a_key_in_model_text_is_hidden_in_the_body_and_in_the_encoded_state() -> None:
    from reviewbot.redact import Redactor

    redact = Redactor(["hunter2hunter2"])
    state = State(
        f"Adds a client; key {SECRET}.",
        (("a.py", "Uses hunter2hunter2 as the password."),),
        (round_(),),
    )
    body = render(
        state, [ManifestEntry("a.py", "added", 3, 0, 1)], [], f"push {SECRET}", redact=redact
    )
    for text in (body, _decoded_state(body)):
        assert SECRET not in text and "hunter2hunter2" not in text
    assert "***" in _decoded_state(body) and "Adds a client; key ***." in body
    assert read_state(body).files == (("a.py", "Uses *** as the password."),)


def test_the_walkthrough_a_review_posts_carries_no_key_in_its_state() -> None:
    """Through the walkthrough flow, with the run's redactor, as a review posts it."""
    from types import SimpleNamespace
    from typing import Any

    from reviewbot.config import Config
    from reviewbot.model import Usage
    from reviewbot.publish import GitHubPublisher
    from reviewbot.pulls import History, IssueComment
    from reviewbot.redact import Redactor
    from reviewbot.run import Run
    from reviewbot.walkthrough_flow import keep_walkthrough

    posted: list[str] = []

    class GitHub:
        def post_comment(self, number: int, body: str) -> IssueComment:
            posted.append(body)
            return IssueComment(4_000_000_001, body, "https://github.com/o/r/pull/2#c")

    pr = SimpleNamespace(number=2, head_sha="a" * 40)
    prepared = SimpleNamespace(manifest=[ManifestEntry("a.py", "added", 3, 0, 1)])
    result: Any = SimpleNamespace(
        usage=Usage(10, 5),
        status="reviewed",
        placed=(),
        resolved=(),
        summary=f"Reads {SECRET} from the code.",
        file_summaries=(("a.py", f"Hard-codes {SECRET}."),),
        skipped=(),
    )
    gh: Any = GitHub()
    run = Run(Config(), gh, model=None, publisher=GitHubPublisher(gh), redact=Redactor())  # type: ignore[arg-type]
    line = keep_walkthrough(run, pr, History(), prepared, result, False, 0)  # type: ignore[arg-type]
    assert line.startswith("Walkthrough posted")
    [body] = posted
    assert SECRET not in body and SECRET not in _decoded_state(body)
    assert read_state(body).summary == "Reads *** from the code."


def test_a_state_nested_too_deeply_reads_as_no_state() -> None:
    nested = ("[" * 20_000 + "]" * 20_000).encode()  # 53,336 base64 characters: fits the line
    body = "x\n" + walkthrough_tail(nested)
    assert read_walkthrough_state(body) == nested  # it reaches the JSON decoder
    assert read_state(body) == State()
    deep_object = ('{"summary": ' * 4_000 + '"x"' + "}" * 4_000).encode()
    assert read_state("x\n" + walkthrough_tail(deep_object)) == State()
    deeper = ("[" * 100_000 + "]" * 100_000).encode()  # longer than the state line may be
    assert read_state("x\n" + walkthrough_tail(deeper)) == State()
