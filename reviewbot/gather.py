"""Read what the pure pipeline needs, then prepare: the file texts scope context widens hunks
with and the base branch's guidance, from whichever adapter has them (GitHub, local git, a
snapshot). The reading happens here, before `review.prepare`, and what could not be read comes
back as notes (values), never as an error: context is a help, not a reason to fail a review."""

from __future__ import annotations

import time
from collections.abc import Sequence

from reviewbot.config import Config
from reviewbot.context import FileTexts, RepoFiles
from reviewbot.diff import Skipped
from reviewbot.prompts import PromptRenderer, PullRequestText
from reviewbot.review import Earlier, IncrementalReview, Prepared, prepare, select


def read_texts(source: RepoFiles, wanted: Sequence[tuple[str, str]]) -> FileTexts:
    """The texts of `wanted` (path, side) and the guidance files, read through `source`."""
    problems = tuple(source.prefetch(wanted))
    texts = {(path, side): source.text(path, side) for path, side in dict.fromkeys(wanted)}
    return FileTexts(texts, source.guidance_texts(), problems)


def prepare_from(
    source: RepoFiles | None,
    diff: bytes | str,
    config: Config,
    pr: PullRequestText | None = None,
    *,
    renderer: PromptRenderer | None = None,
    incremental: IncrementalReview | None = None,
    missing: Sequence[Skipped] = (),
    earlier: Sequence[Earlier] = (),
    deadline: float | None = None,
) -> Prepared:
    """`review.prepare` with its texts read from `source` first (None: no repository, so no
    scope context and no guidance). The run's deadline starts before the reading, so reading
    counts against `timeout_minutes` as the model calls do."""
    if deadline is None:
        deadline = time.monotonic() + config.timeout_minutes * 60
    selected = select(diff, config, incremental)
    texts = read_texts(source, selected.wanted) if source is not None else None
    return prepare(
        selected,
        config,
        pr,
        renderer,
        incremental,
        missing,
        texts=texts,
        earlier=earlier,
        deadline=deadline,
    )
