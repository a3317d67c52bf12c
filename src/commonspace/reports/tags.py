"""Tags: namespaced (``tlp:amber``, ``rsit:fraud="phishing"``) or free, shared by reports and indicators."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from commonspace.store import tables as t


def normalise(name: str) -> str:
    """Namespaces are case-insensitive (``TLP:AMBER`` is ``tlp:AMBER``); values keep their case."""
    name = name.strip()
    namespace, sep, rest = name.partition(":")
    if sep and namespace and " " not in namespace:
        return namespace.lower() + ":" + rest
    return name


def tag_ids(session: Session, names: Iterable[str]) -> dict[str, int]:
    """The ids of these tags, creating the missing ones."""
    wanted = {normalise(n) for n in names if n.strip()}
    if not wanted:
        return {}
    found = dict(session.execute(select(t.Tag.name, t.Tag.id).where(t.Tag.name.in_(sorted(wanted)))).all())
    for name in sorted(wanted - found.keys()):
        tag = t.Tag(name=name)
        session.add(tag)
        session.flush()
        found[name] = tag.id
    return found


def set_report_tags(session: Session, report_id: int, names: Iterable[str]) -> None:
    ids = tag_ids(session, names)
    session.execute(delete(t.ReportTag).where(t.ReportTag.report_id == report_id))
    session.add_all(t.ReportTag(report_id=report_id, tag_id=i) for i in sorted(set(ids.values())))


def set_indicator_tags(session: Session, indicator_id: int, names: Iterable[str]) -> None:
    ids = tag_ids(session, names)
    session.execute(delete(t.IndicatorTag).where(t.IndicatorTag.indicator_id == indicator_id))
    session.add_all(t.IndicatorTag(indicator_id=indicator_id, tag_id=i) for i in sorted(set(ids.values())))


def report_tags(session: Session, report_ids: Iterable[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    ids = sorted(set(report_ids))
    if ids:
        rows = session.execute(
            select(t.ReportTag.report_id, t.Tag.name)
            .join(t.Tag, t.Tag.id == t.ReportTag.tag_id)
            .where(t.ReportTag.report_id.in_(ids))
            .order_by(t.Tag.name)
        )
        for report_id, name in rows:
            out[report_id].append(name)
    return out


def indicator_tags(session: Session, indicator_ids: Iterable[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    ids = sorted(set(indicator_ids))
    for start in range(0, len(ids), 10_000):
        rows = session.execute(
            select(t.IndicatorTag.indicator_id, t.Tag.name)
            .join(t.Tag, t.Tag.id == t.IndicatorTag.tag_id)
            .where(t.IndicatorTag.indicator_id.in_(ids[start : start + 10_000]))
            .order_by(t.Tag.name)
        )
        for indicator_id, name in rows:
            out[indicator_id].append(name)
    return out
