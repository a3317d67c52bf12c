"""Country and currency codes, checked against ISO 3166-1 and ISO 4217 (via pycountry)."""

from __future__ import annotations

import pycountry


def country_problem(code: str) -> str | None:
    """Why ``code`` is not an ISO 3166-1 alpha-2 country code, or None when it is one."""
    if len(code) != 2 or not code.isalpha() or not code.isupper():
        return f"{code!r} is not an ISO 3166-1 alpha-2 code (two upper-case letters, e.g. FR)"
    if pycountry.countries.get(alpha_2=code) is None:
        return f"{code!r} is not an ISO 3166-1 country"
    return None


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country is not None else code


def currency_problem(code: str) -> str | None:
    """Why ``code`` is not an ISO 4217 currency code, or None when it is one."""
    if len(code) != 3 or not code.isalpha() or not code.isupper():
        return f"{code!r} is not an ISO 4217 code (three upper-case letters, e.g. EUR)"
    if pycountry.currencies.get(alpha_3=code) is None:
        return f"{code!r} is not an ISO 4217 currency"
    return None
