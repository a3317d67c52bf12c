"""STIX 2.1 in and out: bundles read into an :class:`Exchange` and written from one, fast and pure.

**Reading** (:func:`parse_stix`). A bundle, an object or a list of objects is read with orjson, a large
``objects`` array a piece of about half a megabyte at a time (``pieces``). Every object is checked by hand,
cheaply (``checks``); a problem names the object's index, id and reason, and without ``skip_invalid`` any
problem refuses the whole file. What is kept of every object is its serialised form (:class:`RawObject`),
a few references, and, for the few types that are read further (reports, identities, marking
definitions), the object itself (``records``).

Mapping (``reports``): each STIX ``report`` becomes a :class:`ReportItem` holding, in ``objects``, the
report itself, every object it refers to (and the cyber-observables of the observed-data it refers to),
the relationships and sightings that touch these, and the identities, marking definitions and extension
definitions they use. Indicators (:class:`IndicatorItem`, with the STIX id as ``source_id``) are drawn
from the STIX indicators with a pattern of ours (each equality comparison on an address, domain, URL,
e-mail address, file hash or name or AS number is one indicator; ``patterns``) and from the
cyber-observables of those types, directly or inside observed-data (these are not for detection;
``observables``). The objects indicators were drawn from stay in ``objects`` too: their names, kill chain
phases and the relationships that point at them are given back on export. Objects no report refers to go
into one container report for the bundle. A report's TLP is the strictest TLP marking (1.0 or 2.0) of the
report and what it holds (``markings``).

**Writing** (:func:`to_stix`, ``write``). One bundle: the official TLP 2.0 marking definitions and their
extension definition, an identity per organisation, and per report its STIX report (the original one when
it was imported), the objects kept with it, and an indicator per indicator meant for detection (an
observed-data with its cyber-observable for the others, as MISP does with attributes not meant for
detection), all marked with the report's TLP. Ids keep to the UUID versions STIX 2.1 allows (``common``).
An original indicator, observable or observed-data is given back only while every value it holds is still
among the report's indicators (``originals``).
"""

from __future__ import annotations

from commonspace.formats.stix.common import stamp
from commonspace.formats.stix.markings import TLP1_MARKINGS, TLP2_EXTENSION, TLP2_MARKINGS, TLP_MARKINGS
from commonspace.formats.stix.parse import parse_stix
from commonspace.formats.stix.patterns import read_pattern, stix_pattern
from commonspace.formats.stix.write import to_stix

__all__ = [
    "TLP1_MARKINGS",
    "TLP2_EXTENSION",
    "TLP2_MARKINGS",
    "TLP_MARKINGS",
    "parse_stix",
    "read_pattern",
    "stix_pattern",
    "stamp",
    "to_stix",
]
