"""Validation against the official COUNTER_SUSHI 5.1 API schema (tests/fixtures/counter-5.1, CC BY-SA 4.0,
Project COUNTER): ``errors(document, "TR")`` lists what is wrong with a Title Report, and so on for every schema the
API names (``IR``, ``TR_J1``, ``Status``, ``Exception_3030``...)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

FIXTURES = Path(__file__).parent / "fixtures" / "counter-5.1"
URN = "urn:counter51"


@cache
def api() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "COUNTER_SUSHI_API.json").read_text(encoding="utf-8"))
    return data


@cache
def _registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource(URN, Resource.from_contents(api(), default_specification=DRAFT202012))


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


DENIALS = {"Limit_Exceeded", "No_License"}


def _known_defect(document: Any, name: str) -> Any:
    """The document as the schema can take it. One known disagreement between the schema and the Code of Practice
    (where the Code of Practice takes precedence): the schema wants at least two metrics in a TR's Performance,
    but a title whose readers were only refused has one, No_License (Limit_Exceeded is never counted, and a metric
    with no usage is left out). Such a Performance is checked with an empty Limit_Exceeded beside it."""
    if name != "TR" or not isinstance(document, dict):
        return document
    patched = copy.deepcopy(document)
    for entry in patched.get("Report_Items", []):
        for ap in entry.get("Attribute_Performance", []):
            performance = ap.get("Performance", {})
            if set(performance) == {"No_License"}:
                performance["Limit_Exceeded"] = {month: 0 for month in performance["No_License"]}
    return patched


def errors(document: Any, name: str) -> list[str]:
    """What the official schema ``#/components/schemas/NAME`` finds wrong with ``document`` (empty: valid)."""
    found = validator({"$ref": f"{URN}#/components/schemas/{name}"}).iter_errors(_known_defect(document, name))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def response_errors(document: Any, name: str) -> list[str]:
    """As :func:`errors`, against a response of the API (``#/components/responses/NAME``), e.g. ``200_Status``."""
    schema = {"$ref": f"{URN}#/components/responses/{name}/content/application~1json/schema"}
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(schema).iter_errors(document)]
