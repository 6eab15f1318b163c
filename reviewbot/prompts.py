"""Render the Jinja templates in prompts/ into a request's `instructions` and `input`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from reviewbot.diff import FileDiff
from reviewbot.errors import ConfigError

INSTRUCTIONS = "instructions.j2"
INPUT = "input.j2"
PR_BODY_LIMIT = 6_000  # characters of the PR description shown to the model


def bundled_templates() -> Path:
    """The templates shipped with reviewbot (inside the wheel, or prompts/ in a checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "prompts", here.parent / "prompts"):
        if (candidate / INSTRUCTIONS).is_file():
            return candidate
    raise ConfigError("reviewbot's bundled prompt templates are missing from the installation")


@dataclass(frozen=True, slots=True)
class PullRequestText:
    """The PR's own words: untrusted, shown to the model as data."""

    title: str = ""
    body: str = ""


class PromptRenderer:
    """Renders the two templates; a user's templates directory overrides the bundled ones."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        search = [str(bundled_templates())]
        if templates_dir is not None:
            if not templates_dir.is_dir():
                raise ConfigError(f"prompts directory not found: {templates_dir}")
            search.insert(0, str(templates_dir))
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(search),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render_template(self, name: str, **context: object) -> str:
        """Any template of the prompts directory (a user's directory overrides it too)."""
        return self._render(name, **context)

    def _render(self, name: str, **context: object) -> str:
        try:
            return self._env.get_template(name).render(**context)
        except jinja2.TemplateError as exc:
            where = f" line {exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
            raise ConfigError(f"prompt template {name}{where}: {exc.message}") from exc

    def instructions(self, extra_instructions: str = "") -> str:
        """Static text (cacheable prefix): role, rules, rubric, repository instructions."""
        return self._render(INSTRUCTIONS, extra_instructions=extra_instructions.strip())

    def input(
        self,
        files: tuple[FileDiff, ...],
        pr: PullRequestText | None = None,
        part: int = 1,
        part_count: int = 1,
        manifest: Sequence[str] = (),
        guidance: str = "",
        earlier: Sequence[str] = (),
        recheck: Sequence[str] = (),
    ) -> str:
        """The variable text: PR title and description, the manifest of the whole PR, then
        every hunk with cited numbers (and its scope context)."""
        pr = pr or PullRequestText()
        if len(pr.body) > PR_BODY_LIMIT:  # the description is context, not the thing reviewed
            pr = PullRequestText(pr.title, pr.body[:PR_BODY_LIMIT] + "\n…(description truncated)")
        nonce = fence_id(files, pr, [*manifest, *earlier, *recheck])
        return self._render(
            INPUT,
            nonce=nonce,
            pr_title=pr.title.strip(),
            pr_body=pr.body.strip(),
            files=files,
            part=part,
            part_count=part_count,
            manifest=manifest,
            guidance=guidance,
            earlier=earlier,
            recheck=recheck,
        )


def reply_prompt(
    renderer: PromptRenderer,
    title: str,
    path: str,
    line: int | None,
    side: str,
    diff_hunk: str,
    thread: Sequence[tuple[str, str]],
) -> tuple[str, str]:
    """Instructions and input of a reply in a review thread (all of it untrusted data)."""
    h = hashlib.sha256()
    for part in (title, path, diff_hunk, *(f"{a}\0{b}" for a, b in thread)):
        h.update(part.encode("utf-8", "replace"))
    return (
        renderer.render_template("reply_instructions.j2"),
        renderer.render_template(
            "reply_input.j2",
            nonce=h.hexdigest()[:20],
            pr_title=title.strip(),
            path=path,
            line=line,
            side=side,
            diff_hunk=diff_hunk[-6_000:],  # the lines nearest the comment matter most
            thread=[(a, b[:4_000]) for a, b in thread[-20:]],
        ),
    )


def fence_id(files: tuple[FileDiff, ...], pr: PullRequestText, manifest: Sequence[str] = ()) -> str:
    """An id for the untrusted-data fences that the data itself cannot contain or predict."""
    h = hashlib.sha256()
    for line in manifest:
        h.update(line.encode("utf-8", "replace"))
    h.update(pr.title.encode("utf-8", "replace"))
    h.update(pr.body.encode("utf-8", "replace"))
    for f in files:  # everything the template shows inside the fence
        h.update(f.path.encode("utf-8", "replace"))
        h.update((f.old_path or "").encode("utf-8", "replace"))
        for hunk in f.hunks:
            h.update(hunk.header.encode("utf-8", "replace"))
            for _, text in (*hunk.before, *hunk.after):
                h.update(text.encode("utf-8", "replace"))
            for ln in hunk.lines:
                h.update(ln.text.encode("utf-8", "replace"))
    return h.hexdigest()[:20]
