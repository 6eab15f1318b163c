"""A pull request as review-time code sees it: the values GitHub gives, and the `GitHub`
protocol those flows depend on (the adapter in github.py implements it; tests hand in fakes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

from reviewbot.diff import Skipped
from reviewbot.errors import GitHubError
from reviewbot.kinds import Side


@dataclass(frozen=True, slots=True)
class PullInfo:
    number: int
    title: str
    body: str
    head_sha: str
    base_sha: str
    base_ref: str
    head_repo: str | None
    base_repo: str
    draft: bool
    state: str
    html_url: str
    author: str = ""  # the PR author's login


@dataclass(frozen=True, slots=True)
class FetchedDiff:
    """The diff text, and the files GitHub gave no patch for (binary, too large)."""

    text: str
    missing: tuple[Skipped, ...] = ()
    via_files_api: bool = False


@dataclass(frozen=True, slots=True)
class Incremental:
    """The changes since the last reviewed head, or why they cannot be used (full review)."""

    diff: FetchedDiff | None
    why_full: str = ""


@dataclass(frozen=True, slots=True)
class PostedReview:
    """A review on the pull request as GitHub lists it (anyone's; reviewbot.ours tells)."""

    author: str
    body: str
    url: str


@dataclass(frozen=True, slots=True)
class PriorReview:
    """What an earlier reviewbot review on this PR recorded in its hidden marker."""

    head_sha: str
    fingerprints: frozenset[str]
    url: str


@dataclass(frozen=True, slots=True)
class InlineComment:
    """One comment of a review, where GitHub should put it (already rendered)."""

    path: str
    line: int
    side: Side
    body: str
    start_line: int | None = None


@dataclass(frozen=True, slots=True)
class Blob:
    """A file (or, with `entries`, a folder) at a commit, as GitHub's GraphQL API gives it."""

    size: int = 0
    binary: bool = False
    text: str | None = None
    entries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewComment:
    """One comment of a review thread."""

    id: int
    body: str
    author: str
    ours: bool = False  # the bot's own: said by reviewbot.ours, never by the adapter
    in_reply_to: int | None = None
    path: str = ""
    line: int | None = None
    side: Side = Side.RIGHT
    diff_hunk: str = ""
    association: str = ""  # the author's relation to the repository: OWNER, MEMBER, ...
    commit: str = ""  # the head it was written on (threads' comments only)


@dataclass(frozen=True, slots=True)
class Thread:
    """A review thread: resolved or not, where it is, and its comments (first one first).
    `line`/`start_line` are at the PR's head (None once outdated), the `original_` ones at
    the head its first comment was written on."""

    id: str  # GraphQL node id, for resolving it
    resolved: bool
    path: str
    line: int | None
    comments: tuple[ReviewComment, ...]
    side: Side = Side.RIGHT
    can_resolve: bool = False  # whether our token may resolve it (GitHub says beforehand)
    outdated: bool = False
    start_line: int | None = None
    original_line: int | None = None
    original_start_line: int | None = None


@dataclass(frozen=True, slots=True)
class IssueComment:
    """A comment on the pull request's conversation (the walkthrough is one)."""

    id: int
    body: str
    url: str


@dataclass(frozen=True, slots=True)
class History:
    """What the bot left on a pull request besides its reviews: its review threads (with
    everyone's replies) and its walkthrough comment, if there is one."""

    threads: tuple[Thread, ...] = ()
    walkthrough: IssueComment | None = None  # the oldest, when runs at once posted two
    extra_walkthroughs: tuple[int, ...] = ()  # ids of the others, to be removed


class ReviewRejected(GitHubError):
    """GitHub answered 422 to the review POST (an anchor or the body was not accepted)."""


class AnswerTooLarge(GitHubError):
    """GitHub's answer passed the size the caller allowed; reading stopped there."""


class GitHub(Protocol):
    """What a review needs from GitHub; every failure is a GitHubError."""

    def identity(self) -> str | None:
        """The login our token writes as (None: unknown)."""
        ...

    def confirmed_identity(self) -> str | None:
        """The same, confirmed with GitHub where it was assumed (an installation token)."""
        ...

    def permission(self, user: str) -> str: ...

    def react(self, comment_id: int, content: str = "eyes") -> None: ...

    def pull(self, number: int) -> PullInfo: ...

    def reviews(self, number: int) -> list[PostedReview]:
        """Every review of the pull request (anyone's)."""
        ...

    def config_file(self, path: str, ref: str) -> str | None: ...

    def diff(self, number: int) -> FetchedDiff: ...

    def incremental_diff(self, old_head: str, new_head: str) -> Incremental: ...

    def archive(self, ref: str, into: IO[bytes], max_bytes: int) -> int:
        """The repository's files at `ref` as a gzipped tar archive written to `into` (its
        size); AnswerTooLarge past `max_bytes`. Only agent mode asks for it."""
        ...

    def objects(
        self, specs: Sequence[str], with_text: bool, cap: int | None = None
    ) -> dict[str, Blob]:
        """`REV:path` objects that exist (sizes; texts too with `with_text`), in bulk;
        AnswerTooLarge when the answer passes `cap` bytes (reading stops there)."""
        ...

    def post_review(
        self,
        number: int,
        head_sha: str,
        body: str,
        comments: Sequence[InlineComment],
        landed: Callable[[], str | None] | None = None,
    ) -> str:
        """One COMMENT review; after a failure GitHub may have applied, `landed` says whether
        it is there anyway (its URL), before it is sent again."""
        ...

    def review_comment(self, comment_id: int) -> ReviewComment: ...

    def review_comments(self, number: int) -> list[ReviewComment]: ...

    def post_reply(self, number: int, comment_id: int, body: str) -> str: ...

    def history(self, number: int, walkthrough: Callable[[str, str], bool]) -> History:
        """The review threads (comments' `ours` not said) and the PR comments that
        `walkthrough(author, body)` accepts, in one read for most pull requests (GraphQL)."""
        ...

    def post_comment(self, number: int, body: str) -> IssueComment: ...

    def edit_comment(self, comment_id: int, body: str) -> str: ...

    def delete_comment(self, comment_id: int) -> None:
        """Only ever one of our own walkthrough comments (a duplicate)."""
        ...

    def resolve_thread(self, thread_id: str) -> bool:
        """True only when GitHub confirms the thread is resolved."""
        ...
