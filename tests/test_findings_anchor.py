"""Model output parsing, the strict schema, and placing findings on the exact diff lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewbot.anchor import Placed, anchor_findings
from reviewbot.diff import FileDiff, parse_diff
from reviewbot.findings import (
    Finding,
    MalformedOutput,
    dedupe,
    parse_output,
    response_schema,
)
from tests.conftest import DATA


@dataclass(frozen=True)
class Split:
    comments: tuple[Placed, ...]
    notes: tuple[Placed, ...]


def anchored(*args: Any, **kwargs: Any) -> Split:
    """anchor_findings, its placed findings split into inline comments and body notes."""
    out = anchor_findings(*args, **kwargs)
    return Split(tuple(p for p in out if p.inline), tuple(p for p in out if not p.inline))


DIFF = """\
--- a/app.py
+++ b/app.py
@@ -1,6 +1,7 @@
 import os
-import sys
+import sys, json
+x = 1

 def main():
     return 1

@@ -20,3 +21,4 @@ def other():
     a = 1
-    b = 2
+    b = 3
+    c = 4
     return a
"""


@pytest.fixture
def files() -> dict[str, FileDiff]:
    return {f.path: f for f in parse_diff(DIFF)}


def finding(**kw: Any) -> Finding:
    base: dict[str, Any] = dict(
        path="app.py",
        line=3,
        start_line=None,
        side="RIGHT",
        severity="major",
        title="t",
        body="b",
        code=None,
        suggestion=None,
    )
    base.update(kw)
    return Finding(**base)


# ------------------------------------------------------------------ schema and parsing


def walk(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = [schema] if schema.get("type") == "object" else []
    for sub in schema.get("properties", {}).values():
        found += walk(sub)
    if isinstance(schema.get("items"), dict):
        found += walk(schema["items"])
    return found


def test_schema_is_strict_everywhere() -> None:
    objects = walk(response_schema())
    assert len(objects) == 3  # the answer, a finding, a file summary
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])


def test_schema_has_the_contract_fields() -> None:
    props = response_schema()["properties"]["findings"]["items"]["properties"]
    for name in ("path", "line", "start_line", "side", "severity", "title", "body", "suggestion"):
        assert name in props
    assert props["start_line"]["type"] == ["integer", "null"]
    assert props["severity"]["enum"] == ["critical", "major", "minor", "nit"]


def test_every_field_the_schema_asks_for_is_read_back() -> None:
    """A field the model is asked for that the parser does not read is lost on every finding."""
    props = response_schema()["properties"]["findings"]["items"]["properties"]
    item = {
        "path": "app.py",
        "line": 3,
        "start_line": 2,
        "side": "LEFT",
        "severity": "critical",
        "title": "T",
        "body": "B",
        "code": "x = 1",
        "suggestion": "y = 2\n",
        "confidence": 0.75,
    }
    assert sorted(props) == sorted(item)  # a new field in the schema needs a value here
    [f] = parse_output(json.dumps({"summary": "s", "findings": [item]})).findings
    assert {name: getattr(f, name) for name in props} == item


def test_parse_fenced_json() -> None:
    out = parse_output('```json\n{"summary": "s", "findings": []}\n```')
    assert out.summary == "s" and out.findings == ()


def test_parse_json_with_prose_around_it() -> None:
    out = parse_output('Sure! {"summary": "s", "findings": []} Hope that helps.')
    assert out.summary == "s"


@pytest.mark.parametrize("text", ["not json at all", "[1, 2]", '{"findings": 3}', ""])
def test_malformed_output_raises(text: str) -> None:
    with pytest.raises(MalformedOutput):
        parse_output(text)


def test_bad_items_are_repaired_or_reported_never_dropped_silently() -> None:
    raw = {
        "summary": "s",
        "findings": [
            {"path": "b/app.py", "line": "3", "severity": "HIGH", "title": "T", "body": "B"},
            {"path": "app.py", "title": "no line", "body": "x"},
            "garbage",
            {"path": "app.py", "line": 3},
        ],
    }
    out = parse_output(json.dumps(raw))
    assert [(f.path, f.line, f.severity) for f in out.findings] == [
        ("app.py", 3, "minor"),
        ("app.py", 0, "minor"),
    ]
    assert out.problems == (
        "finding 1: unknown severity 'high', used minor",
        "finding 2: no valid line number; unknown severity '', used minor",
        'finding 3: not an object ("garbage")',
        'finding 4: no title or body ({"path": "app.py", "line": 3})',
    )


def test_dedupe_keeps_first_of_identical_findings() -> None:
    a = finding(title="Null check missing")
    b = finding(title="null  check MISSING", body="other words")
    c = finding(line=4)
    assert dedupe([a, b, c]) == [a, c]


# ------------------------------------------------------------------ anchoring


def test_line_on_the_diff_becomes_an_inline_comment(files: dict[str, FileDiff]) -> None:
    [c] = anchored([finding(line=3)], files).comments
    assert (c.path, c.line, c.side, c.start_line) == ("app.py", 3, "RIGHT", None)


def test_anchor_line_outside_hunk_goes_to_body(files: dict[str, FileDiff]) -> None:
    out = anchored([finding(line=12)], files)
    assert out.comments == ()
    assert out.notes[0].reason == "line 12 is not on the diff for the RIGHT side"


def test_path_not_in_diff_goes_to_body(files: dict[str, FileDiff]) -> None:
    out = anchored([finding(path="other.py")], files)
    assert out.notes[0].reason == "path is not in the diff"


def test_finding_on_a_skipped_file_says_why(files: dict[str, FileDiff]) -> None:
    out = anchored([finding(path="yarn.lock")], files, {"yarn.lock": "lock file"})
    assert out.notes[0].reason == "file not reviewed inline (lock file)"


def test_left_side_uses_old_line_numbers(files: dict[str, FileDiff]) -> None:
    [c] = anchored([finding(side="LEFT", line=2, code="import sys")], files).comments
    assert (c.side, c.line) == ("LEFT", 2)
    out = anchored([finding(side="LEFT", line=24)], files)  # 24 exists only on RIGHT
    assert out.comments == () and "LEFT" in out.notes[0].reason


def test_wrong_number_with_quoted_code_moves_to_that_line(files: dict[str, FileDiff]) -> None:
    [c] = anchored([finding(line=12, code="    c = 4")], files).comments
    assert (c.line, c.moved_from) == (23, 12)


def test_quote_picks_the_nearest_matching_line() -> None:
    diff = "--- a/f\n+++ b/f\n@@ -0,0 +1,9 @@\n" + "".join(
        f"+{t}\n" for t in ["x", "dup", "y", "z", "w", "v", "dup", "u", "t"]
    )
    files = {"f": parse_diff(diff)[0]}
    [c] = anchored([finding(path="f", line=6, code="dup")], files).comments
    assert c.line == 7


def test_quote_not_found_and_line_off_diff_goes_to_body(files: dict[str, FileDiff]) -> None:
    out = anchored([finding(line=40, code="nothing like this")], files)
    assert out.comments == () and len(out.notes) == 1


def test_range_in_one_hunk_is_kept(files: dict[str, FileDiff]) -> None:
    [c] = anchored([finding(start_line=2, line=3, suggestion="a\nb\n")], files).comments
    assert (c.start_line, c.line, c.suggestion) == (2, 3, "a\nb\n")


def test_range_crossing_hunks_shrinks_to_last_line_and_drops_suggestion(
    files: dict[str, FileDiff],
) -> None:
    [c] = anchored([finding(start_line=3, line=23, suggestion="z\n")], files).comments
    assert (c.start_line, c.line, c.suggestion) == (None, 23, None)
    assert c.note is not None and "suggested fix shown as text" in c.note


def test_suggestion_on_left_side_is_not_a_suggestion_block(files: dict[str, FileDiff]) -> None:
    [c] = anchored([finding(side="LEFT", line=2, suggestion="x\n")], files).comments
    assert c.suggestion is None


def test_cap_keeps_highest_severity_inline_rest_to_body(files: dict[str, FileDiff]) -> None:
    fs = [
        finding(line=1, severity="nit", title="a"),
        finding(line=2, severity="critical", title="b"),
        finding(line=3, severity="minor", title="c"),
        finding(line=22, severity="major", title="d"),
    ]
    out = anchored(fs, files, max_comments=2)
    assert [c.finding.severity for c in out.comments] == ["critical", "major"]
    assert sorted(n.finding.severity for n in out.notes) == ["minor", "nit"]
    assert all("over the limit of 2" in n.reason for n in out.notes)


def valid(c: Placed, f: FileDiff) -> bool:
    lines = f.side_map(c.side)
    if c.line not in lines:
        return False
    if c.start_line is None:
        return True
    return c.start_line < c.line and lines[c.start_line][0] == lines[c.line][0]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-2, max_value=30),
            st.one_of(st.none(), st.integers(min_value=-2, max_value=30)),
            st.sampled_from(["RIGHT", "LEFT"]),
            st.one_of(st.none(), st.sampled_from(["import sys", "    c = 4", "x = 1", "", "zz"])),
            st.one_of(st.none(), st.just("fix\n")),
        ),
        max_size=12,
    )
)
def test_every_inline_comment_lies_on_the_diff(items: list[tuple[Any, ...]]) -> None:
    file = parse_diff(DIFF)[0]
    fs = [
        finding(line=ln, start_line=st_, side=side, code=code, suggestion=sug, title=str(i))
        for i, (ln, st_, side, code, sug) in enumerate(items)
    ]
    out = anchored(fs, {"app.py": file}, max_comments=5)
    assert len(out.comments) + len(out.notes) == len(fs)
    assert len(out.comments) <= 5
    for c in out.comments:
        assert valid(c, file), c
        if c.suggestion is not None:
            assert c.side == "RIGHT"


def test_golden_diff_maps_feed_the_anchor() -> None:
    files = {f.path: f for f in parse_diff((DATA / "diffs" / "mixed.diff").read_bytes())}
    out = anchored([finding(path="mod.txt", line=21, code="line21")], files)
    assert out.comments[0].line == 21


def test_empty_suggestion_means_none_never_a_deletion() -> None:
    item = {
        "path": "app.py",
        "line": 3,
        "side": "RIGHT",
        "severity": "minor",
        "title": "t",
        "body": "b",
        "code": "x = 1",
        "start_line": None,
        "suggestion": "",
    }
    [f] = parse_output(json.dumps({"summary": "", "findings": [item]})).findings
    assert f.suggestion is None
    item["suggestion"] = "    keep_indent()\n"
    [f] = parse_output(json.dumps({"summary": "", "findings": [item]})).findings
    assert f.suggestion == "    keep_indent()\n"
