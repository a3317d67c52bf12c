"""The MISP core format in and out: events, search results and feeds, read into and written from an Exchange.

Reading
-------
:func:`parse_misp` reads one file holding a single event (``{"Event": {…}}``, or the event's own fields
with ``info`` as PyMISP writes them), a search result (``{"response": [{"Event": …}, …]}``) or a bare
list of ``{"Event": …}``. :func:`parse_misp_feed` reads a MISP feed: a folder with ``manifest.json``,
which lists the events by uuid, and one ``<uuid>.json`` file per event.

An event is a report: ``info`` is its title, ``date`` its creation time (``timestamp`` when there is no
date) and ``timestamp`` its last change, ``published`` says whether it is published (not when absent),
``threat_level_id`` 1 to 4 is high, medium, low or undefined, ``distribution`` 0 to 4 is organisation,
community, connected-communities, community (MISP's "all communities") or sharing-group, the latter named
by the ``SharingGroup``'s name (its uuid when it has no name). Of the event's tags, ``tlp:*`` give the
TLP (the most restrictive when several do; ``tlp:white`` is CLEAR), the first valid ``rsit:class="type"``
gives the category, and the others are kept as tags. ``Orgc`` is the author, the event uuid the report's
source id, and the event reports (``EventReport``, Markdown) make the summary.

Every attribute of the event and of its objects that is not deleted is read, with its uuid as source id,
``to_ids`` as the to-detect flag (true when absent), its comment, first and last seen times, last change
and tags; an object attribute has the relation ``<object name>/<object relation>``:

======================================================  ============================================
MISP type                                               indicators
======================================================  ============================================
``ip-src``, ``ip-dst``                                  ``ipv4``, ``ipv6``, ``ipv4-cidr``, ``ipv6-cidr``
``ip-src|port``, ``ip-dst|port``                        the address (the port is dropped)
``domain``, ``hostname``; ``hostname|port``             ``domain``; the host (the port is dropped)
``domain|ip``                                           ``domain`` and the address: two indicators
``url``; ``uri`` with a scheme and a host               ``url``
``email``, ``email-src``, ``-dst``, ``-reply-to``       ``email``
``md5``, ``sha1``, ``sha256``, ``sha512``               the same
``filename``                                            ``filename``
``filename|md5`` (``|sha1``, ``|sha256``, ``|sha512``)  ``filename`` and the hash: two indicators
``malware-sample``                                      ``filename`` and ``md5`` (not the sample)
``AS``                                                  ``asn``
======================================================  ============================================

Each value passes through ``commonspace.domain.canonical``: a value it refuses is a :class:`Problem`.
Attributes of every other type (``link``, ``text``, ``regkey``, ``ssdeep``, ``imphash``, a ``uri`` that is
only a path…) are no problem: each becomes a line of the report's notes, ``type: value (comment)``, or
``type (object/relation): value (comment)`` for an object attribute. A ``link`` is among them on purpose:
it points at an analysis (a blog post, a sandbox report), it is not an observable of the attack. Sightings
and proposals (``ShadowAttribute``) are not imported; when present, one note line says how many there were.

Writing
-------
:func:`to_misp` gives one ``{"Event": {…}}`` per report, :func:`to_misp_bytes` the file: the single event
when there is one report, ``{"response": [...]}`` otherwise. Indicators become attributes:

================================================  ==============  ================
our type                                          MISP type       category
================================================  ==============  ================
``ipv4``, ``ipv6``, ``ipv4-cidr``, ``ipv6-cidr``  ``ip-dst``      Network activity
``domain``                                        ``domain``      Network activity
``url``                                           ``url``         Network activity
``email``                                         ``email-src``   Payload delivery
``md5``, ``sha1``, ``sha256``, ``sha512``         the same        Payload delivery
``filename``                                      ``filename``    Payload delivery
``asn``                                           ``AS``          Network activity
================================================  ==============  ================

Each attribute has our uuid (else the MISP uuid it came from, else one derived from the event and the
value, stable from one export to the next), the to-detect flag as ``to_ids``, the comment, the last change
as ``timestamp``, first and last seen times, the tags, and distribution 5 (as the event); the value is the
canonical one, an AS number without its ``AS`` (as MISP stores it). The confidence has no place in a MISP
attribute and is not written.

An indicator whose relation says it came from a MISP object is written inside an ``Object`` entry of that
name with its ``object_relation``; consecutive such indicators of one object name form one object, and a
new object starts when the name changes, another indicator comes between, or a relation repeats. Read
back, the relations are the same. The distribution is written 0 (organisation), 1 (community), 2
(connected-communities) or 4 (sharing-group, with ``SharingGroup`` holding the group's uuid or name; a
report that names no group is written 0, the narrowest). The TLP is written as its TLP 2.0 tag
(``tlp:clear``, ``tlp:green``, ``tlp:amber``, ``tlp:amber+strict``, ``tlp:red``), the category as its
``rsit:`` tag, the threat level as ``threat_level_id`` (4 when none), the author as ``Orgc``, the analysis
as 2 (completed), and the summary as an event report.

The package: ``types`` holds the vocabularies and attribute types both ways, ``read`` the reading of a file
and of a feed, ``events`` that of events and their attributes, ``values`` the lenient reading of JSON
values, ``write`` the writing, and ``common`` the uuids reading and writing share.
"""

from __future__ import annotations

from commonspace.formats.misp.read import parse_misp, parse_misp_feed
from commonspace.formats.misp.write import to_misp, to_misp_bytes

__all__ = ["parse_misp", "parse_misp_feed", "to_misp", "to_misp_bytes"]
