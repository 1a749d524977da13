"""The audit log speaks French: every action the code records has a label, and the page, the
CSV export and the API show it (the codes stay: filter values, CSV and API fields).

- the source is read (every `record(...)` call on `relais_platform.audit.services`, whatever
  its import name): an action without a label fails here, so a new one cannot ship unnamed;
  an action computed at run time must list its values in `DYNAMIC_ACTIONS`;
- target types written literally have a noun, and every noun names a real table;
- an unknown code (a future action, an old entry) shows as itself.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po

from relais_platform.accounts.models import Role, User
from relais_platform.audit import services as audit
from relais_platform.audit.labels import ACTION_LABELS, TARGET_LABELS, action_label, target_label
from relais_platform.extensions import db
from relais_platform.orm import utcnow
from relais_platform.stock.orders.models import PaymentStatus
from relais_platform.tenancy import TenantScope, tenant_session
from tests.factories import bearer, make_relais, make_user

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "relais_platform"
SERVICES = "relais_platform.audit.services"

# Actions whose code is built at run time: the call's source → every value it can take.
DYNAMIC_ACTIONS: dict[str, set[str]] = {
    "f'payment.{status.value}'": {f"payment.{status.value}" for status in PaymentStatus},
}


def _audit_names(tree: ast.Module, path: Path) -> tuple[set[str], set[str]]:
    """(names bound to the audit services module, names bound to its `record` function)."""
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "relais_platform.audit":
            modules |= {a.asname or a.name for a in node.names if a.name == "services"}
        elif isinstance(node, ast.ImportFrom) and node.module == SERVICES:
            functions |= {a.asname or a.name for a in node.names if a.name == "record"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == SERVICES and a.asname}
    if path == PACKAGE / "audit" / "services.py":
        functions.add("record")
    return modules, functions


def _record_calls() -> Iterator[tuple[str, ast.Call]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        modules, functions = _audit_names(tree, path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (isinstance(func, ast.Name) and func.id in functions) or (
                    isinstance(func, ast.Attribute) and func.attr == "record"
                    and isinstance(func.value, ast.Name) and func.value.id in modules):
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def _codes(node: ast.expr, where: str, unknown: list[str]) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _codes(node.body, where, unknown) | _codes(node.orelse, where, unknown)
    source = ast.unparse(node)
    if source in DYNAMIC_ACTIONS:
        return DYNAMIC_ACTIONS[source]
    unknown.append(f"{where}: {source}")
    return set()


def recorded_actions() -> dict[str, str]:
    """Every action code the code base records → one place that records it."""
    found: dict[str, str] = {}
    unknown: list[str] = []
    for where, call in _record_calls():
        argument = call.args[0] if call.args else next(
            (k.value for k in call.keywords if k.arg == "action"), None)
        assert argument is not None, f"{where}: record() without an action"
        for code in _codes(argument, where, unknown):
            found.setdefault(code, where)
    assert not unknown, ("actions computed at run time: list their values in DYNAMIC_ACTIONS "
                         "(and label them in relais_platform/audit/labels.py):\n" + "\n".join(unknown))
    return found


def literal_target_types() -> dict[str, str]:
    found: dict[str, str] = {}
    for where, call in _record_calls():
        for keyword in call.keywords:
            if (keyword.arg == "target_type" and isinstance(keyword.value, ast.Constant)
                    and isinstance(keyword.value.value, str)):
                found.setdefault(keyword.value.value, where)
    return found


def test_the_scan_sees_the_code_bases_actions():
    """Guard the guard: a scanner that finds nothing would pass everything."""
    found = recorded_actions()
    assert len(found) >= 90
    assert {"beneficiary_viewed", "beneficiary_anonymised", "network_access", "audit_log_exported",
            "order_created", "payment.failed", "user_deactivated", "theme_restored"} <= set(found)


def test_every_recorded_action_has_a_label():
    missing = sorted(f"{code}  ({where})" for code, where in recorded_actions().items()
                     if code not in ACTION_LABELS)
    assert not missing, "add a label in relais_platform/audit/labels.py for:\n" + "\n".join(missing)


def test_every_action_national_may_filter_on_has_a_label():
    assert not (audit.NETWORK_ACTIONS | audit.NETWORK_LOGIN_ACTIONS) - set(ACTION_LABELS)


def test_target_types_have_a_noun_and_nouns_name_tables():
    import relais_platform.models  # noqa: F401  (every model, so the metadata is complete)

    missing = sorted(f"{kind}  ({where})" for kind, where in literal_target_types().items()
                     if kind not in TARGET_LABELS)
    assert not missing, "add a noun in relais_platform/audit/labels.py for:\n" + "\n".join(missing)
    assert not set(TARGET_LABELS) - set(db.metadata.tables), "a noun for a table that does not exist"


def test_an_unknown_code_falls_back_to_itself(app):
    with app.test_request_context():
        assert action_label("something_new_happened") == "something_new_happened"
        assert target_label("a_future_table") == "a_future_table"
        assert target_label(None) == ""
        assert action_label("order_created") == "Commande créée"
        assert target_label("orders") == "Commande"


def test_labels_follow_the_readers_language(app):
    english = PACKAGE / "translations/en/LC_MESSAGES"
    with (english / "messages.po").open("rb") as po:
        catalog = read_po(po)
    with app.test_request_context():  # French is the source language: a label is its msgid
        msgids = {str(label) for label in (*ACTION_LABELS.values(), *TARGET_LABELS.values())}
    assert not {msgid for msgid in msgids if not (catalog.get(msgid) and catalog.get(msgid).string)}
    assert catalog.get("Fiche d'une personne anonymisée").string == "Person's record anonymised"
    if (english / "messages.mo").exists():  # compiled at install (scripts/dev.py)
        with app.test_request_context(headers={"Cookie": "lang=en"}):
            assert action_label("beneficiary_anonymised") == "Person's record anonymised"
            assert target_label("beneficiaries") == "Person"


# --- the page, the CSV export, the API -------------------------------------------------


@pytest.fixture
def world(app) -> SimpleNamespace:
    with app.app_context():
        relais = make_relais(name="Relais A")
        relais.terms_accepted_at = utcnow()
        admin = make_user(Role.RELAIS_ADMIN, relais)
        national = make_user(Role.NATIONAL)
        ids = SimpleNamespace(relais=relais.id, admin=admin.id, national=national.id)
        headers = bearer(admin)
        with tenant_session(db.session, TenantScope(relais_id=ids.relais)):
            audit.record("beneficiary_anonymised", target_type="beneficiaries", target_id=41,
                         actor_id=ids.admin, relais_id=ids.relais)
            audit.record("order_created", target_type="orders", target_id=7, actor_id=ids.admin,
                         relais_id=ids.relais)
            audit.record("something_new_happened", target_type="a_future_table", target_id=3,
                         actor_id=ids.admin, relais_id=ids.relais)
            db.session.commit()
        db.session.remove()
    return SimpleNamespace(ids=ids, headers=headers)


def _table(html: str) -> str:
    return unescape(html.split("<tbody>", 1)[1].split("</tbody>", 1)[0])


def test_the_page_shows_labels_and_filters_on_codes(app, world):
    from tests.test_web_support import login_as

    with app.app_context():
        client = login_as(app, db.session.get(User, world.ids.admin))
        db.session.remove()
    html = client.get("/audit").get_data(as_text=True)
    table = _table(html)
    assert "Fiche d'une personne anonymisée" in table and "beneficiary_anonymised" not in table
    assert "Commande n° 7" in table and "Commande créée" in table and "order_created" not in table
    assert "something_new_happened" in table and "a_future_table n° 3" in table  # unknown: the code
    # The filter: codes as values, labels as text, in the labels' order.
    assert '<option value="order_created" >Commande créée</option>' in html
    assert '<option value="beneficiary_anonymised" >Fiche d&#39;une personne anonymisée</option>' in html
    assert '<option value="something_new_happened" >something_new_happened</option>' in html
    assert html.index(">Commande créée<") < html.index(">Fiche d&#39;une personne anonymisée<")
    filtered = client.get("/audit", query_string={"action": "order_created"}).get_data(as_text=True)
    assert '<option value="order_created" selected>Commande créée</option>' in filtered
    assert "Commande créée" in _table(filtered) and "anonymisée" not in _table(filtered)


def test_the_national_filter_lists_labels(app, world):
    from tests.test_web_support import login_as

    with app.app_context():
        client = login_as(app, db.session.get(User, world.ids.national))
        db.session.remove()
    html = client.get("/audit").get_data(as_text=True)
    assert '<option value="login_failure" >Échec de connexion</option>' in html
    assert '<option value="relais_created" >Relais créé</option>' in html


def test_the_csv_export_keeps_the_codes_and_adds_the_labels(client, world):
    response = client.get("/api/v1/audit/export", headers=world.headers,
                          query_string={"action": "beneficiary_anonymised"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:7] == ["Date", "Utilisateur", "Action", "Objet", "N°", "Adresse IP", "Détails"]
    assert rows[0][7:] == ["Libellé de l'action", "Libellé de l'objet"]
    assert len(rows) == 2
    assert rows[1][2:5] == ["beneficiary_anonymised", "beneficiaries", "41"]
    assert rows[1][7:] == ["Fiche d'une personne anonymisée", "Personne"]


def test_the_api_adds_labels_beside_the_codes(client, world):
    response = client.get("/api/v1/audit", headers=world.headers, query_string={"per_page": 50})
    assert response.status_code == 200
    entries = {e["action"]: e for e in response.json}
    assert entries["order_created"]["target_type"] == "orders"
    assert (entries["order_created"]["action_label"], entries["order_created"]["target_label"]) == (
        "Commande créée", "Commande")
    unknown = entries["something_new_happened"]
    assert (unknown["action_label"], unknown["target_label"]) == ("something_new_happened", "a_future_table")
