"""Markdown to safe HTML, for everything members write: report summaries, posts in discussions.

Two stages, each enough on its own against the usual tricks, so that a mistake in one is caught by the
other:

1. markdown-it-py renders CommonMark (with tables and strikethrough). Raw HTML in the source is not
   passed through but shown as text, and links whose destination is ``javascript:``, ``vbscript:``,
   ``file:`` or ``data:`` are not made links. Bare URLs become links only when linkify-it-py is installed.
   Images are rendered as links to the image, never as ``<img>``: a remote image would tell its host who
   reads the page, and when (in threat intelligence the host may well be the adversary).
2. nh3 (ammonia) cleans the result with an explicit allow-list of tags and attributes; link targets
   keep only the ``http``, ``https`` and ``mailto`` schemes (or none: relative links), and every link
   gets ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib.util import find_spec

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "s", "del", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "ol": frozenset({"start"}),
    "code": frozenset({"class"}),
    "th": frozenset({"style"}),
    "td": frozenset({"style"}),
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
_ALIGN = re.compile(r"text-align:(left|center|right)")
_IGNORED_IN_URLS = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL
_FIRST_SEGMENT = re.compile(r"[/?#]")
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))  # and these at either end


def _scheme_allowed(url: str) -> bool:
    """No scheme (a relative link) or an allowed one; anything that could be read as another scheme
    (``jav%09ascript:``, say) is refused, whatever a URL parser would make of it."""
    head = _FIRST_SEGMENT.split(_IGNORED_IN_URLS.sub("", url).strip(_C0_AND_SPACE), maxsplit=1)[0]
    scheme, colon, _ = head.partition(":")
    return not colon or scheme.lower() in URL_SCHEMES


def _keep_attribute(tag: str, name: str, value: str) -> str | None:
    """Narrow the allowed attributes further: link targets by scheme (nh3 checks them too), a code
    block's class to its language, a table cell's style to its alignment."""
    if name == "href":
        return value if _scheme_allowed(value) else None
    if name == "class":
        return value if tag == "code" and _LANGUAGE.fullmatch(value) else None
    if name == "style":
        return value if _ALIGN.fullmatch(value) else None
    return value


def _image_as_link(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    text = self.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escapeHtml(src)}">{escapeHtml(text)}</a>'


@cache
def _parser() -> MarkdownIt:
    linkify = find_spec("linkify_it") is not None
    md = MarkdownIt("commonmark", {"html": False, "linkify": linkify, "typographer": False})
    md.enable(["table", "strikethrough"])
    if linkify:
        md.enable("linkify")
    md.add_render_rule("image", _image_as_link)
    return md


def render(text: str) -> str:
    """``text`` (Markdown) as HTML that is safe to put in a page as it is."""
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
    )
