"""Bulk imports: upload → check (nothing written) → apply (all or nothing), per kind, with
every refusal of bad input and the uploader's scope."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from flask import Flask
from openpyxl import Workbook, load_workbook
from rq import SimpleWorker
from sqlalchemy import func, select, text

from relais_platform import jobs
from relais_platform.accounts.models import Role, User
from relais_platform.beneficiaries.models import Beneficiary
from relais_platform.extensions import db
from relais_platform.imports.models import ImportRun
from relais_platform.orm import utcnow
from relais_platform.stock.warehouse.models import (
    NationalStock,
    RelaisStock,
    RelaisStockMovement,
    SerialUnit,
    UnitStatus,
)
from relais_platform.stock.warehouse.serials import luhn_check_digit
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests.factories import as_national, bearer, make_product, make_relais, make_user, siret
from tests.test_api_users import run_mail_queue

RELAIS_HEADER = "name;kind;siret;address;postcode;city;dimensions;referent_name;referent_email"
BENEFICIARY_HEADER = "first_name;last_name;birth_year;phone;no_phone;language;consent;create_anyway"


@pytest.fixture
def world(app_ctx):
    a = make_relais(name="Relais A")
    b = make_relais(name="Relais B")
    a.terms_accepted_at = b.terms_accepted_at = utcnow()  # else their admins see the terms page
    db.session.commit()
    admin_a = make_user(Role.RELAIS_ADMIN, a)
    admin_b = make_user(Role.RELAIS_ADMIN, b)
    worker_a = make_user(Role.RELAIS_WORKER, a)
    national = make_user(Role.NATIONAL)
    return SimpleNamespace(
        a=a.id, b=b.id, a_siret=a.siret, b_siret=b.siret,
        admin_a=bearer(admin_a), admin_b=bearer(admin_b), worker_a=bearer(worker_a),
        national=bearer(national), coach=bearer(make_user(Role.COACH)),
        admin_a_user=admin_a, national_user=national,
    )


def run_jobs(app: Flask) -> None:
    with app.app_context():
        SimpleWorker([jobs.queue("default")], connection=jobs.redis_connection()).work(burst=True)


def upload(client, headers, kind: str, content: bytes | str, filename: str = "import.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post("/api/v1/imports", headers=headers,
                       data={"kind": kind, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def checked(app, client, headers, kind, content, filename="import.csv") -> dict:
    response = upload(client, headers, kind, content, filename)
    assert response.status_code == 202, response.json
    assert response.json["status"] == "checking"
    assert {"id", "kind", "status"} <= set(response.json)
    run_jobs(app)
    return client.get(f"/api/v1/imports/{response.json['id']}", headers=headers).json


def applied(app, client, headers, import_id: int) -> dict:
    response = client.post(f"/api/v1/imports/{import_id}/apply", headers=headers)
    assert response.status_code == 202, response.json
    run_jobs(app)
    return client.get(f"/api/v1/imports/{import_id}", headers=headers).json


def count(model, scope: TenantScope | None = None) -> int:
    with tenant_session(db.session, scope or TenantScope(all_relais=True)) as session:
        return session.scalar(select(func.count()).select_from(model))


def iccid(n: int) -> str:
    body = f"893301{n:013d}"
    return body + luhn_check_digit(body)


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- relais: the "done when" scenario -------------------------------------------------


def relais_rows(n: int, bad: set[int] = frozenset()) -> str:
    lines = [RELAIS_HEADER]
    for i in range(n):
        number = "12345678901234" if i in bad else siret()
        lines.append(f"Relais importé {i};ccas;{number};{i} rue Haute;33000;Bordeaux;connexion, equipement;"
                     f"Référente {i};referente{i}@exemple.fr")
    return "\ufeff" + "\r\n".join(lines) + "\r\n"


def test_national_loads_450_relais_sees_bad_sirets_fixes_and_applies(app, client, world):
    before = count(Relais)
    report = checked(app, client, world.national, "relais", relais_rows(450, bad={10, 200, 449}))
    assert report["status"] == "invalid"
    assert report["rows"] == 450 and report["valid_rows"] == 447
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (12, "siret"), (202, "siret"), (451, "siret")]
    assert "SIRET" in report["errors"][0]["message"]
    assert count(Relais) == before  # nothing written by the check
    assert client.post(f"/api/v1/imports/{report['id']}/apply", headers=world.national).status_code == 409

    report = checked(app, client, world.national, "relais", relais_rows(450))
    assert report["status"] == "checked" and report["errors"] == []
    done = applied(app, client, world.national, report["id"])
    assert done["status"] == "applied" and done["created"] == 450 and done["progress"] == 100
    assert count(Relais) == before + 450
    with as_national():
        invited = db.session.scalar(select(func.count()).select_from(User).where(
            User.email.like("referente%@exemple.fr"), User.role == Role.RELAIS_ADMIN))
    assert invited == 450
    messages = run_mail_queue(app)
    assert len([m for m in messages if m["To"].startswith("referente")]) == 450
    # Applied once: a second apply is refused.
    assert client.post(f"/api/v1/imports/{report['id']}/apply", headers=world.national).status_code == 409


def test_relais_already_known_or_repeated_is_an_error(app, client, world):
    known = world.a_siret
    content = "\n".join([RELAIS_HEADER,
                         f"X;ccas;{known};;33000;Bordeaux;connexion;R;r1@exemple.fr",
                         "Y;asso;" + (s := siret()) + ";;330;Bordeaux;wifi;R;pas-un-mail",
                         f"Z;ccas;{s};;33000;Bordeaux;connexion;R;r1@exemple.fr"])
    report = checked(app, client, world.national, "relais", content)
    problems = {(e["row"], e["column"]) for e in report["errors"]}
    assert {(2, "siret"), (3, "kind"), (3, "postcode"), (3, "dimensions"), (3, "referent_email"),
            (4, "referent_email")} <= problems


# --- users --------------------------------------------------------------------------


def test_relais_admin_invites_its_team(app, client, world):
    content = "email,name,role\nnina@exemple.fr,Nina,relais_worker\nomar@exemple.fr,Omar,chef\n"
    report = checked(app, client, world.admin_a, "users", content)
    assert report["status"] == "invalid" and report["errors"][0]["column"] == "role"
    content = "email,name,role\nnina@exemple.fr,Nina,relais_worker\n"
    report = checked(app, client, world.admin_a, "users", content)
    done = applied(app, client, world.admin_a, report["id"])
    assert done["created"] == 1, (done["status"], done["errors"], done["rows"])
    with as_national():
        nina = db.session.scalar(select(User).where(User.email == "nina@exemple.fr"))
        assert nina.relais_id == world.a and nina.role == Role.RELAIS_WORKER
    assert any(m["To"] == "nina@exemple.fr" for m in run_mail_queue(app))


def test_national_invites_users_of_any_relais_by_siret(app, client, world):
    content = (f"email;name;role;relais_siret\nlea@exemple.fr;Léa;relais_admin;{world.b_siret}\n"
               "max@exemple.fr;Max;relais_worker;00000000000000\n")
    report = checked(app, client, world.national, "users", content)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "relais_siret")]
    report = checked(app, client, world.national, "users", "\n".join(content.splitlines()[:2]))
    assert applied(app, client, world.national, report["id"])["status"] == "applied"
    with as_national():
        assert db.session.scalar(select(User.relais_id).where(User.email == "lea@exemple.fr")) == world.b


# --- beneficiaries ------------------------------------------------------------------


def test_beneficiaries_from_a_spreadsheet(app, client, world):
    rows = [BENEFICIARY_HEADER.split(";")]
    rows += [[f"Prénom{i}", f"Nom{i}", 1980 + i % 30, "", "oui", "fr", "oui", ""] for i in range(2000)]
    report = checked(app, client, world.admin_a, "beneficiaries", xlsx(rows), "registre.xlsx")
    assert report["status"] == "checked" and report["rows"] == 2000
    done = applied(app, client, world.admin_a, report["id"])
    assert done["created"] == 2000
    assert count(Beneficiary, TenantScope(relais_id=world.a)) == 2000
    assert count(Beneficiary, TenantScope(relais_id=world.b)) == 0


def test_beneficiaries_consent_rules_and_look_alikes(app, client, world):
    first = checked(app, client, world.admin_a, "beneficiaries",
                    BENEFICIARY_HEADER + "\nAmina;Diallo;1987;0612345678;non;fr;oui;\n")
    applied(app, client, world.admin_a, first["id"])
    content = "\n".join([
        BENEFICIARY_HEADER,
        "Amina;Diallo;1987;;oui;fr;oui;",        # looks like Amina Diallo: skipped
        "Amina;Diallo;1987;;oui;fr;oui;oui",     # create_anyway
        "Jean;Martin;;;oui;fr;non;",              # no consent
        "Paul;Durand;1990-05-04;;oui;xx;oui;",    # a date, not a year; unknown language
    ])
    report = checked(app, client, world.admin_a, "beneficiaries", content)
    problems = {(e["row"], e["column"]) for e in report["errors"]}
    assert problems == {(4, "consent"), (5, "birth_year"), (5, "language")}
    # An invalid file of people is not kept.
    with tenant_session(db.session, TenantScope(relais_id=world.a)) as session:
        assert session.get(ImportRun, report["id"]).content is None
    fixed = "\n".join(content.splitlines()[:3])
    report = checked(app, client, world.admin_a, "beneficiaries", fixed)
    assert [(w["row"], w["column"]) for w in report["warnings"]] == [(2, "last_name")]
    done = applied(app, client, world.admin_a, report["id"])
    assert (done["created"], done["skipped"]) == (1, 1)
    assert count(Beneficiary, TenantScope(relais_id=world.a)) == 2


@pytest.mark.parametrize("column", ["NIR", "Numéro de sécurité sociale", "date_de_naissance", "Santé",
                                    "revenus", "IBAN", "pays de naissance"])
def test_a_forbidden_column_refuses_the_whole_file(client, world, column):
    response = upload(client, world.admin_a, "beneficiaries",
                      f"first_name;last_name;consent;{column}\nA;B;oui;x\n")
    assert response.status_code == 422
    assert column in response.json["errors"]["file"][0]
    assert count(ImportRun, TenantScope(relais_id=world.a)) == 0


# --- stock --------------------------------------------------------------------------


def test_serials_received_into_national_stock(app, client, world):
    sim = make_product(sku="SIM-TEST", serial_kind="iccid")
    content = "sku;serial\n" + "\n".join(f"SIM-TEST;{iccid(i)}" for i in range(300))
    bad = content + f"\nSIM-TEST;{iccid(1)}\nSIM-TEST;8933011234\nNOPE;{iccid(9999)}\n"
    report = checked(app, client, world.national, "serials", bad)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (302, "serial"), (303, "serial"), (304, "sku")]
    report = checked(app, client, world.national, "serials", content)
    assert applied(app, client, world.national, report["id"])["created"] == 300
    with as_national():
        assert db.session.get(NationalStock, sim.id).on_hand == 300
    # Known serials are refused the second time.
    again = checked(app, client, world.national, "serials", content)
    assert again["status"] == "invalid" and again["error_count"] == 300


def test_opening_stock_of_relais_through_the_ledger(app, client, world):
    recharge = make_product(sku="RECH-TEST")
    make_product(sku="PHONE-TEST", category="smartphone", dimension="equipement", serial_kind="imei",
                 validity_days=None)
    imei = "35209900176148" + luhn_check_digit("35209900176148")
    content = (f"relais_siret;sku;quantity;serial\n{world.a_siret};RECH-TEST;25;\n"
               f"{world.a_siret};PHONE-TEST;;{imei}\n{world.b_siret};RECH-TEST;4;\n")
    report = checked(app, client, world.national, "relais_stock", content)
    assert report["status"] == "checked", report["errors"]
    applied(app, client, world.national, report["id"])
    with as_national():
        levels = {(r.relais_id, r.product_id): r.on_hand for r in db.session.scalars(select(RelaisStock))}
        assert levels[(world.a, recharge.id)] == 25 and levels[(world.b, recharge.id)] == 4
        reasons = set(db.session.scalars(select(RelaisStockMovement.reason)))
        assert reasons == {"reprise de l'existant"}
        unit = db.session.scalar(select(SerialUnit).where(SerialUnit.serial == imei))
        assert unit.status == UnitStatus.AT_RELAIS and unit.relais_id == world.a


def test_products_created_and_updated(app, client, world):
    make_product(sku="RECH-OLD", name="Ancien nom")
    content = ("sku;name;category;dimension;unit_price;max_resale_price;validity_days\n"
               "RECH-OLD;Nouveau nom;recharge;connexion;5;5;30\n"
               "RECH-NEW;Recharge Internet;recharge;connexion;2,50;2,50;14\n")
    report = checked(app, client, world.national, "products", content)
    done = applied(app, client, world.national, report["id"])
    assert (done["created"], done["updated"]) == (1, 1)
    listed = {p["sku"]: p for p in client.get("/api/v1/products?per_page=200", headers=world.national).json}
    assert listed["RECH-OLD"]["name"] == "Nouveau nom" and listed["RECH-NEW"]["unit_price_cents"] == 250


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(("content", "words"), [
    (b"%PDF-1.4 binary", "CSV"),
    (b"", "vide"),
    (b"\xef\xbb\xbf\r\n", "vide"),
    (b"sku;nom\nA;B\n", "Colonnes manquantes"),
    (b"PK\x03\x04 not really a workbook", "XLSX"),
    ("sku;serial\n".encode("latin-1") + "é".encode("latin-1"), "UTF-8"),
])
def test_unreadable_files_are_refused_at_once(client, world, content, words):
    response = upload(client, world.national, "serials", content)
    assert response.status_code == 422
    assert words in response.json["errors"]["file"][0]
    assert count(ImportRun) == 0


def test_a_file_over_the_size_limit_is_refused(app, client, world):
    app.config["IMPORT_MAX_BYTES"] = 1024
    try:
        response = upload(client, world.national, "serials", "sku;serial\n" + "X;1\n" * 600)
    finally:
        app.config.pop("IMPORT_MAX_BYTES")
    assert response.status_code == 422 and "volumineux" in response.json["errors"]["file"][0]


@pytest.mark.parametrize(("line", "column", "words"), [
    (";".join(["SIM-TEST"] * 300), "", "300 colonnes"),
    ("SIM-TEST;" + "8" * 1_048_576, "serial", "trop longue"),
    ('SIM-TEST;=HYPERLINK("http://x")', "serial", "Formule"),
])
def test_bad_rows_are_reported_and_nothing_is_written(app, client, world, line, column, words):
    make_product(sku="SIM-TEST", serial_kind="iccid")
    report = checked(app, client, world.national, "serials", f"sku;serial\nSIM-TEST;{iccid(1)}\n{line}\n")
    assert report["status"] == "invalid"
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, column)]
    assert words in report["errors"][0]["message"]
    assert client.post(f"/api/v1/imports/{report['id']}/apply", headers=world.national).status_code == 409
    assert count(SerialUnit) == 0


def test_a_formula_cell_of_a_workbook_is_refused(app, client, world):
    make_product(sku="SIM-TEST", serial_kind="iccid")
    report = checked(app, client, world.national, "serials",
                     xlsx([["sku", "serial"], ["SIM-TEST", "=1+1"]]), "serials.xlsx")
    assert report["errors"][0]["column"] == "serial" and "Formule" in report["errors"][0]["message"]


def test_apply_fails_whole_when_the_platform_changed_since_the_check(app, client, world):
    content = f"{RELAIS_HEADER}\nA;ccas;{(s := siret())};;33000;Bordeaux;connexion;R;ra@exemple.fr\n"
    first = checked(app, client, world.national, "relais", content)
    second = checked(app, client, world.national, "relais", content)
    applied(app, client, world.national, first["id"])
    failed = applied(app, client, world.national, second["id"])
    assert failed["status"] == "failed" and failed["errors"][0]["column"] == "siret"
    with as_national():
        assert db.session.scalar(select(func.count()).select_from(Relais).where(Relais.siret == s)) == 1


# --- scope and roles ----------------------------------------------------------------


def test_imports_belong_to_their_uploaders_scope(app, client, world):
    content = "email,name,role\nzoe@exemple.fr,Zoé,relais_worker\n"
    report = checked(app, client, world.admin_a, "users", content)
    url = f"/api/v1/imports/{report['id']}"
    for headers in (world.admin_b, world.national):
        assert client.get(url, headers=headers).status_code == 404
        assert client.post(f"{url}/apply", headers=headers).status_code == 404
    for headers in (world.worker_a, world.coach):
        assert client.get(url, headers=headers).status_code == 403
    assert client.get(url, headers=world.admin_a).status_code == 200


@pytest.mark.parametrize(("who", "kind"), [("admin_a", "relais"), ("admin_a", "serials"),
                                           ("admin_a", "products"), ("admin_a", "relais_stock"),
                                           ("national", "beneficiaries"), ("worker_a", "users")])
def test_kinds_are_reserved_to_their_roles(client, world, who, kind):
    response = upload(client, getattr(world, who), kind, "a;b\n1;2\n")
    assert response.status_code == 403


def test_unknown_kind_and_missing_file(client, world):
    assert "kind" in upload(client, world.national, "cats", "a\n1\n").json["errors"]
    response = client.post("/api/v1/imports", headers=world.national, data={"kind": "relais"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.json["errors"]


# --- templates ----------------------------------------------------------------------


def test_templates_carry_columns_meaning_and_an_example(client, world):
    response = client.get("/api/v1/imports/templates/relais.csv", headers=world.national)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == RELAIS_HEADER and "SIRET" in lines[1] and "Bordeaux" in lines[2]
    response = client.get("/api/v1/imports/templates/beneficiaries.xlsx", headers=world.admin_a)
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[1]][:2] == ["first_name", "last_name"]
    # Own relais only: no SIRET column for a relais admin's users template.
    header = client.get("/api/v1/imports/templates/users.csv", headers=world.admin_a).data.decode("utf-8-sig")
    assert header.splitlines()[0] == "email;name;role"
    assert client.get("/api/v1/imports/templates/relais.csv", headers=world.admin_a).status_code == 403


def test_a_filled_template_is_accepted_as_is(app, client, world):
    template = client.get("/api/v1/imports/templates/users.xlsx", headers=world.admin_a).data
    report = checked(app, client, world.admin_a, "users", template, "modele.xlsx")
    assert report["status"] == "checked" and report["rows"] == 1


# --- web ----------------------------------------------------------------------------


def test_web_upload_preview_and_apply(app, world):
    web = app.test_client(user=world.admin_a_user)
    page = web.get("/imports/")
    assert page.status_code == 200 and "Modèle CSV" in page.get_data(as_text=True)
    response = web.post("/imports/", data={"kind": "users", "file": (
        io.BytesIO(b"email,name,role\nyan@exemple.fr,Yan,relais_worker\n"), "equipe.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    run_jobs(app)
    detail = web.get(response.headers["Location"])
    text = detail.get_data(as_text=True)
    assert "yan@exemple.fr" in text and "Appliquer" in text
    import_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert web.post(f"/imports/{import_id}/apply").status_code == 303
    run_jobs(app)
    assert "Appliqué" in web.get(f"/imports/{import_id}").get_data(as_text=True)


def test_web_refusal_redisplays_the_form(app, world):
    web = app.test_client(user=world.admin_a_user)
    response = web.post("/imports/", data={"kind": "users", "file": (io.BytesIO(b""), "vide.csv")},
                        content_type="multipart/form-data")
    assert response.status_code == 422 and "vide" in response.get_data(as_text=True)


def test_menus_lead_to_imports(app, world):
    for user in (world.admin_a_user, world.national_user):
        page = app.test_client(user=user).get("/imports/")
        assert 'href="/imports/"' in page.get_data(as_text=True)


def test_web_pasted_serial_list(app, world):
    make_product(sku="SIM-TEST", serial_kind="iccid")
    web = app.test_client(user=world.national_user)
    pasted = "\n".join(iccid(i) for i in range(5)) + f" {iccid(5)}\t{iccid(6)}"
    response = web.post("/imports/", data={"kind": "serials", "sku": "SIM-TEST", "serials": pasted})
    assert response.status_code == 302
    run_jobs(app)
    import_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert web.post(f"/imports/{import_id}/apply").status_code == 303
    run_jobs(app)
    assert count(SerialUnit) == 7
    empty = web.post("/imports/", data={"kind": "serials", "sku": "SIM-TEST", "serials": ""})
    assert empty.status_code == 422


def test_a_refusal_while_writing_names_its_row_and_rolls_everything_back(app, client, world):
    make_user(Role.RELAIS_WORKER, db.session.get(Relais, world.b), email="pris@exemple.fr")
    content = ("email,name,role\nnouveau@exemple.fr,Nouveau,relais_worker\n"
               "pris@exemple.fr,Pris,relais_worker\n")
    report = checked(app, client, world.admin_a, "users", content)
    assert report["status"] == "checked"  # relais A cannot see relais B's staff
    failed = applied(app, client, world.admin_a, report["id"])
    assert failed["status"] == "failed"
    assert [(e["row"], e["column"]) for e in failed["errors"]] == [(3, "email")]
    with as_national():
        assert db.session.scalar(select(User).where(User.email == "nouveau@exemple.fr")) is None


# --- the list of imports ------------------------------------------------------------------

TEAM = "email,name,role\nzoe@exemple.fr,Zoé,relais_worker\n"


def test_the_list_shows_the_callers_own_imports_newest_first(app, client, world):
    team = "email,name,role\nzoe@exemple.fr,Zoé,relais_worker\n"
    first = checked(app, client, world.admin_a, "users", team)
    second = checked(app, client, world.admin_a, "users", "email,name,role\nx@exemple.fr,X,chef\n")
    theirs = checked(app, client, world.admin_b, "users", team)
    national = checked(app, client, world.national, "relais", relais_rows(2))
    response = client.get("/api/v1/imports", headers=world.admin_a)
    assert response.status_code == 200
    assert [run["id"] for run in response.json] == [second["id"], first["id"]]
    item = response.json[0]
    assert item["status"] == "invalid" and item["error_count"] == 1 and item["rows"] == 1
    assert {"id", "kind", "status", "rows", "valid_rows", "created", "updated", "progress", "filename",
            "created_at", "finished_at"} <= set(item)
    assert "errors" not in item and "warnings" not in item
    assert response.headers["X-Total-Count"] == "2" and '"exact": true' in response.headers["X-Pagination"]
    page = client.get("/api/v1/imports?per_page=1&page=2", headers=world.admin_a)
    assert [run["id"] for run in page.json] == [first["id"]]
    # Another relais' and the national team's imports are theirs alone.
    for headers, own in ((world.admin_b, theirs), (world.national, national)):
        assert [run["id"] for run in client.get("/api/v1/imports", headers=headers).json] == [own["id"]]
    for headers in (world.worker_a, world.coach):
        assert client.get("/api/v1/imports", headers=headers).status_code == 403


def test_the_list_filters_and_downloads(app, client, world):
    checked(app, client, world.admin_a, "users", "email,name,role\nzoe@exemple.fr,Zoé,relais_worker\n")
    checked(app, client, world.admin_a, "beneficiaries", BENEFICIARY_HEADER + "\nA;B;1980;;oui;fr;oui;\n")
    kinds = client.get("/api/v1/imports?kind=beneficiaries", headers=world.admin_a).json
    assert [r["kind"] for r in kinds] == ["beneficiaries"]
    assert client.get("/api/v1/imports?status=checked", headers=world.admin_a).headers["X-Total-Count"] == "2"
    assert client.get("/api/v1/imports?status=gone", headers=world.admin_a).status_code == 422
    response = client.get("/api/v1/imports?format=csv&kind=users", headers=world.admin_a)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert "errors" not in lines[0].split(";") and "error_count" in lines[0].split(";")
    assert len(lines) == 2 and "users" in lines[1]
    sheet = load_workbook(io.BytesIO(client.get("/api/v1/imports?format=xlsx", headers=world.admin_a).data))
    assert sheet.active.max_row == 3
    assert client.get("/api/v1/imports?format=csv", headers=world.worker_a).status_code == 403


def test_the_imports_page_lists_recent_imports_with_downloads(app, client, world):
    report = checked(app, client, world.admin_a, "users", TEAM)
    text = app.test_client(user=world.admin_a_user).get("/imports/").get_data(as_text=True)
    assert f'href="/imports/{report["id"]}"' in text and "Imports récents" in text
    assert "/api/v1/imports?format=csv" in text and "/api/v1/imports?format=xlsx" in text
    assert "7 jours" in text


# --- retention of the uploaded files ---------------------------------------------------------

PURGE = "relais_platform.imports.jobs.purge_import_files"


def _age(owner_engine, import_id: int, days: float) -> None:
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE imports SET created_at = now() - make_interval(secs => :s)"
                          " WHERE id = :id"), {"s": days * 86_400, "id": import_id})


def _stored(owner_engine, import_id: int):
    with owner_engine.connect() as conn:
        return conn.execute(text("SELECT status, content IS NOT NULL AS kept, preview FROM imports"
                                 " WHERE id = :id"), {"id": import_id}).one()


def test_a_file_never_applied_expires_after_the_limit(app, client, world, owner_engine):
    web = app.test_client(user=world.admin_a_user)  # signed in before the purge's sessions
    people = BENEFICIARY_HEADER + "\nAmina;Diallo;1987;;oui;fr;oui;\n"
    old = checked(app, client, world.admin_a, "beneficiaries", people)
    recent = checked(app, client, world.admin_a, "beneficiaries", people)
    national_old = checked(app, client, world.national, "relais", relais_rows(1))
    _age(owner_engine, old["id"], 7.1)
    _age(owner_engine, national_old["id"], 8)
    _age(owner_engine, recent["id"], 6.9)
    with app.app_context():
        assert jobs.run_job(PURGE, None, (), {}) == 2
        assert jobs.run_job(PURGE, None, (), {}) == 0  # nothing left to drop
    for expired in (old, national_old):
        status, kept, preview = _stored(owner_engine, expired["id"])
        assert (status, kept, preview) == ("expired", False, {})
    status, kept, preview = _stored(owner_engine, recent["id"])
    assert (status, kept) == ("checked", True) and preview["rows"]
    # The report says so, and applying is refused with a clear message; nothing is written.
    report = client.get(f"/api/v1/imports/{old['id']}", headers=world.admin_a).json
    assert report["status"] == "expired" and report["rows"] == 1 and report["finished_at"]
    refused = client.post(f"/api/v1/imports/{old['id']}/apply", headers=world.admin_a)
    assert refused.status_code == 409 and "7 jours" in refused.json["message"]
    assert "à nouveau" in refused.json["message"]
    national_apply = client.post(f"/api/v1/imports/{national_old['id']}/apply", headers=world.national)
    assert national_apply.status_code == 409
    assert count(Beneficiary, TenantScope(relais_id=world.a)) == 0
    # The recent one still applies.
    assert applied(app, client, world.admin_a, recent["id"])["status"] == "applied"
    page = web.get(f"/imports/{old['id']}").get_data(as_text=True)
    assert "Expiré" in page and "Amina" not in page and "Appliquer l'import" not in page
    assert web.post(f"/imports/{old['id']}/apply").status_code == 303


def test_the_limit_is_configurable(app, client, world, owner_engine):
    report = checked(app, client, world.admin_a, "users", TEAM)
    _age(owner_engine, report["id"], 2)
    app.config["IMPORT_RETENTION_DAYS"] = 1
    try:
        with app.app_context():
            assert jobs.run_job(PURGE, None, (), {}) == 1
    finally:
        app.config["IMPORT_RETENTION_DAYS"] = 7
    assert _stored(owner_engine, report["id"]).status == "expired"


def test_files_done_with_are_dropped_and_stalled_applies_fail(app, client, world, owner_engine):
    done = checked(app, client, world.admin_a, "users", TEAM)
    applied(app, client, world.admin_a, done["id"])
    bad = checked(app, client, world.admin_a, "users", "email,name,role\nx@exemple.fr,X,chef\n")
    stalled = checked(app, client, world.admin_b, "users", "email,name,role\ny@exemple.fr,Y,relais_worker\n")
    with owner_engine.begin() as conn:
        # As an apply job killed with its worker leaves it, and a file stored by an older version.
        conn.execute(text("UPDATE imports SET status = 'applying' WHERE id = :id"), {"id": stalled["id"]})
        conn.execute(text("UPDATE imports SET content = 'x' WHERE id = :id"), {"id": done["id"]})
    _age(owner_engine, stalled["id"], 8)
    assert _stored(owner_engine, done["id"]).kept and not _stored(owner_engine, bad["id"]).kept
    assert _stored(owner_engine, bad["id"]).preview["rows"]  # kept to correct the file
    with app.app_context():
        assert jobs.run_job(PURGE, None, (), {}) == 2
    assert _stored(owner_engine, done["id"])[:2] == ("applied", False)
    assert _stored(owner_engine, bad["id"])[:2] == ("invalid", False)
    status, kept, preview = _stored(owner_engine, stalled["id"])
    assert (status, kept, preview) == ("failed", False, {})
    report = client.get(f"/api/v1/imports/{stalled['id']}", headers=world.admin_b).json
    assert report["error_count"] == 1 and "rien n'a été enregistré" in report["errors"][0]["message"]
    # An invalid file's preview goes with the limit.
    _age(owner_engine, bad["id"], 8)
    with app.app_context():
        assert jobs.run_job(PURGE, None, (), {}) == 1
    assert _stored(owner_engine, bad["id"]).preview == {}


def test_the_purge_is_a_daily_job(app):
    from relais_platform.domains import periodic_jobs

    with app.app_context():
        assert any(job.func == PURGE for job in periodic_jobs())
