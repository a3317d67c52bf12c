"""The application factory: one FastAPI app serving the pages, the REST API under /api/v1, TAXII 2.1 under
/taxii2/."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

import commonspace
from commonspace.accounts import api as accounts_api
from commonspace.accounts import pages as accounts_pages
from commonspace.audit import api as audit_api
from commonspace.audit import pages as audit_pages
from commonspace.correlation import api as correlation_api
from commonspace.correlation.service import over_correlation_limit
from commonspace.exchange import api as exchange_api
from commonspace.exchange import pages as exchange_pages
from commonspace.forum import api as forum_api
from commonspace.forum import pages as forum_pages
from commonspace.jobs import api as jobs_api
from commonspace.jobs.runner import Handler, start_background_workers
from commonspace.matching import api as matching_api
from commonspace.matching import background as matching_jobs
from commonspace.reports import api as reports_api
from commonspace.reports import background
from commonspace.reports import editor as reports_editor
from commonspace.reports import pages as reports_pages
from commonspace.sharing import api as sharing_api
from commonspace.sharing import pages as sharing_pages
from commonspace.store.db import make_engine, session_factory
from commonspace.taxii import api as taxii_api
from commonspace.web import dashboard, errors, signin
from commonspace.web.security import SecurityHeaders
from commonspace.web.templating import HERE

API_PREFIX = "/api/v1"


def job_handlers() -> Mapping[str, Handler]:
    """Every kind of background job this instance runs, by name."""
    return {background.KIND: background.run_import, matching_jobs.KIND: matching_jobs.run_match}


def create_app(engine: Engine | None = None, *, workers: int = 0) -> FastAPI:
    """The app over ``engine`` (default: the configured database), with ``workers`` job threads."""
    engine = engine or make_engine()
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threads = (
            start_background_workers(app.state.write_sessions, job_handlers(), workers, stop)
            if workers
            else []
        )
        yield
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    app = FastAPI(
        title="Commonspace",
        version=commonspace.__version__,
        description="Share cyber-threat intelligence across organisations and borders, under exact control.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.write_sessions = session_factory(engine, writer=True)
    errors.install(app)
    over_correlation_limit()  # a wrong COMMONSPACE_CORRELATION_LIMIT stops the app before it serves
    matching_jobs.upload_limit()  # and so does a wrong COMMONSPACE_MATCH_UPLOAD_LIMIT
    for module in (
        accounts_api,
        sharing_api,
        reports_api,
        correlation_api,
        forum_api,
        exchange_api,
        matching_api,
        audit_api,
        jobs_api,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(taxii_api.router)  # TAXII 2.1 under /taxii2/, outside the REST API's OpenAPI

    app.add_middleware(SecurityHeaders, exempt=(f"{API_PREFIX}/docs",))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        signin,
        dashboard,
        accounts_pages,
        sharing_pages,
        audit_pages,
        reports_pages,
        forum_pages,
        reports_editor,
        exchange_pages,
    ):
        app.include_router(module.router)
    return app
