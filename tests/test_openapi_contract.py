"""The REST contract other clients rely on: `tests/data/openapi_v1.json` is the document as
published; the served document may add paths, operations and optional fields, never change or
remove what is there, nor add a required request field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Human-readable text may be reworded; it binds no client.
PROSE = {"summary", "description"}
PUBLISHED = json.loads((Path(__file__).parent / "data" / "openapi_v1.json").read_text())


def _differences(published: Any, served: Any, where: str) -> list[str]:
    if isinstance(published, dict) and isinstance(served, dict):
        found = []
        for key, value in published.items():
            if key in PROSE:
                continue
            if key not in served:
                found.append(f"{where}/{key}: removed")
            elif key == "required" and isinstance(value, list):
                added = sorted(set(served[key]) - set(value))
                if added:
                    found.append(f"{where}/required: now also requires {added}")
            else:
                found += _differences(value, served[key], f"{where}/{key}")
        return found
    if isinstance(published, list) and isinstance(served, list) and where.endswith("/parameters"):
        served_by_name = {(p.get("in"), p.get("name")): p for p in served}
        return [
            difference
            for parameter in published
            for difference in (
                _differences(parameter, served_by_name[(parameter.get("in"), parameter.get("name"))],
                             f"{where}/{parameter.get('name')}")
                if (parameter.get("in"), parameter.get("name")) in served_by_name
                else [f"{where}/{parameter.get('name')}: removed"]
            )
        ]
    if isinstance(published, list) and isinstance(served, list) and where.endswith("/enum"):
        missing = [value for value in published if value not in served]
        return [f"{where}: {missing} no longer accepted"] if missing else []
    return [] if published == served else [f"{where}: {published!r} became {served!r}"]


@pytest.fixture
def served(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


@pytest.mark.parametrize("part", ["paths", "components"])
def test_the_published_contract_still_holds(served, part):
    assert _differences(PUBLISHED[part], served[part], part) == []


def test_the_comparison_sees_a_removed_field_and_a_new_required_one():
    published = {"properties": {"sku": {"type": "string"}}, "required": ["sku"]}
    served = {"properties": {"code": {"type": "string"}}, "required": ["sku", "code"]}
    assert _differences(published, served, "s") == [
        "s/properties/sku: removed", "s/required: now also requires ['code']"]
    assert _differences(published, {**published, "properties": {**published["properties"], "x": {}}},
                        "s") == []
