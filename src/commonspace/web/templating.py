"""Jinja2 templates for the pages, their filters, and the one function that renders a page.

Autoescaping is on for every template; the only HTML that goes out unescaped is Markdown that went
through the sanitiser (the ``markdown`` filter).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pycountry
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from commonspace.domain import markdown
from commonspace.domain.canonical import defang
from commonspace.domain.vocab import EDITOR_ROLES, Role

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
env = templates.env
env.trim_blocks = True
env.lstrip_blocks = True


def _markdown(text: str | None) -> Markup:
    return Markup(markdown.render(text or ""))  # noqa: S704 - sanitised by the renderer


def _when(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


def _country(code: str | None) -> str:
    if not code:
        return ""
    found = pycountry.countries.get(alpha_2=code)
    return str(getattr(found, "common_name", None) or getattr(found, "name", code)) if found else code


def _tlp_class(tlp: str) -> str:
    return "tlp-" + tlp.lower().replace("+", "-")


def _query(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = {k: v for k, v in request.query_params.items() if k not in changes}
    params.update({k: v for k, v in changes.items() if v is not None and v != ""})
    return "?" + urlencode(params) if params else "?"


env.filters.update(markdown=_markdown, when=_when, country=_country, tlp_class=_tlp_class, defang=defang)
env.globals.update(query=_query, Role=Role, EDITOR_ROLES=EDITOR_ROLES)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render a page; every template sees the request, the signed-in member and the CSRF token.

    No page is stored by the browser or by a cache on the way: pages show what only their reader may see
    (TLP:RED reports, a new API key) and carry the CSRF token; the back button after signing out on a
    shared computer must not show them again.
    """
    current = getattr(request.state, "signed_in", None)
    base = {
        "current": current,
        "subject": current.subject if current else None,
        "csrf_token": current.csrf_token if current else getattr(request.state, "sign_in_token", ""),
    }
    response = templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response
