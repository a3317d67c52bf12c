"""TAXII 2.1 over the access policy: collections, their objects, adding and deleting objects, status.

The service the TAXII endpoints (``taxii.api``) and the error handlers (``web.errors``) call, gathered from
the modules of one concept each:

- ``protocol``: media types, limits, timestamps, the discovery and API root resources;
- ``collections``: the collections of a member, one per scope they may read, and their filters on reports;
- ``paging``: the filters of a request, the entries they select and their pages (``next`` cursors);
- ``objects``: the objects of a collection, one object, its versions (and the manifest);
- ``deleting``: deleting an object's versions;
- ``adding``: adding objects (an import through the exchange service) and the status resources.
"""

from __future__ import annotations

from commonspace.taxii.adding import STATUS_KIND, add_objects, get_status
from commonspace.taxii.deleting import delete_object
from commonspace.taxii.objects import get_object, object_versions, objects
from commonspace.taxii.paging import DEFAULT_LIMIT, MAX_LIMIT, Entry, Filters, Page, parse_filters
from commonspace.taxii.protocol import (
    API_ROOT,
    MAX_CONTENT_LENGTH,
    MEDIA_TYPE,
    PREFIX,
    STIX_MEDIA_TYPE,
    api_root,
    bad_request,
    discovery,
    parse_timestamp,
    stamp,
)
from commonspace.taxii.scopes import (
    CLEAR_ID,
    COMMUNITY,
    COMMUNITY_ID,
    ORGANISATION,
    SHARING_GROUP,
    TLP_CLEAR,
    Collection,
    collections,
    get_collection,
)

__all__ = [
    "API_ROOT",
    "CLEAR_ID",
    "COMMUNITY",
    "COMMUNITY_ID",
    "DEFAULT_LIMIT",
    "MAX_CONTENT_LENGTH",
    "MAX_LIMIT",
    "MEDIA_TYPE",
    "ORGANISATION",
    "PREFIX",
    "SHARING_GROUP",
    "STATUS_KIND",
    "STIX_MEDIA_TYPE",
    "TLP_CLEAR",
    "Collection",
    "Entry",
    "Filters",
    "Page",
    "add_objects",
    "api_root",
    "bad_request",
    "collections",
    "delete_object",
    "discovery",
    "get_collection",
    "get_object",
    "get_status",
    "object_versions",
    "objects",
    "parse_filters",
    "parse_timestamp",
    "stamp",
]
