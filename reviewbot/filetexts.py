"""File texts for the review's context, read from GitHub before the pipeline runs: the changed
files at the head (the base for hunks that only delete) and the base branch's guidance files."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from reviewbot.errors import GitHubError
from reviewbot.guidance import GENERAL_FILES, INSTRUCTIONS_DIR, instruction_file_names
from reviewbot.kinds import Side
from reviewbot.pulls import AnswerTooLarge, GitHub

logger = logging.getLogger(__name__)

MAX_CONTEXT_BYTES = 512_000  # larger files are not used: their hunks keep plain context
TEXTS_AT_ONCE = 10  # up to this many files, texts come in the first request (no sizes first)
# ...and of that first answer at most this much is read: past it (a large file among them),
# reading stops and sizes come first, so no large file is downloaded whole.
AT_ONCE_BYTES = 1_000_000


class GitHubFiles:
    """File texts for the scope context (the head; the base for hunks that only delete) and
    the base branch's guidance files, through GraphQL. A small PR's texts come in one request;
    a larger one's sizes come first, so no file over MAX_CONTEXT_BYTES is downloaded (nor, for
    a small PR, more than AT_ONCE_BYTES of its first answer). Instruction
    files (`.github/instructions/*.instructions.md`) take one more request when there are any."""

    def __init__(self, gh: GitHub, head_sha: str, base_sha: str) -> None:
        self._gh = gh
        self._revs: dict[str, str] = {Side.RIGHT: head_sha, Side.LEFT: base_sha}
        self._base = base_sha
        self._texts: dict[str, str | None] = {}

    def _spec(self, path: str, side: str) -> str:
        return f"{self._revs[side]}:{path}"

    def prefetch(self, wanted: Sequence[tuple[str, str]]) -> list[str]:
        """Read the texts (and the guidance files) in bulk; what went wrong, as notes."""
        guides = [f"{self._base}:{name}" for name in GENERAL_FILES]
        folder = f"{self._base}:{INSTRUCTIONS_DIR}"
        files = list(dict.fromkeys(self._spec(p, s) for p, s in wanted))
        specs = list(dict.fromkeys([*files, *guides, folder]))
        at_once = len(files) <= TEXTS_AT_ONCE
        try:
            try:
                found = (
                    self._gh.objects(specs, with_text=True, cap=AT_ONCE_BYTES)
                    if at_once
                    else self._gh.objects(specs, with_text=False)
                )
            except AnswerTooLarge:  # a large file among them: its size first after all
                logger.info("file texts over %d bytes: asking sizes first", AT_ONCE_BYTES)
                at_once = False
                found = self._gh.objects(specs, with_text=False)
            entries = found[folder].entries if folder in found else ()
            extra = [f"{self._base}:{n}" for n in instruction_file_names(entries)]
            usable = [
                s
                for s in specs
                if s != folder and s in found and not found[s].binary
                if found[s].size <= MAX_CONTEXT_BYTES
            ]
            big = [s for s in specs if s in found and found[s].size > MAX_CONTEXT_BYTES]
            ask = extra if at_once else [*usable, *extra]
            texts = dict(found) if at_once else {}
            texts |= self._gh.objects(ask, with_text=True) if ask else {}
        except GitHubError as exc:  # context is a help, never a reason to fail the review
            logger.warning("could not read file contents for context: %s", exc)
            return ["GitHub could not send file contents: scope context is off."]
        self._texts = {s: texts[s].text if s in texts else None for s in [*usable, *extra]}
        if big:
            return [
                f"{len(big)} file(s) over {MAX_CONTEXT_BYTES // 1000} KB keep their plain hunk "
                "context."
            ]
        return []

    def text(self, path: str, side: str) -> str | None:
        return self._texts.get(self._spec(path, side))

    def guidance_texts(self) -> dict[str, str | None]:
        prefix = f"{self._base}:"
        return {s.removeprefix(prefix): t for s, t in self._texts.items() if s.startswith(prefix)}
