"""The report pages: the list of reports with filters, one report with its indicators, the indicator search.

Pages build no queries: the services do (reports.service, .indicators, .sightings, .search), and every read
goes through the access policy there. A report the visitor may not see answers with the very not-found
page of a report that does not exist; the report routes only match UUID-shaped paths, so that
``/reports/new`` and the like stay free for other pages whatever the order of the routers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import pycountry
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from commonspace import policy
from commonspace.accounts import service as accounts
from commonspace.correlation import service as correlation
from commonspace.domain import canonical
from commonspace.domain.codes import country_problem
from commonspace.domain.taxonomy import CATEGORIES, RSIT
from commonspace.domain.vocab import TLP, Distribution, IndicatorType, ReportStatus
from commonspace.forum import pages as forum_pages
from commonspace.policy import Subject
from commonspace.reports import indicators, schemas, search, sightings
from commonspace.reports import service as reports
from commonspace.reports.service import ReportQuery, ReportSort, org_ref
from commonspace.sharing import service as sharing
from commonspace.web.auth import PageSubject, PageWriter
from commonspace.web.deps import DB, reads_only
from commonspace.web.templating import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 25
PER_PAGE_CHOICES = (25, 50, 100)
INDICATORS_PER_PAGE = 250
MAX_INDICATORS_PER_PAGE = 1000
MAX_SEARCH_VALUES = 1000
MAX_SEARCH_HITS = 1000
SORTS = (
    (ReportSort.NEWEST, "Newest first"),
    (ReportSort.OLDEST, "Oldest first"),
    (ReportSort.MODIFIED, "Recently modified"),
    (ReportSort.TITLE, "Title A–Z"),
    (ReportSort.PUBLISHED, "Recently published"),
)
REPORT_PATH = "/reports/{uuid:uuid}"  # Starlette's uuid convertor: lower-case UUIDs, as the store makes


def _report_uuid(request: Request) -> str:
    # FastAPI does not see parameters with a convertor; Starlette has put the parsed UUID here.
    return str(request.path_params["uuid"])


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value else default
    except ValueError:
        return default
    return min(max(number, low), high)


@functools.cache
def _countries() -> list[tuple[str, str]]:
    """(code, name) of every ISO 3166-1 country, by name."""
    found = ((str(c.alpha_2), str(getattr(c, "common_name", None) or c.name)) for c in pycountry.countries)
    return sorted(found, key=lambda pair: pair[1])


# --- the list -----------------------------------------------------------------------------------


@dataclass
class Filters:
    """The list's query string read leniently: a filter that makes no sense is left out and explained."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    query: ReportQuery = field(default_factory=ReportQuery)
    sort: ReportSort = ReportSort.NEWEST
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def active(self) -> bool:
        return any(self.values.get(name) for name in FILTER_NAMES)


FILTER_NAMES = ("q", "category", "country", "sector", "tlp", "organisation", "status", "from", "to")


def _day(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = f"{value!r} is not a date (YYYY-MM-DD)"
        return None


def read_filters(params: Mapping[str, str]) -> Filters:
    values = {name: params.get(name, "").strip()[:300] for name in FILTER_NAMES}
    errors: dict[str, str] = {}
    category = values["category"]
    if category and category not in CATEGORIES and category not in RSIT:
        errors["category"] = f"{category!r} is not an incident category"
    country = values["country"] = values["country"].upper()
    if country and (problem := country_problem(country)):
        errors["country"] = problem
    tlp = None
    if values["tlp"]:
        try:
            tlp = TLP(values["tlp"].upper())
        except ValueError:
            errors["tlp"] = f"{values['tlp']!r} is not a TLP marking"
    status = None
    if values["status"]:
        try:
            status = ReportStatus(values["status"])
        except ValueError:
            errors["status"] = f"{values['status']!r} is not a status"
    first = _day(values["from"], "from", errors)
    last = _day(values["to"], "to", errors)
    if first and last and last < first:
        errors["to"] = "the end date is before the start date"
        last = None
    try:
        sort = ReportSort(params.get("sort") or ReportSort.NEWEST)
    except ValueError:
        sort = ReportSort.NEWEST
    values["sort"] = sort.value
    per_page = _int(params.get("per_page"), PER_PAGE, 1, max(PER_PAGE_CHOICES))
    values["per_page"] = str(per_page)
    query = ReportQuery(
        text=values["q"] or None,
        category=category if category and "category" not in errors else None,
        country=country if country and "country" not in errors else None,
        sector=values["sector"] or None,
        tlp=tlp,
        organisation=values["organisation"] or None,
        status=status,
        created_after=datetime(first.year, first.month, first.day, tzinfo=UTC) if first else None,
        created_before=datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        if last
        else None,
    )
    return Filters(values, errors, query, sort, _int(params.get("page"), 1, 1, 1_000_000), per_page)


def _partial(request: Request) -> bool:
    """An htmx request for the results alone (not a history restore, which needs the whole page)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-history-restore-request") != "true"
        and headers.get("hx-target") == "results"
    )


@router.get("/reports")
def report_list(request: Request, session: DB, subject: PageSubject) -> Response:
    filters = read_filters(request.query_params)
    page = reports.page_of_reports(
        session, subject, filters.query, sort=filters.sort, page=filters.page, per_page=filters.per_page
    )
    context: dict[str, Any] = {
        "nav": "reports",
        "page": page,
        "items": reports.report_outs(session, page.items, subject),
        "filters": filters,
        "sort_label": dict(SORTS)[filters.sort],
    }
    if _partial(request):
        response = render(request, "reports/_results.html", context)
    else:
        context.update(
            organisations=[org_ref(o) for o in accounts.list_organisations(session, subject)],
            categories=RSIT,
            countries=_countries(),
            tlps=list(TLP),
            sorts=SORTS,
            per_page_choices=PER_PAGE_CHOICES,
            may_create=policy.can_create_report(subject),
        )
        response = render(request, "reports/list.html", context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


# --- one report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedWith:
    """Who the report reaches, for saying it in words; ``members`` is None when the visitor may not see
    the sharing group (then only its name is shown)."""

    distribution: Distribution
    group: schemas.GroupRef | None
    members: list[schemas.OrgRef] | None


@dataclass(frozen=True)
class IndicatorRow:
    indicator: schemas.IndicatorOut
    tally: sightings.Tally


@router.get(REPORT_PATH)
def report_page(request: Request, session: DB, subject: PageSubject) -> Response:
    uuid = _report_uuid(request)
    report = reports.get_report(session, subject, uuid, audit_read=False)  # list_indicators audits the read
    limit = _int(request.query_params.get("limit"), INDICATORS_PER_PAGE, 1, MAX_INDICATORS_PER_PAGE)
    start = _int(request.query_params.get("start"), 0, 0, 10**9)
    cursor = request.query_params.get("cursor") or None
    found = indicators.list_indicators(session, subject, uuid, limit=limit, cursor=cursor)
    tallies = sightings.indicator_tallies(session, subject, report, [i.id for i in found.items])
    rows = [
        IndicatorRow(out, tallies.get(row.id, sightings.Tally()))
        for row, out in zip(found.items, indicators.indicator_outs(session, found.items), strict=True)
    ]
    out = reports.report_outs(session, [report], subject)[0]
    group = report.sharing_group
    members = None
    in_group = report.distribution == Distribution.SHARING_GROUP.value
    if in_group and group is not None and policy.can_see_group(subject, group.id):
        members = [org_ref(o) for o in sharing.member_organisations(session, group)]
    return render(
        request,
        "reports/report.html",
        {
            "nav": "reports",
            "report": out,
            "shared": SharedWith(out.distribution, out.sharing_group, members),
            "can_edit": policy.can_edit_report(subject, report),
            "rows": rows,
            "start": start if cursor else 0,
            "limit": limit,
            "next_cursor": found.next_cursor,
            "by_org": sightings.report_tallies(session, subject, report),
            "warninglisted": indicators.warninglisted_count(session, subject, report),
            "correlated": correlation.overview(session, subject, report),
            "thread": forum_pages.report_thread(
                session, subject, report, cursor=request.query_params.get("posts_after") or None
            ),
            "sees_all_sightings": subject.is_site_admin or report.org_id == subject.org_id,
        },
    )


@router.post(REPORT_PATH + "/publish")
def publish_report(request: Request, session: DB, subject: PageWriter) -> Response:
    uuid = _report_uuid(request)
    reports.publish_report(session, subject, uuid)
    return RedirectResponse(f"/reports/{uuid}", status_code=303)


@router.post(REPORT_PATH + "/delete")
def delete_report(request: Request, session: DB, subject: PageWriter) -> Response:
    reports.delete_report(session, subject, _report_uuid(request))
    return RedirectResponse("/reports", status_code=303)


# --- the indicator search -----------------------------------------------------------------------

_SEPARATORS = re.compile(r"[,;]+")


def split_values(text: str, *, by_line: bool = False) -> list[str]:
    """The values of a pasted list, each once, in order: one a line, or separated by spaces, commas or
    semicolons. URLs (defanged ones included) are not cut at their commas; with ``by_line`` (file names,
    which may hold spaces and commas) only lines separate values."""
    if by_line:
        tokens = [line.strip() for line in text.splitlines()]
    else:
        tokens = []
        for word in text.split():
            if "://" in canonical.refang(word):
                tokens.append(word.strip(",;"))
            else:
                tokens.extend(_SEPARATORS.split(word))
    return list(dict.fromkeys(token for token in tokens if token))


@dataclass(frozen=True)
class SearchRow:
    indicator: schemas.IndicatorOut
    hit: search.Hit


def _search(
    request: Request, session: Session, subject: Subject, text: str, type_: str, *, searched: bool
) -> Response:
    errors: dict[str, str] = {}
    types: list[IndicatorType] = []
    if type_:
        try:
            types = [IndicatorType(type_)]
        except ValueError:
            errors["type"] = f"{type_!r} is not an indicator type"
    file_names = types == [IndicatorType.FILENAME]  # then any value may be one: none is "not an indicator"
    values = split_values(text, by_line=file_names)
    if searched and not values:
        errors["values"] = "Give at least one value to look for."
    elif len(values) > MAX_SEARCH_VALUES:
        errors["values"] = (
            f"A search takes at most {MAX_SEARCH_VALUES:,} values and this list has {len(values):,}. "
            "Split it and search each part."
        )
    context: dict[str, Any] = {
        "nav": "search",
        "text": text,
        "type": type_,
        "types": list(IndicatorType),
        "errors": errors,
        "result": None,
        "max_values": MAX_SEARCH_VALUES,
        "max_hits": MAX_SEARCH_HITS,
    }
    if searched and not errors:
        result = search.search_values(session, subject, values, types=types, limit=MAX_SEARCH_HITS)
        hits = {h.indicator.id: h for found in result.values for h in found.hits}
        outs = dict(
            zip(hits, indicators.indicator_outs(session, [h.indicator for h in hits.values()]), strict=True)
        )
        context.update(
            result=result,
            rows={
                found.value: [SearchRow(outs[h.indicator.id], h) for h in found.hits]
                for found in result.values
            },
            with_hits=[found for found in result.values if found.hits],
            no_hits=[v for v in result.values if not v.hits and (v.type or file_names)],
            not_indicators=[v for v in result.values if not v.hits and not v.type and not file_names],
        )
    return render(request, "reports/search.html", context, status=422 if errors else 200)


@router.get("/search")
def search_page(request: Request, session: DB, subject: PageSubject, q: str = "", type: str = "") -> Response:
    """The search form; ``?q=`` searches at once (for links to a search: a pasted list is POSTed)."""
    return _search(request, session, subject, q, type, searched=bool(q.strip()))


@router.post("/search")
@reads_only
def search_form(
    request: Request,
    session: DB,
    subject: PageWriter,
    values: Annotated[str, Form(max_length=4_000_000)] = "",
    type: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    return _search(request, session, subject, values, type, searched=True)
