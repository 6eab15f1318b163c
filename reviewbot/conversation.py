"""Talking in review threads: a reply in a thread the bot started gets one short answer, from
the people the config allows, within a per-PR budget of replies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from reviewbot.config import Config
from reviewbot.errors import LLMError
from reviewbot.event import WRITE_PERMISSIONS, Reply
from reviewbot.followthrough import WRITERS
from reviewbot.gate import Skip
from reviewbot.kinds import Side, Status
from reviewbot.markers import (
    REPLY,
    REPLY_LIMIT,
    ends_with,
    marked,
    read_comment_marker,
    without_marker,
)
from reviewbot.markup import fence_for, inline_code, sanitize
from reviewbot.model import ModelRequest, OutputSchema
from reviewbot.outcome import Outcome
from reviewbot.prompts import PromptRenderer, reply_prompt
from reviewbot.pulls import ReviewComment
from reviewbot.run import Run


def reply_schema() -> dict[str, Any]:
    """The strict JSON schema of an answer in a thread."""
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "reply": {"type": "string", "description": "One short markdown reply."},
            "suggestion": {
                "type": ["string", "null"],
                "description": "Full replacement text for the thread's lines, or null.",
            },
        },
        "required": ["reply", "suggestion"],
    }


def parse_reply(text: str) -> tuple[str, str | None]:
    """(reply, suggestion) from the model's JSON; ValueError when it is not that."""
    raw = re.sub(r"^\s*```[a-zA-Z]*\s*\n(.*?)\n\s*```\s*$", r"\1", text.strip(), flags=re.S)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("reply"), str):
        raise ValueError("no `reply` text")
    suggestion = data.get("suggestion")
    return data["reply"].strip(), suggestion if isinstance(suggestion, str) and suggestion else None


def reply_problem(text: str) -> str | None:
    """Why `text` is not a usable answer (None when it is): the client asks again."""
    try:
        parse_reply(text)
    except ValueError as exc:
        return f"malformed model output ({exc})"
    return None


def who_may_talk(reply: Reply, config: Config, permission: Callable[[], str]) -> Skip | None:
    """`reply_to`: writers, writers_and_author (the default) or anyone. Asks GitHub for the
    commenter's permission only when it matters."""
    if config.reply_to == "anyone":
        return None
    if config.reply_to == "writers_and_author" and reply.commenter == reply.pr_author:
        return None
    level = permission()
    if level in WRITE_PERMISSIONS:
        return None
    why = (
        f"{reply.commenter} replied in a reviewbot thread but has {level} permission "
        f"(reply_to: {config.reply_to}); no answer"
    )
    return Skip(why, f"Not answered: {why}.")


def answer_in_thread(run: Run, reply: Reply) -> Outcome:
    """Answer `reply` in its thread, if the thread is the bot's and the budget allows."""
    gh, config, us = run.github, run.config, run.us
    root = us.comment(gh.review_comment(reply.thread_id))
    if not root.ours or read_comment_marker(root.body) is None:
        why = "a reply in a thread reviewbot did not start; nothing to answer"
        return Outcome(Status.SKIPPED, why, lines=(f"Nothing to do: {why}.",))
    comments = us.comments(gh.review_comments(reply.pr_number))
    thread = sorted(
        (c for c in comments if c.id == root.id or c.in_reply_to == root.id), key=lambda c: c.id
    )
    answered = _answered(comments)
    waiting = _waiting(comments, reply, config)
    if len(answered) + len(waiting) >= config.max_replies:
        return _over_budget(run, reply, root, thread, len(answered), len(waiting))

    renderer = PromptRenderer(config.prompts_dir)
    history = [("reviewbot" if c.ours else c.author, without_marker(c.body)) for c in thread]
    instructions, text = reply_prompt(
        renderer, reply.title, root.path, root.line, root.side, root.diff_hunk, history
    )
    deadline = run.clock() + config.timeout_minutes * 60
    # Named like the review's schema: the request body stays what it was (prompt cache).
    output = OutputSchema("code_review", reply_schema(), reply_problem)
    [answer] = run.model.run([ModelRequest.ask(instructions, text, output)], None, deadline)
    if answer.text is None:
        raise LLMError(f"could not answer in the thread: {answer.problem or 'no answer'}")
    words, suggestion = parse_reply(answer.text)
    body = run.redact(reply_body(words, suggestion, root.side)) + "\n" + REPLY

    # Runs answer replies in parallel, each having counted before its model call: count again
    # just before posting, so the budget is passed by at most the runs posting at this moment.
    def used_up() -> str | None:
        now = len(_answered(us.comments(gh.review_comments(reply.pr_number))))
        if now < config.max_replies:
            return None
        return (
            f"the reply budget of this pull request was used up by other answers meanwhile "
            f"({now} of {config.max_replies})"
        )

    if stop := run.publisher.guard(used_up):
        return Outcome(Status.SKIPPED, stop, lines=(f"Not answered: {stop}.",))
    url = run.publisher.reply(reply.pr_number, root.id, body, root.path)
    verb = run.publisher.tense("answered", "would answer")
    message = f"{verb} {reply.commenter} in the thread on {inline_code(root.path)}"
    u = answer.usage
    lines = (
        f"### reviewbot: {message}",
        "",
        f"- Tokens: {u.input_tokens:,} in ({u.cached_tokens:,} cached), {u.output_tokens:,} out",
        f"- Replies on this pull request: {len(answered) + 1} of {config.max_replies}",
        *([f"- Reply: {url}"] if url else []),
    )
    return Outcome(Status.REVIEWED, message, review_url=url, lines=lines)


def _over_budget(
    run: Run,
    reply: Reply,
    root: ReviewComment,
    thread: list[ReviewComment],
    answered: int,
    waiting: int = 0,
) -> Outcome:
    """One polite notice per thread, no model call."""
    limit = run.config.max_replies
    why = f"the reply budget of this pull request is used up ({answered} of {limit})"
    if waiting:
        why = (
            f"the reply budget of this pull request is taken ({answered} answered and "
            f"{waiting} earlier replies waiting for an answer, of {limit})"
        )
    lines = (f"Not answered: {why}.",)
    if any(c.ours and ends_with(c.body, REPLY_LIMIT) for c in thread):
        return Outcome(Status.SKIPPED, why, lines=lines)
    notice = (
        f"I have answered {answered} replies on this pull request, the most I may "
        f"(`max_replies: {limit}`), so I will not answer further here. A "
        "maintainer can raise the limit in `.github/reviewbot.yml`."
    )
    if waiting:
        notice = (
            f"I answer at most {limit} replies on a pull request (`max_replies: {limit}`), "
            f"and {answered} answered plus {waiting} earlier replies waiting for an answer "
            "take them all, so I will not answer further here. A maintainer can raise the "
            "limit in `.github/reviewbot.yml`."
        )
    body = f"{notice}\n{REPLY_LIMIT}"
    url = run.publisher.reply(reply.pr_number, root.id, body, root.path)
    return Outcome(Status.SKIPPED, why, review_url=url, lines=lines)


def _answered(comments: list[ReviewComment]) -> list[ReviewComment]:
    """The bot's answers on the pull request (its replies that carry the reply marker)."""
    return [c for c in comments if c.ours and c.in_reply_to and ends_with(c.body, REPLY)]


def _waiting(comments: list[ReviewComment], reply: Reply, config: Config) -> list[ReviewComment]:
    """People's replies in the bot's threads that are older than this one (lower id), that
    `reply_to` may let through, and that no answer of ours followed in their thread yet: each
    is a model call another run may be making now. Counting them before the model call bounds
    the calls, not only the answers posted, and every run ranks the same way (ids are
    GitHub's order), so runs in parallel agree without a lock."""
    roots = {
        c.id
        for c in comments
        if c.ours and c.in_reply_to is None and read_comment_marker(c.body) is not None
    }
    last_answer: dict[int, int] = {}
    for a in _answered(comments):
        if a.in_reply_to in roots:
            last_answer[a.in_reply_to] = max(a.id, last_answer.get(a.in_reply_to, 0))

    def may_talk(c: ReviewComment) -> bool:
        if config.reply_to == "anyone":
            return True
        author = config.reply_to == "writers_and_author" and c.author == reply.pr_author
        return author or c.association in WRITERS

    return [
        c
        for c in comments
        if not c.ours
        and c.in_reply_to in roots
        and c.id < reply.comment_id
        and not c.author.endswith("[bot]")
        and not marked(c.body)
        and c.id > last_answer.get(c.in_reply_to, 0)
        and may_talk(c)
    ]


def reply_body(words: str, suggestion: str | None, side: str) -> str:
    parts = [sanitize(words, 8_000)]
    if suggestion and side == Side.RIGHT:
        fence = fence_for(suggestion)
        parts.append(f"{fence}suggestion\n{suggestion.rstrip(chr(10))}\n{fence}")
    elif suggestion:  # GitHub applies suggestions on the new side only
        fence = fence_for(suggestion)
        parts.append(f"Suggested fix:\n{fence}\n{suggestion.rstrip(chr(10))}\n{fence}")
    return "\n\n".join(parts)
