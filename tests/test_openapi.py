"""The OpenAPI document describes the foundation's API; the interactive docs are self-hosted."""

from __future__ import annotations

import re

import pytest

# (path, method): request body schema (None: no body), success status, response schema.
OPERATIONS = {
    ("/api/v1/auth/tokens", "post"): ("TokenRequest", "201", "Token"),
    ("/api/v1/auth/tokens/current", "delete"): (None, "204", None),
    ("/api/v1/me", "get"): (None, "200", "Me"),
    ("/api/v1/relais", "get"): (None, "200", "Relais[]"),
    ("/api/v1/relais", "post"): ("RelaisCreate", "201", "Relais"),
    ("/api/v1/relais/{relais_id}", "get"): (None, "200", "Relais"),
    ("/api/v1/relais/{relais_id}", "patch"): ("RelaisUpdate", "200", "Relais"),
    ("/api/v1/relais/{relais_id}/users", "get"): (None, "200", "User[]"),
    ("/api/v1/relais/{relais_id}/users", "post"): ("UserCreate", "201", "User"),
    ("/api/v1/relais/{relais_id}/users/{user_id}", "get"): (None, "200", "User"),
    ("/api/v1/relais/{relais_id}/users/{user_id}", "patch"): ("UserUpdate", "200", "User"),
}


@pytest.fixture
def spec(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def _ref(schema: dict) -> str:
    if schema.get("type") == "array":
        return _ref(schema["items"]) + "[]"
    return schema["$ref"].removeprefix("#/components/schemas/")


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_operation_is_documented(spec, path, method):
    request_schema, status, response_schema = OPERATIONS[(path, method)]
    operation = spec["paths"][path][method]
    if request_schema:
        assert _ref(operation["requestBody"]["content"]["application/json"]["schema"]) == request_schema
    else:
        assert "requestBody" not in operation
    success = operation["responses"][status]
    if response_schema:
        assert _ref(success["content"]["application/json"]["schema"]) == response_schema
    else:
        assert "content" not in success
    # Errors are documented with the JSON error format.
    errors = {code: r for code, r in operation["responses"].items() if code >= "400" and code != "default"}
    assert errors
    for response in errors.values():
        ref = response["$ref"].removeprefix("#/components/responses/")
        error_schema = spec["components"]["responses"][ref]["content"]["application/json"]["schema"]
        assert error_schema == {"$ref": "#/components/schemas/Error"}


def test_error_schema_matches_the_error_format(spec):
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {
        "code", "status", "message", "errors",
    }


def test_contract_fields(spec):
    schemas = spec["components"]["schemas"]
    assert set(schemas["TokenRequest"]["properties"]) == {"email", "password", "totp"}
    assert set(schemas["TokenRequest"]["required"]) == {"email", "password"}
    assert set(schemas["Token"]["properties"]) == {"token", "expires_at"}
    assert set(schemas["Me"]["properties"]) == {"id", "email", "name", "role", "relais"}
    assert set(schemas["RelaisCreate"]["required"]) == {
        "name", "kind", "siret", "postcode", "city", "dimensions",
    }
    assert {"address", "contact_name", "contact_email", "contact_phone"} <= set(
        schemas["RelaisCreate"]["properties"]
    )
    assert "status" in schemas["RelaisUpdate"]["properties"]
    assert set(schemas["UserCreate"]["required"]) == {"email", "name", "role"}
    assert set(schemas["UserUpdate"]["properties"]) == {"active", "role"}
    kinds = schemas["RelaisCreate"]["properties"]["kind"]["enum"]
    assert len(kinds) == 15 and "restos_du_coeur" in kinds
    assert schemas["RelaisCreate"]["properties"]["dimensions"]["items"]["enum"] == [
        "connexion", "equipement", "accompagnement",
    ]
    # Unknown fields are refused, and the document says so.
    assert schemas["RelaisCreate"]["additionalProperties"] is False


def test_lists_document_pagination(spec):
    for path in ("/api/v1/relais", "/api/v1/relais/{relais_id}/users"):
        operation = spec["paths"][path]["get"]
        assert {"page", "per_page"} <= {p["name"] for p in operation["parameters"]}
        assert "X-Pagination" in operation["responses"]["200"]["headers"]
    filters = {p["name"] for p in spec["paths"]["/api/v1/relais"]["get"]["parameters"]}
    assert {"status", "kind", "departement", "q"} <= filters


# Lists bounded by their parent (one order, one person, one session, one relais' team, the
# catalogue): one page always holds them.
BOUNDED_LISTS = {
    "/api/v1/orders/{order_id}/payments", "/api/v1/beneficiaries/{beneficiary_id}/diagnostics",
    "/api/v1/beneficiaries/{beneficiary_id}/parcours", "/api/v1/parcours",
    "/api/v1/training/modules", "/api/v1/training/sessions/{session_id}/enrollments",
    "/api/v1/training/sessions/{session_id}/attendance", "/api/v1/training/records",
    "/api/v1/relais/{relais_id}/training", "/api/v1/inventory", "/api/v1/network-stock",
    # The national themes, one relais' referring structures, and its call list of people whose
    # recharge runs out within at most 90 days.
    "/api/v1/themes", "/api/v1/referrers", "/api/v1/recharges/due",
    # a handful of national warehouses; one location's levels (bounded by the catalogue)
    "/api/v1/locations", "/api/v1/locations/{location_id}/stock",
    # one order's parcels; the pick list of the orders named (at most 100)
    "/api/v1/orders/{order_id}/shipments", "/api/v1/pick-lists",
    # one campaign's split: a line per relais that declared needs
    "/api/v1/campaigns/{campaign_id}/proposal",
}
# To fix in their packages, then remove from here: not paginated yet (training, issue 5:
# sessions accumulate over the years, the national portfolio lists every relais), or
# paginated without documenting the headers (stock, issue 3).
AWAITING_PAGINATION = {"/api/v1/training/sessions", "/api/v1/coaching/portfolio", "/api/v1/orders"}


def test_every_growing_list_is_paginated(spec):
    """'Lists are paginated': page and per_page in, X-Pagination and X-Total-Count out."""
    unpaginated = []
    for path, operations in spec["paths"].items():
        operation = operations.get("get")
        response = (operation or {}).get("responses", {}).get("200", {})
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") != "array" or path in BOUNDED_LISTS | AWAITING_PAGINATION:
            continue
        parameters = {p.get("name") for p in operation.get("parameters", [])}
        if not ({"page", "per_page"} <= parameters
                and {"X-Pagination", "X-Total-Count"} <= set(response.get("headers", {}))):
            unpaginated.append(path)
    assert unpaginated == []


def test_bearer_security_scheme(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert {"bearerAuth": []} in spec["security"]
    # Getting a token needs no credentials but the body's.
    assert spec["paths"]["/api/v1/auth/tokens"]["post"]["security"] == []


def test_interactive_docs_serve_their_assets_locally(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the app"
        assert client.get(asset).status_code == 200, asset
    assert "/api/v1/openapi.json" in html
