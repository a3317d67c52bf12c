"""Markdown rendering: what members write comes out as inert HTML, and ordinary Markdown survives.

The output is parsed back with the standard library's HTML parser, so that the checks are about the
elements and attributes a browser would build, not about spellings.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commonspace.domain.markdown import ATTRIBUTES, LINK_REL, TAGS, render


class Elements(HTMLParser):
    """The start tags of a document with their attributes (values unescaped, as a browser reads them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def elements(text: str) -> list[tuple[str, dict[str, str]]]:
    parser = Elements()
    parser.feed(text)
    parser.close()
    return parser.found


def links(text: str) -> list[dict[str, str]]:
    return [attrs for tag, attrs in elements(text) if tag == "a"]


def scheme(url: str) -> str | None:
    """The scheme a browser would read in ``url`` (tabs and newlines are dropped anywhere)."""
    cleaned = "".join(c for c in url if c not in "\t\n\r").strip("".join(chr(i) for i in range(0x21)))
    head = cleaned.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return head.partition(":")[0].lower() if ":" in head else None


def assert_inert(rendered: str) -> None:
    """Only allowed elements and attributes; no script; links only to http, https, mailto or relative."""
    assert "<script" not in rendered.lower()
    for tag, attrs in elements(rendered):
        assert tag in TAGS, (tag, rendered)
        for name, value in attrs.items():
            allowed = ATTRIBUTES.get(tag, frozenset()) | ({"rel"} if tag == "a" else set())
            assert name in allowed, (tag, name, rendered)
            assert not name.startswith("on"), rendered
            if name != "title":  # a title is text, shown as a tooltip: it may say anything
                assert "javascript:" not in "".join(value.lower().split()), rendered
        if tag == "a":
            assert attrs["rel"] == LINK_REL, rendered
            if "href" in attrs:
                assert scheme(attrs["href"]) in (None, "http", "https", "mailto"), rendered


# --- attacks --------------------------------------------------------------------------------------------

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    "<div onmouseover=alert(1)>hover</div>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript&#58;alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click]( javascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    "![x](JaVaScRiPt:alert(1))",
    '![x](https://evil.example/a.png "title onerror=alert(1)")',
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "[x](https://ok.example/ onclick=alert(1))",
    '[x](https://ok.example/ "a\\" onclick=\\"alert(1)")',
    "```html\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "<!-- <script>alert(1)</script> -->",
    "<svg/onload=alert(1)>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_attacks_come_out_inert(source: str) -> None:
    assert_inert(render(source))


def test_raw_html_is_shown_as_text() -> None:
    out = render('<script>alert(1)</script> and <img src=x onerror="alert(1)">')
    assert [tag for tag, _ in elements(out)] == ["p"]
    assert html.unescape(out) == '<p><script>alert(1)</script> and <img src=x onerror="alert(1)"></p>\n'


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](&#106;avascript:alert(1))",
        "[click](jav&#x09;ascript:alert(1))",
        "[click](data:text/html,hi)",
    ],
)
def test_dangerous_links_lose_their_target(source: str) -> None:
    assert all("href" not in attrs for attrs in links(render(source)))


def test_images_become_links_never_images() -> None:
    out = render('![the logo](https://example.org/logo.png "Logo")')
    assert [tag for tag, _ in elements(out)] == ["p", "a"]
    assert links(out) == [{"href": "https://example.org/logo.png", "rel": LINK_REL}]
    assert ">the logo</a>" in out
    for source in ("![x](javascript:alert(1))", "![x](data:image/png;base64,iVBORw0KGgo=)"):
        out = render(source)
        assert "<img" not in out and all("href" not in attrs for attrs in links(out)), out


# --- ordinary Markdown ----------------------------------------------------------------------------------


def test_ordinary_markdown_survives() -> None:
    source = "\n".join(
        [
            "# Phishing wave",
            "",
            "Seen *twice*, **blocked**, ~~ignored~~ and `grep -r`.",
            "",
            "- first",
            "- second",
            "",
            "3. three",
            "4. four",
            "",
            "> quoted",
            "",
            "```python",
            "print('<b>')",
            "```",
            "",
            "| host | port |",
            "|:-----|-----:|",
            "| a.example | 443 |",
            "",
            'See [the advisory](https://cert.example/a?x=1&y=2 "Advisory"), '
            "<https://cert.example/b>, <mailto:soc@cert.example> and [the report](/reports/42).",
        ]
    )
    out = render(source)
    assert_inert(out)
    for fragment in (
        "<h1>Phishing wave</h1>",
        "<em>twice</em>",
        "<strong>blocked</strong>",
        "<s>ignored</s>",
        "<code>grep -r</code>",
        "<ul>\n<li>first</li>\n<li>second</li>\n</ul>",
        '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>',
        "<blockquote>\n<p>quoted</p>\n</blockquote>",
        "<pre><code class=\"language-python\">print('&lt;b&gt;')\n</code></pre>",
        '<th style="text-align:left">host</th>',
        '<td style="text-align:right">443</td>',
    ):
        assert fragment in out, (fragment, out)
    assert links(out) == [
        {"href": "https://cert.example/a?x=1&y=2", "title": "Advisory", "rel": LINK_REL},
        {"href": "https://cert.example/b", "rel": LINK_REL},
        {"href": "mailto:soc@cert.example", "rel": LINK_REL},
        {"href": "/reports/42", "rel": LINK_REL},
    ]


def test_a_code_class_is_only_a_language() -> None:
    out = render('```python onclick="alert(1)"\nx\n```')
    assert '<code class="language-python">' in out
    assert elements(render('```a"b\nx\n```'))[1] == ("code", {})


def test_plain_text_and_empty() -> None:
    assert render("") == ""
    assert render("just text") == "<p>just text</p>\n"
    assert render("a < b & c > d") == "<p>a &lt; b &amp; c &gt; d</p>\n"


# --- properties -----------------------------------------------------------------------------------------

FRAGMENTS = [
    "<script>",
    "</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:",
    "JaVaScRiPt:",
    "&#106;avascript:",
    "&#x6A;",
    "&#58;",
    "jav\tascript:",
    "data:text/html,",
    "vbscript:",
    "alert(1)",
    "[",
    "](",
    ")",
    "![",
    "<",
    ">",
    '"',
    "'",
    "`",
    "```",
    "\n",
    "\n\n",
    "    ",
    "*",
    "_",
    "~~",
    "|",
    "-",
    "&",
    ";",
    "onerror=",
    "<a href=",
    "https://ok.example/",
    "mailto:",
    "%09",
    "\\",
    "\x00",
]
markdownish = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=30).map("".join)


@settings(max_examples=300)
@given(source=markdownish)
def test_no_script_and_no_javascript_link_ever(source: str) -> None:
    assert_inert(render(source))


@settings(max_examples=200)
@given(source=st.text())
def test_any_text_renders_inert(source: str) -> None:
    assert_inert(render(source))
