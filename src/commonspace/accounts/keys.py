"""API keys: random, shown once, stored as a SHA-256 digest.

A key has 256 bits of entropy, so a fast digest is safe (no password stretching is needed) and lets every
request find its key with one index lookup.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "cs_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters, stored in clear so that a member can tell their keys apart."""
    return key[: len(KEY_PREFIX) + 6]
