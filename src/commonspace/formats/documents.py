"""The text of a document — plain text, HTML or PDF — for extracting the indicators it mentions."""

from __future__ import annotations

import io
from html.parser import HTMLParser

from commonspace.formats.model import FormatError, Problem

_SKIPPED = {"script", "style", "head", "title", "noscript", "template"}
_BLOCKS = {"p", "div", "br", "li", "tr", "td", "th", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        # Links often carry the indicator itself (href="hxxp://..."): keep their targets.
        if tag == "a":
            self.parts.extend(f" {value} " for name, value in attrs if name == "href" and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and self._skipping:
            self._skipping -= 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-")


def is_html(name: str, data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return name.lower().endswith((".html", ".htm")) or head.startswith((b"<!doctype html", b"<html"))


def html_text(data: bytes) -> str:
    parser = _Text()
    parser.feed(data.decode("utf-8", errors="replace"))
    parser.close()
    return "".join(parser.parts)


def pdf_text(data: bytes, source: str = "") -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise FormatError([Problem(source, "document", f"cannot read this PDF: {exc}")]) from exc


def text_of(name: str, data: bytes) -> str:
    """The readable text of ``data``: a PDF's pages, an HTML page without its markup, or decoded text."""
    if is_pdf(data):
        return pdf_text(data, name)
    if is_html(name, data):
        return html_text(data)
    return data.decode("utf-8", errors="replace")
