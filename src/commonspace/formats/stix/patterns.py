"""STIX patterns: the values of ours a pattern compares for equality, and the pattern of one value.

The fast path reads observation expressions of equality comparisons on the paths of our types, joined by
AND or OR within and across brackets, with regular expressions. Anything else goes to the stix2-patterns
library, imported on first need.
"""

from __future__ import annotations

import re

from commonspace.domain.vocab import IndicatorType
from commonspace.formats.stix.observables import HASH_KEYS, VALUE_OBJECT, as_number, comparison_type

T = IndicatorType

_CHARS = r"(?:[^'\\]|\\['\\])*"  # the inside of a quoted string, where only ' and \ are escaped
_STRING = f"'{_CHARS}'"
_STRING_PATHS = (
    r"(?:ipv4-addr|ipv6-addr|domain-name|url|email-addr):value|email-message:(?:from|sender)_ref\.value"
    r"|file:name|file:hashes\.(?i:'(?:MD5|SHA-?1|SHA-?256|SHA-?512)'|MD5|SHA1|SHA256|SHA512)"
)
_COMPARISON = rf"(?:{_STRING_PATHS})\s*=\s*{_STRING}|autonomous-system:number\s*=\s*[0-9]+"
_OBSERVATION = rf"\[\s*(?:{_COMPARISON})(?:\s+(?:AND|OR)\s+(?:{_COMPARISON}))*\s*\]"
_FAST_PATTERN = re.compile(rf"\s*{_OBSERVATION}(?:\s+(?:AND|OR)\s+{_OBSERVATION})*\s*")
_FAST_COMPARISON = re.compile(
    rf"(?P<path>{_STRING_PATHS})\s*=\s*'(?P<value>{_CHARS})'"
    r"|autonomous-system:number\s*=\s*(?P<number>[0-9]+)"
)
_LITERAL = re.compile(f"'({_CHARS})'")
_ESCAPED = re.compile(r"\\(['\\])")


class Unreadable(Exception):
    """A pattern neither the fast path nor stix2-patterns can read."""


def _unescape(text: str) -> str:
    return _ESCAPED.sub(r"\1", text) if "\\" in text else text


def read_pattern(pattern: str) -> list[tuple[IndicatorType, str]]:
    """The values of our types a STIX pattern compares for equality, in order; raises Unreadable."""
    if _FAST_PATTERN.fullmatch(pattern):
        found: list[tuple[IndicatorType, str]] = []
        for m in _FAST_COMPARISON.finditer(pattern):
            if m.group("number") is not None:
                found.append((T.ASN, f"AS{int(m.group('number'))}"))
                continue
            object_type, _, path = m.group("path").partition(":")
            value = _unescape(m.group("value"))
            type_ = comparison_type(object_type, path.split("."), value)
            if type_ is not None:
                found.append((type_, value))
        return found
    return _read_pattern_slowly(pattern)


def _read_pattern_slowly(pattern: str) -> list[tuple[IndicatorType, str]]:
    from stix2patterns.v21.pattern import Pattern  # imported on first need: it loads an ANTLR parser

    try:
        comparisons = Pattern(pattern).inspect().comparisons
    except Exception as exc:  # ParseException, and whatever else the generated parser raises
        raise Unreadable(str(exc) or type(exc).__name__) from None
    found: list[tuple[IndicatorType, str]] = []
    for object_type, entries in comparisons.items():
        for path, op, literal in entries:
            path = [str(p) for p in path]
            if op == "=":
                values = [literal]
            elif op == "IN" and isinstance(literal, str):
                values = [f"'{v}'" for v in _LITERAL.findall(literal)] or literal.strip("()").split(",")
            else:
                continue
            for text in values:
                text = str(text).strip()
                if text.startswith("'") and text.endswith("'") and len(text) >= 2:
                    value = _unescape(text[1:-1])
                elif text.isdigit():
                    value = text
                else:
                    continue
                type_ = comparison_type(str(object_type), path, value)
                if type_ is T.ASN:
                    if not value.isdigit():
                        continue
                    value = f"AS{int(value)}"
                if type_ is not None:
                    found.append((type_, value))
    return found


def stix_pattern(type_: IndicatorType, value: str) -> str:
    """The STIX pattern of one value of ours (quotes and backslashes escaped)."""
    if type_ is T.ASN:
        return f"[autonomous-system:number = {as_number(value)}]"
    literal = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if type_ in HASH_KEYS:
        return f"[file:hashes.'{HASH_KEYS[type_]}' = {literal}]"
    path = "file:name" if type_ is T.FILENAME else f"{VALUE_OBJECT[type_]}:value"
    return f"[{path} = {literal}]"
