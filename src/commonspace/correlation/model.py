"""What correlation answers with: the links, the values asked about, the reports they link to."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from commonspace.domain.vocab import IndicatorType
from commonspace.store import tables as t

LIMIT_VARIABLE = "COMMONSPACE_CORRELATION_LIMIT"
DEFAULT_LIMIT = 50
MAX_MATCHES = 20  # their values listed under one report, per value of ours


class Link(StrEnum):
    EQUAL = "equal"
    CONTAINS = "contains"
    CONTAINED_IN = "contained-in"
    SUBDOMAIN = "subdomain"
    PARENT_DOMAIN = "parent-domain"


def over_correlation_limit() -> int:
    """The over-correlation limit: ``COMMONSPACE_CORRELATION_LIMIT``, or 50 reports."""
    raw = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{LIMIT_VARIABLE} must be a whole number of reports, 1 or more, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Value:
    """A value whose correlations are asked for: one of a report's indicators, or a value given."""

    type: IndicatorType
    canonical: str
    host_key: str | None = None
    indicator: str | None = None  # the UUID of the indicator, when it is one


class Match(NamedTuple):
    """A value of another report linked to ours, and how."""

    kind: Link
    type: str
    value: str
    indicator: str  # its UUID
    id: int


class ReportRef(NamedTuple):
    """What correlations show of another report."""

    id: int
    uuid: str
    title: str
    tlp: str
    status: str
    org_id: int
    organisation: t.Organisation


@dataclass
class Correlated:
    """Another report linked to a value: the first ``MAX_MATCHES`` of its values that link (by the
    order they were added), and whether it has more."""

    report: ReportRef
    matches: list[Match]
    more_matches: bool


@dataclass(frozen=True)
class Correlation:
    value: Value
    over_correlating: bool  # linked to more than ``limit`` other reports: they are not listed
    reports: list[Correlated]  # newest first; empty when over-correlating


@dataclass(frozen=True)
class CorrelationPage:
    items: list[Correlation]  # the values of the page that correlate, in the order they were added
    next_cursor: str | None
    limit: int
