"""The sanitiser against GitHub's own renderer (cmark-gfm): what survives is what GitHub shows."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewbot.anchor import Placed
from reviewbot.findings import Finding
from reviewbot.markup import inline_code, sanitize
from reviewbot.render import COMMENT_LIMIT, comment_body

# Tags GitHub may show for sanitised text: markdown's own output, and our allowlist.
SHOWN = {"p", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "hr", "br", "del"}
SHOWN |= {f"h{i}" for i in range(1, 7)} | {"b", "i", "kbd", "sub", "sup", "a", "table"}
SHOWN |= {"thead", "tbody", "tr", "th", "td", "input"}

HOSTILE = [
    "<DETAILS><SUMMARY>open me</SUMMARY>hidden</DETAILS>",
    "<IMG SRC=x onerror=alert(1)>",
    "<img src='https://evil.example/pixel.png'>",
    "![tracking](https://evil.example/p.png)",
    "[click here](https://evil.example/phish)",
    "[ref]: https://evil.example\n\nsee [ref]",
    "_@octocat_ and *@octocat* and (@octocat) and @octocat/team",
    "&#64;octocat &#x40;octocat &commat;octocat",
    "fixes #1, see owner/repo#12 and GH-7",
    "<!-- reviewbot:v1 head=" + "a" * 40 + " fp= -->",
    "<script>alert(1)</script><style>body{}</style>",
    "<a href=https://evil.example>x</a>",
    "<Picture><source srcset=x></Picture>",
    "<svg><desc>x</desc></svg>",
]


def rendered(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def check(markdown: str) -> None:
    out = rendered(markdown)
    for tag in re.findall(r"<([A-Za-z][A-Za-z0-9]*)", out):
        assert tag.lower() in SHOWN, (tag, out)
    for m in re.finditer(r"<a href=\"([^\"]*)\">(.*?)</a>", out):
        # only bare URLs are links, and they show where they go
        shown = html.unescape(m.group(2))
        assert unquote(html.unescape(m.group(1))) in (shown, f"http://{shown}", f"mailto:{shown}")
    assert "<img" not in out.lower() and "<!--" not in out
    text = re.sub(r"<code>.*?</code>|<pre>.*?</pre>", " ", out, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    assert re.search(r"(?<![A-Za-z0-9])@[A-Za-z0-9]", text) is None, text  # no mention
    assert re.search(r"#\d", text) is None, text  # no issue reference
    assert re.search(r"(?<![A-Za-z0-9])GH-\d", text, re.I) is None, text


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_harmless(text: str) -> None:
    check(sanitize(text))


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<",
                ">",
                "!",
                "[",
                "]",
                "(",
                ")",
                "@",
                "#",
                "1",
                "a",
                "&",
                ";",
                "`",
                "\n",
                " ",
                "_",
                "*",
                "<img",
                "<DeTaiLs>",
                "&#64;",
                "http://x.example/",
                "/",
                "GH-",
                "\\",
                "    ",
                "> ",
                "- ",
                "|",
                "www.x.example",
                "a@b.example",
                "~~~",
                "```",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_any_text_renders_harmless(text: str) -> None:
    check(sanitize(text))


def test_what_a_review_needs_survives() -> None:
    text = (
        "Use **bold**, _emphasis_, `@decorator` and `#include`, <sub>small</sub>, <br> and:\n\n"
        "```python\nx = a@b <!--\n```\n\n- mail a@b.com\n- list[int] stays readable"
    )
    out = rendered(sanitize(text))
    assert "<strong>bold</strong>" in out and "<em>emphasis</em>" in out
    assert "<code>@decorator</code>" in out and "<code>#include</code>" in out
    assert "<sub>small</sub>" in out and "<br" in out
    assert "x = a@b &lt;\u200b!--" in out  # code stays code; only the marker opener is broken
    assert "a@b.com" in out and "list[int]" in out


def test_truncation_never_leaves_a_fence_open() -> None:
    text = "intro\n\n```python\n" + "line = 1\n" * 500 + "```\n\nafter"
    cut = sanitize(text, 300)
    assert len(cut) <= 300 and cut.endswith("…(truncated by reviewbot)")
    assert sum(1 for ln in cut.split("\n") if ln.startswith("```")) % 2 == 0


def test_a_long_comment_keeps_its_suggestion_whole() -> None:
    finding = Finding("a.py", 3, None, "RIGHT", "major", "t", "b" * 100_000, "x", "y = 2\n")
    c = Placed(finding, True, 3, "RIGHT", suggestion="y = 2\n")
    body = comment_body(c)
    assert len(body) <= COMMENT_LIMIT
    assert body.endswith("```suggestion\ny = 2\n```")
    assert "…(truncated by reviewbot)" in body


def test_inline_code_shows_any_path_literally_on_one_line() -> None:
    assert inline_code("a`b\nc") == "``a`b c``"
    assert rendered(inline_code("vendor/<!-- x -->.js")).count("<!--") == 0
