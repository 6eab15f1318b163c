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


class LLMError(ReviewbotError):
    """The Responses endpoint failed for good (after retries, or permanently)."""


class GitHubError(ReviewbotError):
    """GitHub refused or failed a request; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # the first errors[].code of GitHub's answer, e.g. "not_available"
