"""One warninglist (:class:`WarningList`), its list types, and the error of a list that cannot be used."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from commonspace.domain.vocab import IndicatorType
from commonspace.engine.warninglists.entries import Network, compile_pattern, parse_network
from commonspace.engine.warninglists.types import ADDRESSES, MISP_ATTRIBUTE_TYPES

T = IndicatorType

BUILTIN_SOURCE = "built-in"


class ListType(StrEnum):
    STRING = "string"
    SUBSTRING = "substring"
    HOSTNAME = "hostname"
    CIDR = "cidr"
    REGEX = "regex"


CATEGORIES = frozenset({"false_positive", "known"})  # MISP's; a list without one is "false_positive"


class WarningListError(ValueError):
    """A warninglist that cannot be used: ``source`` names the file (or "built-in"), ``reason`` says why."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    def __reduce__(self) -> tuple[type[WarningListError], tuple[str, str]]:
        return (WarningListError, (self.source, self.reason))


_KIND_TYPES: Mapping[ListType, frozenset[IndicatorType]] = {
    ListType.CIDR: ADDRESSES,
    ListType.HOSTNAME: frozenset({T.DOMAIN, T.URL, T.EMAIL, T.IPV4, T.IPV6}),
    ListType.STRING: frozenset(IndicatorType),
    ListType.SUBSTRING: frozenset(IndicatorType),
    ListType.REGEX: frozenset(IndicatorType),
}


@dataclass(frozen=True, eq=False)
class WarningList:
    """One warninglist. ``id`` is the file name without ``.json`` (or the folder of a ``list.json``), the
    way MISP's repository names its lists; ``name`` is the name people read, and what checks return.

    Entries that cannot be used (a ``cidr`` entry that is not a network, a ``regex`` entry that does not
    compile) are skipped and described in ``problems``."""

    id: str
    name: str
    type: ListType
    entries: tuple[str, ...] = field(repr=False)
    matching_attributes: tuple[str, ...] = ()
    description: str = ""
    version: int = 1
    category: str = "false_positive"
    source: str = BUILTIN_SOURCE
    problems: tuple[str, ...] = field(init=False, default=(), repr=False)
    networks: tuple[Network, ...] = field(init=False, default=(), repr=False)
    patterns: tuple[re.Pattern[str], ...] = field(init=False, default=(), repr=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.type is ListType.CIDR:
            networks: list[Network] = []
            for entry in self.entries:
                try:
                    networks.append(parse_network(entry))
                except ValueError as exc:
                    problems.append(f"entry {entry!r} skipped: {exc}")
            object.__setattr__(self, "networks", tuple(networks))
        elif self.type is ListType.REGEX:
            patterns: list[re.Pattern[str]] = []
            for entry in self.entries:
                try:
                    patterns.append(compile_pattern(entry))
                except ValueError as exc:
                    problems.append(f"entry {entry!r} skipped: {exc}")
            object.__setattr__(self, "patterns", tuple(patterns))
        object.__setattr__(self, "problems", tuple(problems))

    def applies_to(self, type_: IndicatorType) -> bool:
        """Whether values of this indicator type are checked against this list."""
        if type_ not in _KIND_TYPES[self.type]:
            return False
        if not self.matching_attributes:
            return True
        names = MISP_ATTRIBUTE_TYPES[type_]
        if type_ in ADDRESSES and self.type is not ListType.CIDR:
            names = names - {"domain|ip"}  # only a cidr list can hold the address part of "domain|ip"
        return not names.isdisjoint(self.matching_attributes)
