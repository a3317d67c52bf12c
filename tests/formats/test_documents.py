"""The text of documents for extraction: HTML without its markup, PDF pages, and free-text imports."""

from __future__ import annotations

import pytest

from commonspace.domain.vocab import IndicatorType as T
from commonspace.formats import files
from commonspace.formats.documents import html_text, text_of
from commonspace.formats.model import FormatError


def _pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` in Helvetica, built by hand (offsets computed)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_is_read_and_its_indicators_found() -> None:
    data = _pdf("C2 server at 198.51.100[.]44 and hxxp://drop[.]top/x.exe")
    assert "198.51.100[.]44" in text_of("report.pdf", data)
    exchange = files.read("report.pdf", data)
    (report,) = exchange.reports
    assert {(i.type, i.value) for i in report.indicators} == {
        (T.IPV4, "198.51.100.44"),
        (T.URL, "http://drop.top/x.exe"),
    }
    assert report.published is False  # extracted: a draft to review


def test_a_broken_pdf_is_a_clear_error() -> None:
    with pytest.raises(FormatError, match="cannot read this PDF"):
        files.read("broken.pdf", b"%PDF-1.4\nthis is not a pdf at all")


def test_html_scripts_and_styles_are_not_text_but_link_targets_are() -> None:
    html = (
        b"<html><head><style>.x{}</style><script>var ip='10.9.9.9'</script></head>"
        b"<body><p>See <a href='hxxps://evil[.]top/a'>this</a></p><p>and 203.0.113.5</p></body></html>"
    )
    text = html_text(html)
    assert "10.9.9.9" not in text and "hxxps://evil[.]top/a" in text and "203.0.113.5" in text
    found = {i.value for r in files.read("page.html", html).reports for i in r.indicators}
    assert found == {"https://evil.top/a", "203.0.113.5"}
