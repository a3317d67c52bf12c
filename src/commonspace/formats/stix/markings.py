"""TLP as STIX marks it: the official TLP 1.0 and 2.0 marking definitions, the TLP 2.0 extension
definition, the TLP a marking definition means, and the order of strictness."""

from __future__ import annotations

from commonspace.domain.vocab import TLP
from commonspace.formats.stix.common import Obj

# TLP 1.0 (STIX 2.1, section 7.2.1.4) and TLP 2.0 (the OASIS extension in cti-stix-common-objects).
TLP1_MARKINGS: dict[str, TLP] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}
TLP2_MARKINGS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_MARKINGS: dict[str, TLP] = TLP1_MARKINGS | {ref: tlp for tlp, ref in TLP2_MARKINGS.items()}
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_EXTENSION_OBJECT: Obj = {
    "type": "extension-definition",
    "spec_version": "2.1",
    "id": TLP2_EXTENSION,
    "created_by_ref": "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01",
    "created": "2022-10-01T00:00:00.000Z",
    "modified": "2022-10-01T00:00:00.000Z",
    "name": "TLP 2.0",
    "description": "This defines TLP 2.0 as a STIX extension",
    "schema": "https://github.com/oasis-open/cti-stix-common-objects/tree/master/"
    "extension-definition-specifications/tlp-2.0",
    "version": "1.0.0",
    "extension_types": ["property-extension"],
}
TLP_RANK = {TLP.CLEAR: 0, TLP.GREEN: 1, TLP.AMBER: 2, TLP.AMBER_STRICT: 3, TLP.RED: 4}
_TLP_BY_NAME = {
    "white": TLP.CLEAR,
    "clear": TLP.CLEAR,
    "green": TLP.GREEN,
    "amber": TLP.AMBER,
    "amber+strict": TLP.AMBER_STRICT,
    "red": TLP.RED,
}


def tlp2_marking(tlp: TLP) -> Obj:
    """The official TLP 2.0 marking definition."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_MARKINGS[tlp],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{tlp.value}",
        "extensions": {
            TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.value.lower()}
        },
    }


def marked_tlp(definition: Obj) -> TLP | None:
    """The TLP a marking definition means, in the TLP 1.0 form or with the TLP 2.0 extension; or None."""
    tlp: TLP | None = None
    body = definition.get("definition")
    if definition.get("definition_type") == "tlp" and isinstance(body, dict):
        tlp = _TLP_BY_NAME.get(str(body.get("tlp", "")).lower())
    extension = (definition.get("extensions") or {}).get(TLP2_EXTENSION)
    if isinstance(extension, dict):
        tlp = _TLP_BY_NAME.get(str(extension.get("tlp_2_0", "")).lower(), tlp)
    return tlp
