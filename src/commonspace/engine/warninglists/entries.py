"""The entries of a list: a ``cidr`` entry as a network, a ``regex`` entry as a pattern, the keys of
``hostname`` entries and the lower-case form of keys."""

from __future__ import annotations

import re
import socket
import warnings

Network = tuple[int, int, int]  # (IP version, network as an integer, prefix length)


def parse_network(text: str) -> Network:
    """An entry of a ``cidr`` list; raises ValueError with a reason."""
    address, slash, prefix = text.partition("/")
    family, width = (socket.AF_INET6, 128) if ":" in address else (socket.AF_INET, 32)
    try:
        packed = socket.inet_pton(family, address)
    except (OSError, ValueError):
        raise ValueError(f"{address!r} is not an IPv{4 if width == 32 else 6} address") from None
    if slash and not (prefix.isascii() and prefix.isdigit() and int(prefix) <= width):
        raise ValueError(f"prefix length {prefix!r} is not a number from 0 to {width}")
    length = int(prefix) if slash else width
    mask = ((1 << width) - 1) ^ ((1 << (width - length)) - 1)
    return (4 if width == 32 else 6, int.from_bytes(packed, "big") & mask, length)


_PATTERN_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_IGNORED_FLAGS = frozenset("guD")  # "g" is JavaScript's (meaningless for a search), "u" Python's default
_CLOSING = {"(": ")", "[": "]", "{": "}", "<": ">"}


def compile_pattern(text: str) -> re.Pattern[str]:
    """A PHP-style ``/pattern/flags`` entry of a ``regex`` list; raises ValueError with a reason."""
    opening = text[:1]
    if not opening or opening.isalnum() or opening == "\\" or opening.isspace():
        raise ValueError("a pattern must be written between delimiters, as in /pattern/flags")
    end = text.rfind(_CLOSING.get(opening, opening))
    if end <= 0:
        raise ValueError(f"the closing delimiter {_CLOSING.get(opening, opening)!r} is missing")
    body, modifiers = text[1:end], text[end + 1 :]
    flags = 0
    for modifier in modifiers:
        if modifier in _PATTERN_FLAGS:
            flags |= _PATTERN_FLAGS[modifier]
        elif modifier == "A":
            body = rf"\A(?:{body})"
        elif modifier not in _IGNORED_FLAGS:
            raise ValueError(f"unsupported modifier {modifier!r}")
    try:
        with warnings.catch_warnings():  # FutureWarning on "[[": the pattern still means what it says
            warnings.simplefilter("ignore")
            return re.compile(body, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"does not compile ({exc})") from None


def hostname_key(entry: str) -> str:
    key = lower(entry).strip(".")
    return key[2:] if key.startswith("*.") else key


def lower(text: str) -> str:
    """``text.lower()``, but ``text`` itself when already in lower case: half a million keys share it."""
    lowered = text.lower()
    return text if lowered == text else lowered
