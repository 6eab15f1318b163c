"""The team's own review guidance, read from the base branch only (a pull request cannot
rewrite its own review rules): `AGENTS.md`, `.github/copilot-instructions.md`,
`.github/instructions/*.instructions.md` (for the files their `applyTo` globs match, the format
GitHub documents for Copilot) and the config's `path_instructions`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reviewbot.filters import glob_match, split_patterns

GENERAL_FILES = ("AGENTS.md", ".github/copilot-instructions.md")
INSTRUCTIONS_DIR = ".github/instructions"
FILE_LIMIT = 8_000  # characters of one guidance file shown to the model
TOTAL_LIMIT = 16_000  # characters of guidance in one request, all files together


@dataclass(frozen=True, slots=True)
class Guide:
    """One piece of guidance: where it came from, which files it applies to, its text."""

    name: str
    text: str
    apply_to: tuple[str, ...] = ()  # empty: every file

    def applies(self, paths: Iterable[str]) -> bool:
        return not self.apply_to or any(glob_match(g, p) for g in self.apply_to for p in paths)


@dataclass(frozen=True, slots=True)
class Guidance:
    general: tuple[Guide, ...] = ()
    scoped: tuple[Guide, ...] = ()
    unused: tuple[str, ...] = ()  # instruction files that apply to no file, and why

    @property
    def names(self) -> list[str]:
        return [g.name for g in (*self.general, *self.scoped)] + list(self.unused)

    def general_text(self) -> str:
        return _join(self.general)

    def for_paths(self, paths: Sequence[str]) -> str:
        return _join([g for g in self.scoped if g.applies(paths)])


def instruction_file_names(entries: Iterable[str]) -> list[str]:
    """The `*.instructions.md` files of a listing of `.github/instructions`."""
    return sorted(
        f"{INSTRUCTIONS_DIR}/{name}" for name in entries if name.endswith(".instructions.md")
    )


def read_guidance(
    texts: Mapping[str, str | None], path_instructions: Sequence[tuple[str, str]] = ()
) -> Guidance:
    """Guidance from the base branch's files (name → text, None when absent) and the config.

    Only the files named above count: `texts` may hold other base-branch files (a pull request
    that deletes lines in `.github/instructions/notes.md` has that file's old text fetched for
    context), and those are never guidance. An instructions file applies only to the files its
    own `applyTo` matches; without one it applies to none (GitHub's rule), and says so."""
    general = [Guide(n, _cap(t)) for n in GENERAL_FILES if (t := texts.get(n))]
    scoped, unused = [], []
    for name, text in sorted(texts.items()):
        if not _is_instructions_file(name) or not text:
            continue
        apply_to, body = _front_matter(text)
        if apply_to:
            scoped.append(Guide(name, _cap(body), apply_to))
        else:
            unused.append(f"{name} (no applyTo: applies to no file)")
    scoped += [
        Guide(f"config path_instructions ({glob})", _cap(text), (glob,))
        for glob, text in path_instructions
    ]
    return Guidance(tuple(general), tuple(scoped), tuple(unused))


def _is_instructions_file(name: str) -> bool:
    """`.github/instructions/NAME.instructions.md`, as `instruction_file_names` lists them."""
    folder, _, file = name.rpartition("/")
    return folder == INSTRUCTIONS_DIR and file.endswith(".instructions.md")


def _front_matter(text: str) -> tuple[tuple[str, ...], str]:
    """`applyTo` globs from a `---` YAML front matter block, and the text after it."""
    m = re.match(r"---\s*\n(.*?)\n---\s*\n?(.*)", text, re.S)
    if not m:
        return (), text
    apply_to = re.search(r"^applyTo:\s*(.+)$", m.group(1), re.M)
    globs = split_patterns(apply_to.group(1).strip().strip("'\"")) if apply_to else ()
    return globs, m.group(2)


def _cap(text: str) -> str:
    text = text.strip()
    return text if len(text) <= FILE_LIMIT else text[:FILE_LIMIT] + "\n…(truncated)"


def _join(guides: Sequence[Guide]) -> str:
    out, used = [], 0
    for g in guides:
        if used + len(g.text) > TOTAL_LIMIT:
            out.append(f"(more guidance from {g.name} left out: over the size limit)")
            continue
        out.append(f"## From {g.name}\n{g.text}")
        used += len(g.text)
    return "\n\n".join(out)
