"""Warninglists: lists of known-benign values, and which of them an indicator is on.

A warninglist names values that are usually false positives when shared as indicators: reserved and
private address ranges, public DNS resolvers, cloud and CDN ranges, the most visited sites, the hashes
of empty files. The format is MISP's (https://github.com/MISP/misp-warninglists): a JSON object with
``name``, ``type``, ``list``, ``matching_attributes``, ``description``, ``version`` and ``category``.
:func:`load_directory` reads a folder of them (``<id>.json`` files, or MISP's ``lists/<id>/list.json``);
:func:`builtin_lists` gives the reserved ranges and names without any file; :class:`WarningLists` answers
:meth:`WarningLists.check` for many indicators quickly.

How a canonical indicator value is compared with the entries of a list, by the list's ``type``:

``cidr``
    The IP address lies in a listed network; a network indicator (``ipv4-cidr``, ``ipv6-cidr``) is on the
    list when it lies *within* a listed network (10.1.0.0/16 is in 10.0.0.0/8), not when it merely
    overlaps or contains one: 8.0.0.0/8 holds Google's resolver but is not a list of public resolvers.
    This is MISP's rule. An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is also checked as IPv4.
    Entries without a prefix length are single addresses; host bits after the prefix are ignored.
``hostname``
    The host equals a listed name or is a subdomain of it, on label boundaries (``www.example.com`` is
    under ``example.com``; ``notexample.com`` is not). The host of a domain is the domain, of a URL the
    host of its authority, of an e-mail address its domain; an IP address (or a URL with an IP host)
    must equal an entry. Entries are compared in lower case without leading or trailing dots (as MISP
    does), so ``.example.com`` and ``example.com`` mean the same.
``string``
    The canonical value equals an entry. Domains and hashes are compared case-insensitively (the TLD
    list is in upper case); other types exactly. As in MISP, the whole value is compared: a URL is only
    on a ``string`` list that holds that URL, and an entry written ``.example.com`` matches nothing.
``substring``
    An entry occurs anywhere in the canonical value, case-insensitively (``0-mail.com`` is in
    ``x@10-mail.com`` too: that is what the type means).
``regex``
    A Python :mod:`re` search (not a full match, as PHP's ``preg_match``) with the pattern written the
    PHP way, ``/pattern/flags``; the flags ``i``, ``m``, ``s``, ``x`` and ``A`` are honoured, ``g``, ``u``
    and ``D`` ignored. An entry that does not compile is skipped and listed in :attr:`WarningList.problems`,
    like a ``cidr`` entry that is not a network.

``matching_attributes`` holds MISP attribute types; a list applies to an indicator type when it names
one of the MISP types of :data:`MISP_ATTRIBUTE_TYPES` (or names none: then it applies to all). A list
type that cannot hold the indicator's type never applies (``cidr`` lists only apply to addresses and
networks; ``hostname`` lists to domains, URLs, e-mail addresses and addresses).
"""

from __future__ import annotations

from commonspace.engine.warninglists.builtin import builtin_lists
from commonspace.engine.warninglists.index import WarningLists
from commonspace.engine.warninglists.load import load_directory, load_warninglist, parse_warninglist
from commonspace.engine.warninglists.model import ListType, WarningList, WarningListError
from commonspace.engine.warninglists.types import MISP_ATTRIBUTE_TYPES

__all__ = [
    "MISP_ATTRIBUTE_TYPES",
    "ListType",
    "WarningList",
    "WarningListError",
    "WarningLists",
    "builtin_lists",
    "load_directory",
    "load_warninglist",
    "parse_warninglist",
]
