"""What happened on GitHub, and whether it asks for a review (pure: payload in, decision out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reviewbot.errors import UsageError
from reviewbot.markers import marked

PR_EVENTS = ("pull_request", "pull_request_target")
PR_ACTIONS = ("opened", "reopened", "ready_for_review", "synchronize")
WRITE_PERMISSIONS = ("admin", "maintain", "write")
# Who may start a paid review just by pushing to a fork's pull request (input fork_prs).
FORK_POLICIES = {
    "members": ("OWNER", "MEMBER", "COLLABORATOR"),
    "contributors": ("OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR"),
    "all": None,
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """A request for a review of pull request `pr_number` in `repo`."""

    event: str
    action: str
    repo: str
    pr_number: int
    head_sha: str | None = None
    fork: bool = False
    draft: bool = False
    comment_id: int | None = None
    commenter: str | None = None
    full: bool = False
    author_association: str = ""  # of the PR's author: OWNER, MEMBER, COLLABORATOR, ...


@dataclass(frozen=True, slots=True)
class Reply:
    """A new reply in a pull request review thread (maybe one the bot started)."""

    repo: str
    pr_number: int
    comment_id: int
    thread_id: int  # the thread's first comment: every reply points to it
    commenter: str
    pr_author: str
    title: str
    base_sha: str
    base_ref: str
    head_sha: str
    fork: bool = False


@dataclass(frozen=True, slots=True)
class Ignore:
    """The event asks for nothing; `reason` is the one-line notice."""

    reason: str


def read_event(
    name: str, payload: dict[str, Any], repo: str, trigger_phrase: str = "/review"
) -> Trigger | Reply | Ignore:
    """Decide from the event name and payload whether (and what) to review or answer."""
    repo = _dig(payload, "repository", "full_name") or repo
    if name == "pull_request_review_comment":
        return _reply(payload, repo)
    if name in PR_EVENTS:
        return _pull_request(name, payload, repo)
    if name == "issue_comment":
        return _comment(payload, repo, trigger_phrase)
    if name == "workflow_dispatch":
        raw = str((payload.get("inputs") or {}).get("pr_number") or "").strip().lstrip("#")
        if not raw.isdigit() or int(raw) < 1:
            raise UsageError("workflow_dispatch needs the input pr_number (a pull request number)")
        return Trigger(name, "dispatch", repo, int(raw), full=True)
    return Ignore(f"reviewbot does not handle the {name or 'unknown'} event; nothing to do")


def _pull_request(name: str, payload: dict[str, Any], repo: str) -> Trigger | Ignore:
    action = str(payload.get("action", ""))
    pr = payload.get("pull_request") or {}
    if action not in PR_ACTIONS:
        return Ignore(f"pull request {action or 'event'}: not a review trigger")
    if pr.get("state") == "closed":
        return Ignore("the pull request is closed")
    return Trigger(
        event=name,
        action=action,
        repo=repo,
        pr_number=int(pr.get("number") or payload.get("number") or 0),
        head_sha=_dig(pr, "head", "sha"),
        fork=_from_fork(pr, repo),
        draft=bool(pr.get("draft")),
        author_association=str(pr.get("author_association") or ""),
    )


def _reply(payload: dict[str, Any], repo: str) -> Reply | Ignore:
    action = str(payload.get("action", ""))
    comment = payload.get("comment") or {}
    pr = payload.get("pull_request") or {}
    if action != "created":
        return Ignore(f"review comment {action}: only new replies are answered")
    user = comment.get("user") or {}
    if user.get("type") == "Bot" or comment.get("performed_via_github_app"):
        return Ignore("replies by bots (reviewbot included) are never answered")
    if marked(str(comment.get("body") or "")):
        # With a personal access token the bot's own replies come as a User's: its marker
        # says they are its own, and answering them would loop.
        return Ignore("a comment that carries reviewbot's marker is its own; never answered")
    thread = comment.get("in_reply_to_id")
    if not thread:
        return Ignore("a new review comment, not a reply in a thread")
    if pr.get("state") == "closed":
        return Ignore("the pull request is closed")
    return Reply(
        repo=repo,
        pr_number=int(pr.get("number") or 0),
        comment_id=int(comment.get("id") or 0),
        thread_id=int(thread),
        commenter=str(user.get("login") or ""),
        pr_author=str(_dig(pr, "user", "login") or ""),
        title=str(pr.get("title") or ""),
        base_sha=str(_dig(pr, "base", "sha") or ""),
        base_ref=str(_dig(pr, "base", "ref") or ""),
        head_sha=str(_dig(pr, "head", "sha") or ""),
        fork=_from_fork(pr, repo),
    )


def _comment(payload: dict[str, Any], repo: str, phrase: str) -> Trigger | Ignore:
    action = str(payload.get("action", ""))
    issue = payload.get("issue") or {}
    comment = payload.get("comment") or {}
    if action != "created":
        return Ignore(f"comment {action}: only new comments can ask for a review")
    if not issue.get("pull_request"):
        return Ignore("the comment is on an issue, not a pull request")
    user = comment.get("user") or {}
    if user.get("type") == "Bot" or comment.get("performed_via_github_app"):
        return Ignore("comments by bots never trigger a review")
    words = str(comment.get("body") or "").strip().split()
    if not words or words[0] != phrase:
        return Ignore(f"the comment does not start with {phrase}")
    if issue.get("state") == "closed":
        return Ignore("the pull request is closed")
    return Trigger(
        event="issue_comment",
        action=action,
        repo=repo,
        pr_number=int(issue.get("number") or 0),
        comment_id=int(comment.get("id") or 0) or None,
        commenter=str(user.get("login") or ""),
        full=len(words) > 1 and words[1].lower() == "full",
    )


def _from_fork(pr: dict[str, Any], repo: str) -> bool:
    """Whether the pull request's head lives in another repository than its base."""
    head_repo = _dig(pr, "head", "repo", "full_name")
    return bool(head_repo != (_dig(pr, "base", "repo", "full_name") or repo))


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
