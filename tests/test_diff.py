"""Diff parsing against golden files made by real `git diff`, plus properties and filters."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewbot.diff import FileDiff, parse_diff
from reviewbot.errors import DiffError
from reviewbot.filters import filter_files, glob_match, split_patterns
from tests.conftest import DATA

DIFFS = DATA / "diffs"
CASES = sorted(p.stem for p in DIFFS.glob("*.diff"))
UPDATE = os.environ.get("REVIEWBOT_UPDATE_GOLDEN") == "1"


def as_data(files: list[FileDiff]) -> list[dict[str, Any]]:
    return [
        {
            "path": f.path,
            "old_path": f.old_path,
            "status": f.status,
            "binary": f.binary,
            "modes": [f.old_mode, f.new_mode],
            "hunks": [
                {
                    "old": [h.old_start, h.old_len],
                    "new": [h.new_start, h.new_len],
                    "header": h.header,
                    "lines": [[ln.kind, ln.old, ln.new, ln.text] for ln in h.lines],
                }
                for h in f.hunks
            ],
            "right": {str(n): hunk for n, (hunk, _) in sorted(f.right.items())},
            "left": {str(n): hunk for n, (hunk, _) in sorted(f.left.items())},
        }
        for f in files
    ]


@pytest.mark.parametrize("case", CASES)
def test_golden_line_maps(case: str) -> None:
    got = as_data(parse_diff((DIFFS / f"{case}.diff").read_bytes()))
    golden = DIFFS / f"{case}.json"
    if UPDATE:
        golden.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    assert got == json.loads(golden.read_text())


def test_multi_hunk_maps_name_the_hunk_of_each_line() -> None:
    [f] = parse_diff((DIFFS / "multi_hunk_modified.diff").read_bytes())
    assert f.right[2] == (0, "LINE TWO")
    assert f.left[2] == (0, "line2")
    assert f.right[15] == (1, "line fifteen")
    assert f.right[21] == (1, "line21")
    assert 10 not in f.right and 6 not in f.right  # between the hunks
    assert (f.added, f.removed) == (3, 2)


def test_statuses_of_the_mixed_diff() -> None:
    files = {f.path: f for f in parse_diff((DIFFS / "mixed.diff").read_bytes())}
    assert files["added.py"].status == "added"
    assert files["deleted.py"].status == "deleted"
    assert files["new_name.txt"].status == "renamed" and not files["new_name.txt"].hunks
    assert files["new_name.txt"].old_path == "old_name.txt"
    assert files["renamed_dst.txt"].right[3] == (0, "C")
    assert files["image.png"].binary
    assert (files["run.sh"].old_mode, files["run.sh"].new_mode) == ("100644", "100755")
    assert "héllo wörld.py" in files


def test_crlf_converted_diff_parses_like_the_original() -> None:
    original = parse_diff((DIFFS / "multi_hunk_modified.diff").read_bytes())
    converted = parse_diff((DIFFS / "crlf_converted.diff").read_bytes())
    assert as_data(converted) == as_data(original)


def test_crlf_inside_content_is_not_part_of_the_text() -> None:
    [f] = parse_diff((DIFFS / "crlf_content.diff").read_bytes())
    assert f.right[2] == (0, "TWO") and f.left[2] == (0, "two")


def test_non_utf8_bytes_become_replacement_characters() -> None:
    [f] = parse_diff((DIFFS / "non_utf8.diff").read_bytes())
    assert f.right[1][1] == "caf\ufffd latin1"


def test_empty_diff_has_no_files() -> None:
    assert parse_diff(b"") == [] and parse_diff("\n\n") == []


def test_malformed_hunk_names_the_line() -> None:
    text = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\nzzz\n"
    with pytest.raises(DiffError, match=r"^malformed diff at line 8: Hunk diff line expected: zzz"):
        parse_diff(text)


def test_truncated_hunk_is_an_error() -> None:
    text = "--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n a\n-b\n+c\n"
    with pytest.raises(DiffError, match=r"line 6: Hunk is shorter than expected"):
        parse_diff(text)


def test_text_that_is_not_a_diff_is_an_error() -> None:
    with pytest.raises(DiffError, match="not a unified diff"):
        parse_diff("hello\nworld\n")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('+- @\\\n,0123456789abdif-/ab\t\r"')), max_size=300))
def test_parse_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        files = parse_diff(text)
    except DiffError as exc:
        assert "\n" not in str(exc)
        return
    for f in files:
        for n, (hunk, _) in f.right.items():
            assert n >= 0 and 0 <= hunk < len(f.hunks)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_parse_never_crashes_on_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(DiffError):
        parse_diff(b"diff --git a/x b/x\n--- a/x\n+++ b/x\n" + data)


# ------------------------------------------------------------------ filters


def paths(files: list[FileDiff]) -> list[str]:
    return [f.path for f in files]


def test_default_filters_skip_binary_lock_deleted_and_hunkless() -> None:
    keep, skipped = filter_files(parse_diff((DIFFS / "mixed.diff").read_bytes()))
    reasons = {s.path: s.reason for s in skipped}
    assert reasons == {
        "image.png": "binary file",
        "deleted.py": "file deleted",
        "new_name.txt": "renamed without changes",
        "run.sh": "file mode change only",
    }
    assert "added.py" in paths(keep) and "mod.txt" in paths(keep)
    assert len(keep) + len(skipped) == 11


def make(path: str, lines: list[str], start: int = 1, new: bool = False) -> FileDiff:
    body = "".join(f"+{t}\n" for t in lines)
    old = "/dev/null" if new else f"a/{path}"
    text = f"--- {old}\n+++ b/{path}\n@@ -{start},0 +{start},{len(lines)} @@\n{body}"
    return parse_diff(text)[0]


def test_lock_vendored_generated_and_minified_are_skipped_with_reasons() -> None:
    files = [
        make("package-lock.json", ["{}"]),
        make("web/yarn.lock", ["x"]),
        make("vendor/lib/a.go", ["package a"]),
        make("api/v1/service.pb.go", ["package v1"]),
        make("gen/models.py", ["# @generated by tool", "x = 1"], new=True),
        make("static/app.min.js", ["var a=1"]),
        make("static/bundle.js", ["x" * 2000]),
        make("src/main.py", ["print(1)"]),
    ]
    keep, skipped = filter_files(files)
    assert paths(keep) == ["src/main.py"]
    assert [s.reason for s in skipped] == [
        "lock file (skipped by default)",
        "lock file (skipped by default)",
        "vendored (skipped by default)",
        "generated (skipped by default)",
        "generated file (its header says so)",
        "minified (skipped by default)",
        "minified (very long lines)",
    ]


def test_include_overrides_defaults_and_exclude_wins_over_nothing() -> None:
    files = [make("vendor/ours/x.go", ["a"]), make("src/a.py", ["a"]), make("docs/a.md", ["a"])]
    keep, skipped = filter_files(files, include=("vendor/ours/**", "src/**"), exclude=("src/a.py",))
    assert paths(keep) == ["vendor/ours/x.go"]
    assert {s.path: s.reason for s in skipped} == {
        "src/a.py": "excluded by pattern 'src/a.py'",
        "docs/a.md": "not matched by include patterns",
    }


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("*.py", "a/b/c.py", True),
        ("*.py", "a/b/c.pyc", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/x/a.py", False),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**/*.py", "src/a.py", True),
        ("**/test_*.py", "test_a.py", True),
        ("docs/", "docs/a/b.md", True),
        ("docs/", "mydocs/a.md", False),
        ("vendor", "x/vendor/y.go", True),
        ("/build", "build/out.js", True),
        ("/build", "src/build/out.js", False),
        ("file[0-9].txt", "file7.txt", True),
    ],
)
def test_glob_match(pattern: str, path: str, hit: bool) -> None:
    assert glob_match(pattern, path) is hit


def test_split_patterns_accepts_newlines_commas_and_lists() -> None:
    assert split_patterns("a/**\n b.py, c/ \n\n") == ("a/**", "b.py", "c/")
    assert split_patterns(["x", " y "]) == ("x", "y")
    assert split_patterns(None) == ()


def test_unicode_path_is_unquoted(tmp_path: Path) -> None:
    [f] = parse_diff((DIFFS / "unicode_path.diff").read_bytes())
    assert f.path == "héllo wörld.py" and f.status == "added" and f.right[1][1] == 'print("héllo")'


def test_restrict_to_keeps_only_changes_the_pull_request_makes() -> None:
    from reviewbot.diff import restrict_to

    pr = parse_diff("--- a/a.py\n+++ b/a.py\n@@ -1,1 +1,2 @@\n x\n+y\n")
    push = parse_diff(
        "--- a/a.py\n+++ b/a.py\n@@ -1,1 +1,2 @@\n x\n+y\n@@ -9,1 +10,2 @@\n z\n+from_base\n"
        "--- /dev/null\n+++ b/other.py\n@@ -0,0 +1 @@\n+merged\n"
    )
    [kept] = restrict_to(push, pr)
    assert kept.path == "a.py" and [h.new_start for h in kept.hunks] == [1]


def _unified(old: list[str], new: list[str], context: int) -> str:
    import difflib

    body = "".join(
        difflib.unified_diff(
            [f"{x}\n" for x in old], [f"{x}\n" for x in new], "a/f.py", "b/f.py", n=context
        )
    )
    return f"diff --git a/f.py b/f.py\n{body}" if body else ""


@settings(max_examples=300, deadline=None)
@given(
    old=st.lists(st.sampled_from(["a", "b", "c", "d", "", "  x = 1", "é"]), max_size=30),
    edits=st.lists(
        st.tuples(st.integers(0, 30), st.sampled_from(["del", "ins", "sub"])), max_size=8
    ),
    context=st.integers(0, 4),
)
def test_line_maps_match_the_files_on_both_sides(
    old: list[str], edits: list[tuple[int, str]], context: int
) -> None:
    new = list(old)
    for pos, op in edits:
        i = min(pos, len(new))
        if op == "ins":
            new.insert(i, f"new {pos}")
        elif new and i < len(new):
            new[i : i + 1] = [] if op == "del" else [f"changed {pos}"]
    text = _unified(old, new, context)
    files = parse_diff(text)
    if old == new:
        assert files == []
        return
    [f] = files
    for n, (_, line) in f.right.items():
        assert new[n - 1] == line
    for n, (_, line) in f.left.items():
        assert old[n - 1] == line
    added = {ln.new for h in f.hunks for ln in h.lines if ln.kind == "+"}
    removed = {ln.old for h in f.hunks for ln in h.lines if ln.kind == "-"}
    assert len(new) - len(added) == len(old) - len(removed)  # everything else is unchanged


def test_a_pr_cannot_hide_an_existing_file_by_adding_a_generated_marker() -> None:
    added_marker = make("src/auth.py", ["# Code generated by hand. DO NOT EDIT.", "ok = True"])
    text = (
        "--- a/src/api.pb.go\n+++ b/src/api.pb.go\n@@ -1,2 +1,3 @@\n"
        " // Code generated by protoc-gen-go. DO NOT EDIT.\n package api\n+var X = 1\n"
    )
    already_generated = parse_diff(text)[0]
    in_a_string = make("src/msg.py", ['"""Docs."""', 'BANNER = "DO NOT EDIT"'], new=True)
    keep, skipped = filter_files([added_marker, already_generated, in_a_string])
    assert paths(keep) == ["src/auth.py", "src/msg.py"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("src/api.pb.go", "generated (skipped by default)")
    ]
    text = text.replace("api.pb.go", "api.go")
    keep, skipped = filter_files(parse_diff(text))
    assert keep == [] and skipped[0].reason == "generated file (its header says so)"


def test_deleting_lines_above_a_comment_does_not_make_it_a_generated_header() -> None:
    """Line 7 of the base says "DO NOT EDIT the block below"; the PR deletes three lines above
    it so it becomes line 4. The file was never generated: it is still reviewed."""
    text = (
        "--- a/settings.py\n+++ b/settings.py\n@@ -1,8 +1,5 @@\n"
        "-import os\n-import sys\n-import json\n x = 1\n y = 2\n z = 3\n"
        " # DO NOT EDIT the block below by hand\n BLOCK = 1\n"
        "@@ -20,2 +17,3 @@\n a = 1\n+os.system(input())\n b = 2\n"
    )
    keep, skipped = filter_files(parse_diff(text))
    assert paths(keep) == ["settings.py"] and skipped == []


def test_names_with_spaces_and_b_slash_parse_like_git(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=n"]
    (repo / "Plan b").mkdir()
    (repo / "Plan b" / "notes.md").write_text("a\nb\n")
    (repo / "gone.txt").write_text("x\n")
    (repo / "tab\there.txt").write_text("t\n")
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "i"], check=True)
    (repo / "Plan b" / "notes.md").write_text("a\nc\n")
    (repo / "gone.txt").unlink()
    (repo / "tab\there.txt").write_text("u\n")
    (repo / "new b file.txt").write_text("n\n")
    subprocess.run([*git, "add", "-A"], check=True)
    diff = subprocess.run([*git, "diff", "--cached"], capture_output=True, check=True).stdout
    files = {f.path: f for f in parse_diff(diff)}
    assert {p: f.status for p, f in files.items()} == {
        "Plan b/notes.md": "modified",
        "gone.txt": "deleted",
        "new b file.txt": "added",
        "tab\there.txt": "modified",
    }
    assert files["Plan b/notes.md"].right[2] == (0, "c")


def test_one_unparseable_file_does_not_cost_the_others() -> None:
    good = "diff --git a/ok.py b/ok.py\n--- a/ok.py\n+++ b/ok.py\n@@ -1 +1 @@\n-a\n+b\n"
    bad = "diff --git a/bad.py b/bad.py\n--- a/bad.py\n+++ b/bad.py\n@@ -1,3 +1,3 @@\n-a\nzzz\n"
    files = parse_diff(bad + good)
    assert [f.path for f in files] == ["bad.py", "ok.py"]
    keep, skipped = filter_files(files)
    assert paths(keep) == ["ok.py"]
    assert skipped[0].path == "bad.py"
    assert skipped[0].reason.startswith(
        "its part of the diff could not be parsed (malformed diff at line 6"
    )


NAME = (
    st.lists(
        st.sampled_from([*list('ab/ \t\n"\\é.x_-'), "b/", " b/", "a/"]), min_size=1, max_size=8
    )
    .map("".join)
    .filter(
        lambda s: not s.startswith("/") and not s.endswith("/") and "//" not in s and s.strip() == s
    )
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(NAME, st.sampled_from(["added", "removed", "modified", "renamed"]), NAME),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    )
)
def test_rebuilt_diffs_parse_to_the_same_files(entries: list[tuple[str, str, str]]) -> None:
    from reviewbot.diff import rebuild_diff

    patches = {
        "added": "@@ -0,0 +1,2 @@\n+one\n+two",
        "removed": "@@ -1,2 +0,0 @@\n-one\n-two",
        "modified": "@@ -1,2 +1,2 @@\n one\n-two\n+2",
        "renamed": "@@ -1,2 +1,2 @@\n one\n-two\n+2",
    }
    rows = [
        (
            path,
            (old if old != path else old + "x") if status == "renamed" else None,
            status,
            patches[status],
        )
        for path, status, old in entries
    ]
    files = parse_diff(rebuild_diff(rows))
    want = {"added": "added", "removed": "deleted", "modified": "modified", "renamed": "renamed"}
    assert [(f.path, f.old_path, f.status) for f in files] == [
        (path, previous, want[status]) for path, previous, status, _ in rows
    ]
    for f in files:
        assert len(f.hunks) == 1 and f.problem is None


def test_rebuilt_pure_rename_and_empty_deletion_parse() -> None:
    from reviewbot.diff import rebuild_diff

    files = parse_diff(
        rebuild_diff(
            [("new name.py", "old name.py", "renamed", None), ("e.txt", None, "removed", None)]
        )
    )
    assert [(f.path, f.old_path, f.status, f.hunks) for f in files] == [
        ("new name.py", "old name.py", "renamed", ()),
        ("e.txt", None, "deleted", ()),
    ]


def test_glob_match_cannot_be_made_to_backtrack() -> None:
    import time

    path = "a/" * 400 + "b" * 200
    started = time.perf_counter()
    for pattern in ("**/a/**/a/**/a/**/a/**/c", "*a*a*a*a*a*a*a*c", "a/**/**/**/**/**/x*y*z"):
        assert not glob_match(pattern, path)
        assert not glob_match(pattern, "a" * 1001)
    assert glob_match("**/a/**/b*", path)
    assert time.perf_counter() - started < 0.5


def _with_unidiff_only(data: bytes | str) -> list[FileDiff] | str:
    """parse_diff as before the direct hunk reader: unidiff for every section."""
    import reviewbot.hunks

    real = reviewbot.hunks.read_hunks
    reviewbot.hunks.read_hunks = lambda *a: None  # type: ignore[assignment]
    try:
        return parse_diff(data)
    except DiffError as exc:
        return str(exc)
    finally:
        reviewbot.hunks.read_hunks = real


def _parsed(data: bytes | str) -> list[FileDiff] | str:
    try:
        return parse_diff(data)
    except DiffError as exc:
        return str(exc)


MALFORMED = {
    "bad line": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\nzzz\n",
    "short": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n",
    "long": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,1 +1,1 @@\n a\n b\n",
    "header inside": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n@@ -5 +5 @@\n",
    "junk between": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\nzz\n@@ -5 +5 @@\n-c\n+d\n",
    "cr line": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n\rx\n-b\n+c\n",
    "marker": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n",
    "empty context": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n\n",
    "no counts": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -3 +3 @@ def f():\n-a\n+b",
    "two files": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    "diff --git a/y b/y\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n",
}


@pytest.mark.parametrize(
    "name", [*CASES, "demo", *MALFORMED], ids=[*CASES, "demo", *[f"m-{m}" for m in MALFORMED]]
)
def test_hunks_read_directly_are_what_unidiff_reads(name: str) -> None:
    from tests.conftest import ROOT

    if name in MALFORMED:
        data: bytes | str = MALFORMED[name]
    elif name == "demo":
        data = (ROOT / "examples" / "demo.diff").read_bytes()
    else:
        data = (DIFFS / f"{name}.diff").read_bytes()
    assert _parsed(data) == _with_unidiff_only(data)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["+", "-", " ", "", "\\", "@", "\r"]), st.text(max_size=8)),
        max_size=12,
    ),
    st.integers(0, 4),
    st.integers(0, 4),
)
def test_direct_reading_agrees_with_unidiff_on_any_hunk(
    body: list[tuple[str, str]], old_len: int, new_len: int
) -> None:
    lines = "".join(f"{k}{t.replace(chr(10), '')}\n" for k, t in body)
    data = f"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,{old_len} +1,{new_len} @@\n{lines}"
    assert _parsed(data) == _with_unidiff_only(data)


def test_a_git_diff_is_parsed_without_a_parser_object_per_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """unidiff's objects (~600 bytes a line) made a 50 MB file's diff peak near 500 MB; the
    hunks are now read straight into DiffLines (bench figures in the change's note)."""
    import unidiff.patch

    made = []

    class Counted(unidiff.patch.Line):  # type: ignore[misc]
        def __init__(self, *a: Any, **kw: Any) -> None:
            made.append(1)
            super().__init__(*a, **kw)

    monkeypatch.setattr(unidiff.patch, "Line", Counted)
    added = "".join(f"+line {i}\n" for i in range(2000))
    [f] = parse_diff(f"diff --git a/n b/n\n--- /dev/null\n+++ b/n\n@@ -0,0 +1,2000 @@\n{added}")
    assert f.added == 2000 and f.status == "added"
    assert made == []


GENERATED_HEADERS = [
    "// Code generated by protoc-gen-go. DO NOT EDIT.",
    "-- Code generated by sqlc. DO NOT EDIT.",
    "# @generated by tool",
    " * @generated SignedSource<<8f3e>>",
    "// Generated by the protocol buffer compiler.  DO NOT EDIT!",
    "// GENERATED CODE - DO NOT MODIFY BY HAND",
    "# Autogenerated by Thrift Compiler (0.19.0)",
    "/* DO NOT EDIT THIS FILE - it is machine generated */",
    "<!-- This file is auto-generated. -->",
    "# This file was generated by go generate; do not edit.",
    "% Generated by roxygen2: do not edit by hand",
]
HAND_WRITTEN_HEADERS = [
    "# not autogenerated",
    "# This is not generated code; do not edit casually",
    "# Generated by Django 4.2 on 2024-05-01 10:00",  # migrations are worth a review
    "// TODO: DO NOT EDIT the constants below without a migration",
    "# contact: build@generated.example",
    "print('DO NOT EDIT')",
    "x = '@generated'",
]


@pytest.mark.parametrize("header", GENERATED_HEADERS)
def test_a_new_file_whose_header_says_generated_is_skipped(header: str) -> None:
    from reviewbot.filters import filter_files
    from tests.test_diff import make

    keep, skipped = filter_files([make("src/out.x", [header, "x = 1"], new=True)])
    assert keep == [] and [s.reason for s in skipped] == ["generated file (its header says so)"]


@pytest.mark.parametrize("header", HAND_WRITTEN_HEADERS)
def test_a_header_that_only_mentions_generation_is_still_reviewed(header: str) -> None:
    from reviewbot.filters import filter_files
    from tests.test_diff import make

    keep, skipped = filter_files([make("src/hand.py", [header, "x = 1"], new=True)])
    assert [f.path for f in keep] == ["src/hand.py"] and skipped == []


def _minified_verdict(text: str) -> list[str]:
    from reviewbot.diff import parse_diff
    from reviewbot.filters import filter_files

    keep, skipped = filter_files(parse_diff(text))
    return [s.reason for s in skipped] if skipped else ["reviewed" for _ in keep]


LONG = "const data = '" + "A" * 3_000 + "';"


def test_one_long_line_added_to_an_existing_file_does_not_make_it_minified() -> None:
    context = "".join(f" line_{i} = {i}\n" for i in range(3))
    text = f"--- a/src/app.js\n+++ b/src/app.js\n@@ -1,3 +1,4 @@\n{context}+{LONG}\n"
    assert _minified_verdict(text) == ["reviewed"]
    edited = (
        "--- a/src/app.js\n+++ b/src/app.js\n@@ -1,3 +1,3 @@\n line_0 = 0\n"
        f"-const data = '';\n+{LONG}\n line_2 = 2\n"
    )
    assert _minified_verdict(edited) == ["reviewed"]


def test_a_bundle_that_was_minified_stays_minified_when_a_pr_changes_it() -> None:
    header = " /*! app v1 | MIT */\n"
    text = f"--- a/dist/app.js\n+++ b/dist/app.js\n@@ -1,2 +1,2 @@\n{header}-{LONG}x\n+{LONG}y\n"
    assert _minified_verdict(text) == ["minified (very long lines)"]


def test_a_new_file_is_minified_by_all_its_lines() -> None:
    bundle = "+/*! app v1 | MIT */\n+/* built 2026 */\n" + f"+{LONG * 3}\n"
    new = "--- /dev/null\n+++ b/dist/app.js\n@@ -0,0 +1,3 @@\n"
    assert _minified_verdict(new + bundle) == ["minified (very long lines)"]
    source = "".join(f"+line_{i} = {i}  # a normal line of code\n" for i in range(99))
    header = "--- /dev/null\n+++ b/src/big.js\n@@ -0,0 +1,100 @@\n"
    assert _minified_verdict(header + source + f"+{LONG}\n") == ["reviewed"]
