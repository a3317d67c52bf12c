"""What the detection-rule writers share: the indicators of an Exchange meant for detection, and clean text.

Every writer (``rules``, ``suricata``) reads the same selection: indicators whose ``to_detect`` is true,
typed and canonical (a value that does not pass ``commonspace.domain.canonical`` is left out, never
written), each (type, canonical value) once, in the order of the Exchange (reports in order, indicators in
order), so that the same Exchange always gives the same file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from commonspace.domain import canonical
from commonspace.domain.vocab import IndicatorType
from commonspace.formats.model import Exchange, IndicatorItem, ReportItem

# Control, format (bidirectional overrides among them), private, unassigned and separator characters:
# none of them belongs in a one-line message, and a right-to-left override could disguise one.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
_SPACES = re.compile(r" {2,}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")


@dataclass(frozen=True)
class Detectable:
    """One indicator to detect: its type and canonical value, and the report and item it came from."""

    type: IndicatorType
    value: str
    report: ReportItem
    item: IndicatorItem


def detectable(exchange: Exchange, types: Iterable[IndicatorType] | None = None) -> list[Detectable]:
    """The indicators of ``exchange`` to detect (``to_detect`` true), canonical, each once, in order.

    ``types`` keeps only those types. An item without a type is typed by detection; one whose value the
    canonicaliser refuses is left out.
    """
    wanted = None if types is None else frozenset(types)
    seen: set[tuple[IndicatorType, str]] = set()
    found: list[Detectable] = []
    for report in exchange.reports:
        for item in report.indicators:
            if not item.to_detect:
                continue
            typed = _canonical(item)
            if typed is None or typed in seen or (wanted is not None and typed[0] not in wanted):
                continue
            seen.add(typed)
            found.append(Detectable(typed[0], typed[1], report, item))
    return found


def _canonical(item: IndicatorItem) -> tuple[IndicatorType, str] | None:
    if item.type is None:
        return canonical.detect(item.value)
    try:
        return item.type, canonical.canonicalize(item.type, item.value)
    except canonical.InvalidIndicator:
        return None


def clean_text(text: str, limit: int = 120) -> str:
    """``text`` on one line: every control, format or separator character becomes a space, runs of
    spaces become one, and the result is cut to ``limit`` characters (ending with "...")."""
    chars = [" " if unicodedata.category(c) in _UNPRINTABLE else c for c in text]
    line = _SPACES.sub(" ", "".join(chars)).strip()
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def safe_uuid(value: str | None) -> str | None:
    """``value`` when it is a UUID (so it may stand in a file unquoted), else None."""
    return value.lower() if value and _UUID.fullmatch(value) else None


def basename(filename: str) -> str:
    """The last part of a Windows or POSIX path: what network sensors see as a file's name."""
    return re.split(r"[\\/]", filename)[-1]
