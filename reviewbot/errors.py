"""One error tree: every error reviewbot raises on purpose, each with its exit code."""

from __future__ import annotations


class ReviewbotError(Exception):
    """Root of reviewbot's errors; the entry point turns one into a line and an exit code."""

    exit_code = 1


class UsageError(ReviewbotError):
    """Bad command line, input or configuration (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration value or file is wrong."""


class DiffError(ReviewbotError):
    """The diff could not be read or parsed."""


class NotADiff(DiffError, UsageError):
    """The input is not a unified diff at all (bad input: exit 2, like any usage error)."""


class LLMError(ReviewbotError):
    """The Responses endpoint failed for good (after retries, or permanently)."""


class GitHubError(ReviewbotError):
    """GitHub refused or failed a request. Callers catch the subclass that says what happened;
    `status` (the HTTP status, when there was one) and `code` (the first `errors[].code` of
    GitHub's answer) are kept for the log."""

    def __init__(
        self, message: str, status: int | None = None, code: str = "", detail: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail or message  # GitHub's own words, without "GitHub refused to ..."


class NotFound(GitHubError):
    """It is not there (404, 410), or the token may not know that it is."""


class Refused(GitHubError):
    """GitHub will not do it for this token or this request (4xx); asking again will not help."""


class Unauthorized(Refused):
    """The token was not accepted (401): expired, revoked or wrong."""


class Rejected(Refused):
    """The request's content was not accepted (422): an anchor, a body, a commit."""


class TooLarge(Refused):
    """GitHub will not produce an answer this large (406, e.g. a diff past its limits)."""


class RateLimited(GitHubError):
    """A rate limit that waiting (up to the longest wait reviewbot accepts) did not clear."""


class Unavailable(GitHubError):
    """GitHub failed (5xx after every retry) or could not be reached."""


class TooSlow(Unavailable):
    """GitHub could not compute the answer in time (`errors[].code: not_available`)."""


class MaybeApplied(GitHubError):
    """A write failed, and whether GitHub applied it anyway could not be checked."""
