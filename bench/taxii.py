"""TAXII listing: a collection of published community reports listed page by page by a member of another
organisation, through ``taxii.service.objects`` as the endpoint calls it, one reading transaction a page.

``python -m bench.taxii [--reports 200] [--indicators 50] [--limit 1000] [--database sqlite]``: the
reports (half their indicators addresses, half domains, a third of these not for detection) are made
through the services in a fresh database; then the whole collection is listed three times: the first
page of the first listing finds nothing written yet, the others find what the earlier requests wrote.
Printed: the objects, the pages, the first page and the mean page of each listing, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from sqlalchemy import Engine

from bench import databases
from commonspace.accounts import service as accounts
from commonspace.domain.vocab import TLP, Distribution, OrgKind, Role
from commonspace.policy import Subject
from commonspace.reports import indicators, schemas
from commonspace.reports import service as reports
from commonspace.store.db import session_factory, transaction
from commonspace.taxii import service as taxii


def load(engine: Engine, count: int, per_report: int) -> Subject:
    """``count`` published community reports of one organisation; a reader of another, as a Subject."""
    with transaction(session_factory(engine, writer=True)) as session:
        publisher_org = accounts.create_organisation(
            session, None, name="Publisher", kind=OrgKind.GOVERNMENT, country="FR"
        )
        reader_org = accounts.create_organisation(
            session, None, name="Reader", kind=OrgKind.ENTERPRISE, country="DE"
        )
        for email, org, role in (
            ("publisher@bench.example", publisher_org, Role.PUBLISHER),
            ("reader@bench.example", reader_org, Role.READER),
        ):
            accounts.create_member(session, None, email=email, org=org, role=role)
    with transaction(session_factory(engine, writer=True)) as session:
        publisher = accounts.subject_by_email(session, "publisher@bench.example")
        for n in range(count):
            data = schemas.ReportIn(title=f"Report {n}", tlp=TLP.GREEN, distribution=Distribution.COMMUNITY)
            report = reports.create_report(session, publisher, data)
            half = per_report // 2
            items = [schemas.IndicatorIn(value=f"10.{n // 250}.{n % 250}.{i}") for i in range(half)]
            items += [
                schemas.IndicatorIn(value=f"host{i}.report{n}.example", to_detect=i % 3 != 0)
                for i in range(per_report - half)
            ]
            indicators.add_indicators(session, publisher, report, items, audit_it=False)
            reports.publish_report(session, publisher, report.uuid)
    with transaction(session_factory(engine)) as session:
        return accounts.subject_by_email(session, "reader@bench.example")


def listing(engine: Engine, reader: Subject, limit: int) -> dict[str, Any]:
    """The whole community collection, page after page: objects, pages, first and mean page in ms."""
    pages, objects, first, cursor = 0, 0, 0.0, None
    started = time.perf_counter()
    while True:
        page_started = time.perf_counter()
        with transaction(session_factory(engine)) as session:
            page = taxii.objects(session, reader, taxii.COMMUNITY_ID, taxii.Filters(limit=limit, next=cursor))
        if not pages:
            first = time.perf_counter() - page_started
        pages += 1
        objects += len(page.items)
        if not page.more:
            break
        cursor = page.next
    seconds = time.perf_counter() - started
    return {
        "objects": objects,
        "pages": pages,
        "first_page_ms": round(first * 1000, 1),
        "mean_page_ms": round(seconds / pages * 1000, 1),
        "seconds": round(seconds, 3),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.taxii", description=__doc__)
    p.add_argument("--reports", type=int, default=200)
    p.add_argument("--indicators", type=int, default=50, help="per report")
    p.add_argument("--limit", type=int, default=1000, help="objects a page")
    p.add_argument("--listings", type=int, default=3)
    p.add_argument("--database", choices=databases.KINDS, default="sqlite")
    p.add_argument("--postgres-url")
    args = p.parse_args(argv)
    with databases.fresh_database(args.database, postgres_url=args.postgres_url) as engine:
        reader = load(engine, args.reports, args.indicators)
        for n in range(1, args.listings + 1):
            figures = listing(engine, reader, args.limit)
            print(json.dumps({"listing": n, "reports": args.reports, "limit": args.limit, **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
