"""Tenant isolation on the web pages: a user of relais B never reaches relais A's objects.

Every web route taking the id of a relais or of a relais member answers 404 (never 403, which
would confirm the object exists), and B's lists never show A's rows. The second half covers
every other domain (training and coaching, orders and payments, distributions,
beneficiaries): B's admin, worker and coach get for A's ids exactly what they get for an id
no row has — 404, or 403 where their role may not use the page at all — and
`test_every_web_route_with_an_id_is_in_the_matrix` keeps the matrix complete.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.tenants.models import Relais, RelaisStatus
from tests.factories import make_relais, make_user, relais_data
from tests.isolation_world import browser, build_world, snapshot_of_a
from tests.test_web_support import build, login_as, make_signed_relais, query, text

# (method, url template, form data): {a} is relais A, {b} relais B, {ua} a member of A.
ROUTES = [
    ("GET", "/relais/{a}", None),
    ("GET", "/relais/{a}/edit", None),
    ("POST", "/relais/{a}/edit", relais_data()),
    ("POST", "/relais/{a}/status", {"status": "suspended"}),
    ("POST", "/relais/{a}/approve", {}),
    ("POST", "/relais/{a}/team", {"invite-email": "x@example.org", "invite-name": "X",
                                  "invite-role": "relais_worker"}),
    ("POST", "/relais/{a}/team/{ua}/active", {"active": "0"}),
    ("POST", "/relais/{a}/team/{ua}/role", {"member-{ua}-role": "relais_admin"}),
    ("POST", "/relais/{a}/two-factor", {"required": "1"}),
    # A's member reached through B's own relais id.
    ("POST", "/relais/{b}/team/{ua}/active", {"active": "0"}),
    ("POST", "/relais/{b}/team/{ua}/role", {"member-{ua}-role": "relais_admin"}),
]


@pytest.fixture
def tenants(app):
    relais_a = build(app, make_signed_relais, name="Relais Alpha", city="Arcachon", postcode="33120")
    relais_b = build(app, make_signed_relais, name="Relais Beta", city="Bayonne", postcode="64100")
    admin_a = build(app, make_user, Role.RELAIS_ADMIN, relais_a, name="Anne Alpha",
                    email="anne@alpha.example.org")
    worker_a = build(app, make_user, Role.RELAIS_WORKER, relais_a, name="Arthur Alpha",
                     email="arthur@alpha.example.org")
    admin_b = build(app, make_user, Role.RELAIS_ADMIN, relais_b, name="Bea Beta")
    worker_b = build(app, make_user, Role.RELAIS_WORKER, relais_b, name="Bruno Beta")
    return {"a": relais_a, "b": relais_b, "admin_a": admin_a, "worker_a": worker_a,
            "admin_b": admin_b, "worker_b": worker_b}


def _url(template: str, ids: dict[str, int]) -> str:
    return template.format(**ids)


@pytest.mark.parametrize("who", ["admin_b", "worker_b"])
def test_user_of_relais_b_gets_404_for_relais_a(app, tenants, who):
    ids = {"a": tenants["a"].id, "b": tenants["b"].id, "ua": tenants["worker_a"].id}
    client = login_as(app, tenants[who])
    for method, template, data in ROUTES:
        url = _url(template, ids)
        form = {_url(key, ids): value for key, value in (data or {}).items()}
        response = client.open(url, method=method, data=form)
        assert response.status_code == 404, (method, url, response.status_code)

    def state() -> tuple:
        relais_a = db.session.get(Relais, ids["a"])
        worker_a = db.session.get(User, ids["ua"])
        invited = db.session.scalar(select(User).where(User.email == "x@example.org"))
        return relais_a.status, relais_a.name, worker_a.active, worker_a.role, invited

    assert query(app, state) == (RelaisStatus.ACTIVE, "Relais Alpha", True, Role.RELAIS_WORKER, None)


@pytest.mark.parametrize("who", ["admin_b", "worker_b"])
def test_lists_of_relais_b_never_show_relais_a(app, tenants, who):
    client = login_as(app, tenants[who])
    for path in ("/", f"/relais/{tenants['b'].id}", "/account"):
        html = text(client.get(path))
        assert "Relais Beta" in html
        for leak in ("Relais Alpha", "Arcachon", "Anne Alpha", "anne@alpha.example.org", "Arthur Alpha"):
            assert leak not in html, (path, leak)
    assert client.get("/outbox/").status_code == 403


def test_national_sees_every_relais_and_team(app, tenants):
    national = build(app, make_user, Role.NATIONAL)
    client = login_as(app, national)
    html = text(client.get("/"))
    assert "Relais Alpha" in html and "Relais Beta" in html
    assert "Anne Alpha" in text(client.get(f"/relais/{tenants['a'].id}"))


def test_applicant_relais_is_invisible_to_other_relais(app, tenants):
    applicant = build(app, make_relais, RelaisStatus.APPLIED, name="Candidat secret")
    client = login_as(app, tenants["admin_b"])
    assert client.get(f"/relais/{applicant.id}").status_code == 404
    assert "Candidat secret" not in text(client.get("/"))


# --- every domain ------------------------------------------------------------------------

# (method, url template, form data) on the world of tests/isolation_world.py; "{x}" values
# in the form are A's ids. Routes with the id in the form only are "body" routes.
WORLD_ROUTES = [
    # training and coaching
    ("GET", "/training/relais/{a}", None),
    ("POST", "/training/relais/{a}/coach", {"coach_id": ""}),
    ("POST", "/training/relais/{a}/path", {"module_codes": ""}),
    ("POST", "/training/relais/{a}/coaching-sessions", {"date": "2026-01-10", "kind": "phone"}),
    ("POST", "/training/relais/{a}/next-steps/{step}", {"done": "1"}),
    ("POST", "/training/relais/{b}/next-steps/{step}", {"done": "1"}),
    ("POST", "/training/relais/{a}/milestones", {"title": "Intrus", "due_date": "2026-03-01"}),
    ("POST", "/training/relais/{a}/milestones/{milestone}", {"done": "1"}),
    ("POST", "/training/relais/{b}/milestones/{milestone}", {"done": "1"}),
    ("GET", "/training/records/{record}/certificate.pdf", None),
    ("POST", "/training/sessions/{session}/enrol", {"user_id": "{ua}"}),
    ("POST", "/training/sessions/{session}/cancel", {"user_id": "{ua}"}),
    # orders and payments
    ("GET", "/stock/orders/{order}", None),
    ("GET", "/stock/orders/{order}/edit", None),
    ("POST", "/stock/orders/{order}/edit", {"qty-REC-ISO": "1"}),
    ("POST", "/stock/orders/{order}/submit", {}),
    ("POST", "/stock/orders/{order}/cancel", {"reason": "intrus"}),
    ("POST", "/stock/orders/{order}/allocation", {"qty-REC-ISO": "1"}),
    ("POST", "/stock/orders/{order}/checkout", {}),
    ("POST", "/stock/orders/{order}/payments", {"amount_cents": "100", "reference": "VIR-1"}),
    ("POST", "/stock/orders/{order}/invoice", {}),
    ("GET", "/stock/orders/{order}/shipment", None),
    ("POST", "/stock/orders/{order}/shipment", {}),
    ("GET", "/stock/orders/{order}/receipt", None),
    ("POST", "/stock/orders/{order}/receipt", {"received-REC-ISO": "2"}),
    ("POST", "/stock/orders/{order}/close", {}),
    ("GET", "/stock/orders/{order}/delivery-note.pdf", None),
    ("GET", "/stock/orders/{order}/pick-list", None),
    ("POST", "/stock/orders/{order}/shipments", {"location_id": "1", "quantity-REC-ISO": "1"}),
    ("POST", "/stock/orders/{order}/shipments/{shipment}/receipt", {"received-REC-ISO": "1"}),
    # stock counts
    ("GET", "/stock/stocktakes/{stocktake}", None),
    ("POST", "/stock/stocktakes/{stocktake}/lines", {"counted-REC-ISO": "1", "reason-REC-ISO": "lost"}),
    ("POST", "/stock/stocktakes/{stocktake}/finalise", {}),
    # monthly stock report of relais A, as the national team reads and reviews it
    ("GET", "/distributions/national/{a}/{period}", None),
    ("POST", "/distributions/national/{a}/{period}", {"decision": "accepted"}),
    # distributions
    ("GET", "/distributions/{distribution}", None),
    ("POST", "/distributions/{distribution}/cancel", {"reason": "intrus"}),
    ("POST", "/distributions/{distribution}/warranty-return", {"outcome": "returned"}),
    ("POST", "/distributions/{distribution}/warranty-exchange",
     {"replacement_serial": "356938030000009", "outcome": "defective"}),
    ("GET", "/distributions/{distribution}/receipt", None),
    ("GET", "/distributions/{distribution}/receipt.pdf", None),
    ("POST", "/distributions/new", {"sku": "REC-ISO", "price_cents": "0", "beneficiary_id": "{person}"}),
    # beneficiaries and accompaniment
    ("GET", "/beneficiaires/{person}", None),
    ("GET", "/beneficiaires/{person}/modifier", None),
    ("POST", "/beneficiaires/{person}/modifier", {"first_name": "Intrus", "last_name": "X"}),
    ("POST", "/beneficiaires/{person}/diagnostic", {"level": "debutant"}),
    ("GET", "/beneficiaires/{person}/export.json", None),
    ("GET", "/beneficiaires/{person}/effacer", None),
    ("POST", "/beneficiaires/{person}/effacer", {}),
    ("GET", "/beneficiaires/{person}/fusionner?merge_id={person_b}", None),
    ("POST", "/beneficiaires/{person}/fusionner", {"merge_id": "{person_b}"}),
    ("GET", "/beneficiaires/{person_b}/fusionner?merge_id={person}", None),
    ("POST", "/beneficiaires/accompagnement/nouvelle-seance",
     {"kind": "permanence", "date": "2026-01-20", "duration_minutes": "60",
      "beneficiary_ids": "{person}"}),
    # the front desk
    ("GET", "/distributions/remises/nouvelle/{person}", None),
    ("POST", "/distributions/remises/nouvelle/{person}", {"qty-REC-ISO": "1", "price-REC-ISO": "0"}),
    ("GET", "/distributions/remises/{handover}/recu", None),
    ("GET", "/distributions/remises/{handover}/recu.pdf", None),
    ("POST", "/beneficiaires/{person}/prolongation", {"months": "6", "reason": "intrus"}),
    ("GET", "/beneficiaires/accompagnement/{accompaniment}/modifier", None),
    ("POST", "/beneficiaires/accompagnement/{accompaniment}/modifier",
     {"kind": "permanence", "date": "2026-01-20", "duration_minutes": "30", "parcours_id": "",
      "anonymous_count": "1"}),
    ("POST", "/beneficiaires/accompagnement/{accompaniment}/supprimer", {"reason": "intrus"}),
    ("POST", "/beneficiaires/accompagnement/{accompaniment}/dupliquer", {"date": "2026-01-22"}),
    # reporting
    ("GET", "/rapports/evenements/{event}/modifier", None),
    ("POST", "/rapports/evenements/{event}/modifier", {"kind": "event", "title": "Intrus",
                                                       "date": "2026-01-09"}),
    ("GET", "/rapports/evenements/{event}/supprimer", None),
    ("POST", "/rapports/evenements/{event}/supprimer", {}),
    ("GET", "/rapports/exports/{export}", None),
    ("GET", "/rapports/exports/{export}/fichier", None),
    ("POST", "/rapports/exports/{export}/relancer", {}),
    ("GET", "/rapports/bilan?year=2026&relais_id={a}", None),
    ("POST", "/rapports/bilan/export", {"year": "2026", "format": "csv", "relais_id": "{a}"}),
    # imports
    ("GET", "/imports/{upload}", None),
    ("POST", "/imports/{upload}/apply", {}),
    ("GET", "/rapports/activite?from=2026-01-01&to=2026-12-31&relais_id={a}", None),
    ("POST", "/rapports/activite/export", {"from": "2026-01-01", "to": "2026-12-31", "format": "csv",
                                           "relais_id": "{a}"}),
    ("GET", "/rapports/conventions/{convention}", None),
    ("POST", "/rapports/conventions/{convention}/export", {"format": "pdf"}),
]

# Path parameters naming no tenant-owned object (national sessions and products, the
# national outbox); every other `*_id` names a relais' object, so its route must be here.
# Supply's collections and supplier returns, stock locations, transfers and campaigns are national:
# see tests/test_supply_web.py and tests/test_stock_campaigns.py.
NATIONAL_PARAMS = {"session_id", "product_id", "message_id", "theme_id", "collection_id", "return_id",
                   "location_id", "transfer_id", "campaign_id"}
PLACEHOLDERS = {"{a}": "<int:relais_id>", "{b}": "<int:relais_id>", "{ua}": "<int:user_id>",
                "{order}": "<int:order_id>", "{distribution}": "<int:distribution_id>",
                "{person}": "<int:beneficiary_id>", "{person_b}": "<int:beneficiary_id>",
                "{record}": "<int:record_id>", "{step}": "<int:step_id>",
                "{milestone}": "<int:milestone_id>", "{session}": "<int:session_id>",
                "{event}": "<int:event_id>", "{export}": "<int:export_id>",
                "{handover}": "<int:handover_id>", "{accompaniment}": "<int:accompaniment_id>",
                "{upload}": "<int:import_id>", "{convention}": "<int:convention_id>",
            "{stocktake}": "<int:stocktake_id>", "{period}": "<period>",
                "{shipment}": "<int:shipment_id>"}


def _rule_of(template: str) -> str:
    path = template.split("?")[0]
    for placeholder, converter in PLACEHOLDERS.items():
        path = path.replace(placeholder, converter)
    return path.replace(".json", ".<fmt>")


def test_every_web_route_with_an_id_is_in_the_matrix(app):
    covered = {(method, _rule_of(template)) for method, template, _data in ROUTES + WORLD_ROUTES}
    missing = sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith("/api/")
        and any(arg.endswith("_id") and arg not in NATIONAL_PARAMS for arg in rule.arguments)
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if (method, rule.rule) not in covered
    )
    assert missing == []


@pytest.fixture
def world(app):
    with app.app_context():
        return build_world()


def _world_ids(w, *, missing: bool = False) -> dict[str, int]:
    ids = {"a": w.a, "b": w.b, "ua": w.worker_a, "order": w.order, "distribution": w.distribution,
           "person": w.person, "person_b": w.person_b, "record": w.record, "step": w.step,
           "milestone": w.milestone, "session": w.training_session, "event": w.event,
           "export": w.export, "handover": w.handover, "accompaniment": w.accompaniment,
           "upload": w.upload, "convention": w.convention,
           "stocktake": w.stocktake, "period": "2026-01",
           # A's order is looked up before its parcel: any parcel id answers the same.
           "shipment": w.missing}
    if missing:
        ids.update({key: w.missing for key in ids if key not in ("b", "person_b", "session", "period")})
    return ids


A_MARKERS = ("Relais Alpha", "Arcachon", "Alphonsine", "Arcachonnaise", "Forum Alpha")


def _answer(client, method: str, template: str, data, ids: dict[str, int]) -> tuple:
    """Status, redirect target (ids blanked: a new object gets a new one) and flashed
    messages: everything the page tells. The page itself never names A's things."""
    form = {key: value.format(**ids) for key, value in (data or {}).items()}
    response = client.open(template.format(**ids), method=method, data=form)
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    body = response.get_data(as_text=True)
    assert not [m for m in A_MARKERS if m in body], (method, template)
    return response.status_code, re.sub(r"\d+", "#", response.headers.get("Location", "")), flashes


@pytest.mark.parametrize("who", ["admin_b", "worker_b", "coach_b"])
def test_other_tenant_ids_answer_as_missing_ones(app, world, who):
    before = snapshot_of_a(app, world)
    client = browser(app, world.session_ids[who])
    ids, missing_ids = _world_ids(world), _world_ids(world, missing=True)
    leaks = []
    for method, template, data in WORLD_ROUTES:
        other = _answer(client, method, template, data, ids)
        missing = _answer(client, method, template, data, missing_ids)
        in_path = any(p in template.split("?")[0] for p in PLACEHOLDERS if p != "{session}")
        # An id in the form or the query may be ignored (the user's own relais is used).
        allowed = (403, 404) if in_path else (200, 302, 303, 403, 404, 422)
        if other != missing or other[0] not in allowed:
            leaks.append((method, template, other, missing))
    assert leaks == []
    assert snapshot_of_a(app, world) == before


@pytest.mark.parametrize("who", ["admin_b", "worker_b"])
def test_world_pages_b_may_use_answer_404_for_a_objects(app, world, who):
    client = browser(app, world.session_ids[who])
    ids = _world_ids(world)
    for template in ("/stock/orders/{order}", "/distributions/{distribution}",
                     "/distributions/{distribution}/receipt", "/beneficiaires/{person}",
                     "/distributions/remises/{handover}/recu", "/distributions/remises/nouvelle/{person}",
                     "/beneficiaires/accompagnement/{accompaniment}/modifier",
                     "/training/records/{record}/certificate.pdf"):
        response = client.get(template.format(**ids))
        assert response.status_code == 404, (template, response.status_code)


@pytest.mark.parametrize("path", ["/stock/orders", "/distributions/", "/beneficiaires/",
                                  "/beneficiaires/accompagnement", "/stock/inventory",
                                  "/training/me", "/rapports/evenements", "/",
                                  "/distributions/recharges-a-echeance", "/beneficiaires/structures"])
def test_world_lists_of_b_never_show_a_rows(app, world, path):
    for who in ("admin_b", "worker_b"):
        response = browser(app, world.session_ids[who]).get(path)
        assert response.status_code in (200, 403), (who, path, response.status_code)
        for leak in A_MARKERS:
            assert leak not in text(response), (who, path, leak)


def test_coach_pages_show_its_portfolio_only(app, world):
    client = browser(app, world.session_ids["coach_b"])
    for path in ("/", "/coaching/"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert "Relais Beta" in text(response), path
        assert "Relais Alpha" not in text(response), path
