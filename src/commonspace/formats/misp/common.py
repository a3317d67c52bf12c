"""What reading and writing MISP share: the uuid pattern and our namespace for the uuids we make up."""

from __future__ import annotations

import re
import uuid as uuidlib

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
NAMESPACE = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "commonspace:misp")  # for uuids we must make up
