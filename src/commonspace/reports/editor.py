"""The report editor: the pages that create and edit a report, with the indicators found in pasted text.

One form holds every field of a report and, on the edit page, the indicators already there (each with a
remove box). Text pasted under "Add indicators" is read by ``formats.freetext``: the "Find indicators"
button (htmx) shows what was found, each with a box checked by default, and saving adds the checked ones;
saving without looking first adds everything found.

Saving is all or nothing: the report, the removals, the new indicators and the publication are written
under one savepoint of the request's transaction, and any refusal (a pydantic ValidationError, a domain
Invalid or Conflict) rolls it back and shows the form again, every value as typed, each message next to
its field (422; 409 when the report changed since the form was opened).

Who: only members who may create reports see the new-report page (others get 403), only the report's
editors its edit page (403), and a report the member may not see answers 404 exactly like a random UUID.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import pycountry
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from commonspace import policy
from commonspace.domain.errors import Conflict, Forbidden, Invalid
from commonspace.domain.taxonomy import RSIT
from commonspace.domain.vocab import TLP, Distribution, IndicatorType, ThreatLevel
from commonspace.formats import freetext
from commonspace.policy import Subject
from commonspace.reports import indicators, schemas
from commonspace.reports import service as reports
from commonspace.sharing import service as sharing
from commonspace.store import tables as t
from commonspace.web.auth import PageSubject, PageWriter
from commonspace.web.deps import DB, reads_only
from commonspace.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_PASTE = 300_000  # characters of pasted text read at once (about 2 s of extraction)
SHOWN_INDICATORS = 500  # existing indicators listed (with a remove box) on the edit page
MAX_FIELD = 100_000  # characters kept of any other text field
_TOO_LONG = f"The text is too long: paste at most {MAX_PASTE:,} characters at a time."

TEXT_FIELDS = (
    *("title", "summary", "category", "threat_level", "first_seen", "last_seen", "loss_amount"),
    *("loss_currency", "tlp", "distribution", "sharing_group", "victim_countries", "victim_sectors"),
    *("tags", "version", "paste"),
)
DISTRIBUTIONS = (
    (Distribution.ORGANISATION, "Organisation: only my organisation"),
    (Distribution.SHARING_GROUP, "Sharing group: the member organisations of one group"),
    (Distribution.COMMUNITY, "Community: every organisation on this instance"),
    (Distribution.CONNECTED_COMMUNITIES, "Connected communities: this instance and those connected to it"),
)


@dataclass(frozen=True)
class FoundRow:
    """A row of the "found in the text" table; ``token`` is what its checkbox submits."""

    type: IndicatorType
    value: str
    canonical: str
    count: int
    checked: bool

    @property
    def token(self) -> str:
        return f"{self.type.value}|{self.value}"


@functools.cache
def _currencies() -> list[tuple[str, str]]:
    return sorted((str(c.alpha_3), str(c.name)) for c in pycountry.currencies)


async def _form(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(_form)]


def _may_create(subject: Subject) -> None:
    if not policy.can_create_report(subject):
        raise Forbidden("Only publishers and administrators of an organisation create reports.")


# --- reading the form ----------------------------------------------------------------------------


def _values(form: FormData, errors: dict[str, str]) -> dict[str, str]:
    values = {}
    for name in TEXT_FIELDS:
        raw = form.get(name)
        values[name] = raw[:MAX_FIELD] if isinstance(raw, str) and name != "paste" else ""
    paste = form.get("paste")
    if isinstance(paste, str) and len(paste) > MAX_PASTE:
        errors["paste"] = _TOO_LONG
    elif isinstance(paste, str):
        values["paste"] = paste
    return values


def _strings(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _instant(text: str, name: str, errors: dict[str, str]) -> datetime | None:
    """A datetime-local value ("2024-05-01T13:45"), read as UTC; an offset, when given, is kept."""
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        errors[name] = f"{text.strip()!r} is not a date and time (YYYY-MM-DD HH:MM, in UTC)"
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _report_data(values: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The report fields of the form as the schemas take them; what cannot even be read goes to errors."""
    data: dict[str, Any] = {
        "title": values["title"].strip(),
        "summary": values["summary"],
        "category": values["category"].strip() or None,
        "threat_level": values["threat_level"] or ThreatLevel.UNDEFINED.value,
        "first_seen": _instant(values["first_seen"], "first_seen", errors),
        "last_seen": _instant(values["last_seen"], "last_seen", errors),
        "victim_countries": _split(values["victim_countries"]),
        "victim_sectors": _split(values["victim_sectors"]),
        "tags": _split(values["tags"]),
        "tlp": values["tlp"] or TLP.AMBER.value,
        "distribution": values["distribution"] or Distribution.ORGANISATION.value,
    }
    # The group select keeps its choice when another distribution is picked: it counts only with its own.
    group = values["sharing_group"].strip()
    data["sharing_group"] = (group or None) if data["distribution"] == Distribution.SHARING_GROUP else None
    amount, currency = values["loss_amount"].strip(), values["loss_currency"].strip()
    if amount and currency:
        data["loss"] = {"amount": amount, "currency": currency}
    elif amount:
        errors["loss_currency"] = "Give the currency of the amount (ISO 4217, e.g. EUR)."
    elif currency:
        errors["loss_amount"] = "Give the amount, or leave the currency empty."
    if "loss" not in data:
        data["loss"] = None
    return data


def _place(loc: tuple[Any, ...] | str | None, message: str) -> str:
    """The form field a message about ``loc`` (a pydantic location or a service's field path) belongs to."""
    parts = [str(p) for p in loc] if isinstance(loc, tuple) else (loc or "").split(".")
    head = parts[0] if parts and parts[0] else ""
    if message.startswith("TLP:"):
        return "tlp"
    if head == "loss":
        return "loss_currency" if "currency" in parts else "loss_amount"
    if head in ("indicators", "found"):
        return "indicators"
    if head in ("", "distribution") and "sharing_group" in message:
        return "sharing_group"
    return head if head in TEXT_FIELDS else "form"


def _message(text: str) -> str:
    return text.removeprefix("Value error, ").replace("sharing_group", "sharing group")


def _add_errors(errors: dict[str, str], exc: ValidationError, prefix: tuple[Any, ...] = ()) -> None:
    for error in exc.errors():
        message = _message(str(error.get("msg", "invalid")))
        errors.setdefault(_place((*prefix, *error.get("loc", ())), message), message)


def _domain_errors(errors: dict[str, str], exc: Invalid | Conflict) -> None:
    message = _message(exc.message)
    errors.setdefault(_place(exc.field, message), message)


# --- the indicators in pasted text ------------------------------------------------------------------


def _rows(paste: str, checked: set[str] | None) -> list[FoundRow]:
    """What the text holds; ``checked`` is the set of submitted tokens, or None for "all of them"."""
    rows = []
    for found in freetext.extract(paste) if paste.strip() else []:
        row = FoundRow(found.type, found.value, found.canonical, found.count, True)
        if checked is not None and row.token not in checked:
            row = FoundRow(row.type, row.value, row.canonical, row.count, False)
        rows.append(row)
    return rows


def _chosen(form: FormData, values: Mapping[str, str]) -> tuple[list[FoundRow], list[str]]:
    """The rows to show again and the tokens to add: the checked boxes once the text was looked at
    ("Find indicators"), everything found in it otherwise."""
    if form.get("found_offered"):
        tokens = list(dict.fromkeys(_strings(form, "found")))
        rows = _rows(values["paste"], set(tokens))
        shown = {row.token for row in rows}
        for token in tokens:  # a box whose value is no longer in the text (edited since) is kept
            type_, _, value = token.partition("|")
            if token not in shown and type_ in {t.value for t in IndicatorType}:
                rows.append(FoundRow(IndicatorType(type_), value, value, 1, True))
        return rows, tokens
    rows = _rows(values["paste"], None)
    return rows, [row.token for row in rows]


def _indicator_items(tokens: list[str], errors: dict[str, str]) -> list[schemas.IndicatorIn]:
    items = []
    for token in tokens:
        type_, _, value = token.partition("|")
        try:
            items.append(schemas.IndicatorIn.model_validate({"type": type_ or None, "value": value}))
        except ValidationError as exc:
            errors.setdefault("indicators", f"{value!r}: " + _message(str(exc.errors()[0].get("msg"))))
    return items


# --- rendering ---------------------------------------------------------------------------------------


def _blank() -> dict[str, str]:
    values = dict.fromkeys(TEXT_FIELDS, "")
    values.update(
        threat_level=ThreatLevel.UNDEFINED.value,
        tlp=TLP.AMBER.value,
        distribution=Distribution.ORGANISATION.value,
    )
    return values


def _local(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if value else ""


def _stored(out: schemas.ReportOut) -> dict[str, str]:
    values = _blank()
    values.update(
        title=out.title,
        summary=out.summary,
        category=out.category or "",
        threat_level=out.threat_level.value,
        first_seen=_local(out.first_seen),
        last_seen=_local(out.last_seen),
        loss_amount=str(out.loss.amount) if out.loss else "",
        loss_currency=out.loss.currency if out.loss else "",
        tlp=out.tlp.value,
        distribution=out.distribution.value,
        sharing_group=out.sharing_group.uuid if out.sharing_group else "",
        victim_countries=", ".join(out.victim_countries),
        victim_sectors=", ".join(out.victim_sectors),
        tags=", ".join(out.tags),
        version=str(out.version),
    )
    return values


def _page(
    request: Request,
    session: Session,
    subject: Subject,
    *,
    report: t.Report | None,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    rows: list[FoundRow] | None = None,
    offered: bool = False,
    remove: set[str] | None = None,
    status: int = 200,
) -> Response:
    groups = [(g.uuid, g.name) for g in sharing.list_groups(session, subject)]
    existing: list[schemas.IndicatorOut] = []
    out = None
    if report is not None:
        out = reports.report_outs(session, [report], subject)[0]
        group = report.sharing_group
        if group is not None and group.uuid not in {uuid for uuid, _ in groups}:
            groups.append((group.uuid, group.name))  # the report's own, even if no longer ours
        page = indicators.list_indicators(session, subject, report.uuid, limit=SHOWN_INDICATORS)
        existing = indicators.indicator_outs(session, page.items)
    return render(
        request,
        "reports/editor.html",
        {
            "nav": "reports",
            "report": out,
            "action": f"/reports/{report.uuid}/edit" if report is not None else "/reports/new",
            "form": values,
            "errors": dict(errors or {}),
            "rows": rows or [],
            "offered": offered,
            "remove": remove or set(),
            "existing": existing,
            "shown_limit": SHOWN_INDICATORS,
            "categories": RSIT,
            "threat_levels": list(ThreatLevel),
            "tlps": list(TLP),
            "distributions": DISTRIBUTIONS,
            "groups": groups,
            "currencies": _currencies(),
            "max_paste": MAX_PASTE,
            "conflict": status == Conflict.status,
        },
        status=status,
    )


# --- the pages ------------------------------------------------------------------------------------------


@router.get("/reports/new")
def new_report_page(request: Request, session: DB, subject: PageSubject) -> Response:
    _may_create(subject)
    return _page(request, session, subject, report=None, values=_blank())


@router.get("/reports/{uuid}/edit")
def edit_report_page(request: Request, uuid: str, session: DB, subject: PageSubject) -> Response:
    report = reports.editable_report(session, subject, uuid)  # 404 unless seen, 403 unless editable
    out = reports.report_outs(session, [report], subject)[0]
    return _page(request, session, subject, report=report, values=_stored(out))


@router.post("/reports/new")
def create_report(request: Request, session: DB, subject: PageWriter, form: Posted) -> Response:
    _may_create(subject)
    errors: dict[str, str] = {}
    values = _values(form, errors)
    data = _report_data(values, errors)
    rows, tokens = _chosen(form, values)
    items = _indicator_items(tokens, errors)
    report_in = None
    try:
        report_in = schemas.ReportIn.model_validate(data)
    except ValidationError as exc:
        _add_errors(errors, exc)
    uuid = None
    if report_in is not None and not errors:
        try:
            with session.begin_nested():  # all or nothing: a refusal rolls back every write below
                report = reports.create_report(session, subject, report_in)
                if items:
                    indicators.add_indicators(session, subject, report, items, field="indicators")
                if form.get("action") == "publish":
                    reports.publish_report(session, subject, report.uuid)
                uuid = report.uuid
        except (Invalid, Conflict) as exc:
            _domain_errors(errors, exc)
    if uuid is None:
        offered = bool(form.get("found_offered"))
        return _page(
            request, session, subject, report=None, values=values, errors=errors, rows=rows,
            offered=offered, status=422,
        )  # fmt: skip
    return RedirectResponse(f"/reports/{uuid}", status_code=303)


@router.post("/reports/{uuid}/edit")
def update_report(request: Request, uuid: str, session: DB, subject: PageWriter, form: Posted) -> Response:
    report = reports.editable_report(session, subject, uuid)
    errors: dict[str, str] = {}
    values = _values(form, errors)
    data = _report_data(values, errors)
    version: int | None = None
    if values["version"].strip():
        try:
            version = int(values["version"])
        except ValueError:
            errors["version"] = "The form is damaged: reload the page."
    rows, tokens = _chosen(form, values)
    items = _indicator_items(tokens, errors)
    # Only the indicators listed on the page can be removed from it, and only those of this report.
    listed = indicators.list_indicators(session, subject, uuid, limit=SHOWN_INDICATORS).items
    remove = set(_strings(form, "remove")) & {row.uuid for row in listed}
    patch = None
    try:
        patch = schemas.ReportPatch.model_validate({**data, "version": version})
    except ValidationError as exc:
        _add_errors(errors, exc)
    status = 422
    if patch is not None and not errors:
        try:
            with session.begin_nested():  # all or nothing: a refusal rolls back every write below
                reports.update_report(session, subject, uuid, patch)
                for indicator in sorted(remove):
                    indicators.delete_indicator(session, subject, indicator)
                if items:
                    indicators.add_indicators(session, subject, report, items, field="indicators")
                if form.get("action") == "publish":
                    reports.publish_report(session, subject, uuid)
            return RedirectResponse(f"/reports/{uuid}", status_code=303)
        except (Invalid, Conflict) as exc:
            _domain_errors(errors, exc)
            status = exc.status
    session.expire_all()  # what the savepoint had changed is gone: show the report as it is stored
    return _page(
        request, session, subject, report=reports.editable_report(session, subject, uuid), values=values,
        errors=errors, rows=rows, offered=bool(form.get("found_offered")), remove=remove, status=status,
    )  # fmt: skip


# --- htmx partials ----------------------------------------------------------------------------------------


@router.post("/reports/preview-summary")
@reads_only
def preview_summary(
    request: Request, session: DB, subject: PageWriter, summary: Annotated[str, Form()] = ""
) -> Response:
    """The summary as it will be shown: Markdown rendered and sanitised (the ``markdown`` filter)."""
    _may_create(subject)  # editors only: the previews serve the editor, and extraction costs CPU
    return render(request, "reports/editor_summary_preview.html", {"summary": summary[:MAX_FIELD]})


@router.post("/reports/indicators/preview")
@reads_only
def preview_indicators(
    request: Request, session: DB, subject: PageWriter, paste: Annotated[str, Form()] = ""
) -> Response:
    """The table of the indicators found in the pasted text, each with a checked box."""
    _may_create(subject)
    errors = {}
    if len(paste) > MAX_PASTE:
        errors["paste"] = _TOO_LONG
        paste = ""
    return render(
        request,
        "reports/editor_found.html",
        {"rows": _rows(paste, None), "offered": True, "errors": errors, "looked": True},
    )
