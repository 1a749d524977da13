"""Distributions on the web and the beneficiary's receipt: forms redisplayed with messages,
another relais' distribution is a 404 everywhere, receipts in five languages with
right-to-left scripts laid out right to left in the PDF and glyphs the fonts carry."""

from __future__ import annotations

import re
import zlib

import pytest
from fontTools.ttLib import TTFont
from sqlalchemy import text

from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.distributions import receipts as receipts_pdf
from relais_platform.stock.distributions import services as distributions
from relais_platform.tenancy import TenantScope, tenant_session
from relais_platform.tenants.models import Relais
from tests.factories import make_distribution, make_distribution_world, make_user

# The fonts the receipt names (Debian's fonts-dejavu-core: regular for values, bold for labels).
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@pytest.fixture
def world(app):
    with app.app_context():
        world = make_distribution_world()
        a, b = db.session.get(Relais, world.a), db.session.get(Relais, world.b)
        a.terms_accepted_at = b.terms_accepted_at = a.created_at
        db.session.commit()
        world.users = {
            "worker": make_user(Role.RELAIS_WORKER, a).id,
            "b_worker": make_user(Role.RELAIS_WORKER, b).id,
            "national": make_user(Role.NATIONAL).id,
        }
        world.phone_sale = make_distribution(world.a, "PHONE-D", price_cents=3000, serial=world.phones[0],
                                             beneficiary_id=world.person_a)
        world.recharge_sale = make_distribution(world.a, "REC-D", quantity=2)
        db.session.remove()
        return world


def _browser(app, world, who):
    with app.app_context():
        return app.test_client(user=db.session.get(User, world.users[who]))


def _on_hand(owner_engine, relais_id: int, product_id: int) -> int:
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.relais_ids', '*', true)"))
        return conn.scalar(text("SELECT on_hand FROM relais_stock WHERE relais_id = :r AND product_id = :p"),
                           {"r": relais_id, "p": product_id})


FORM = {"sku": "REC-D", "quantity": "1", "price": "2,50", "programme": "standard", "beneficiary_id": ""}


def test_the_form_records_a_distribution_and_lists_it(app, world, owner_engine):
    browser = _browser(app, world, "worker")
    page = browser.get("/distributions/new?sku=REC-D&q=zenobie")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Zénobie Quastreaux" in html and "5,00" in html  # the cap is shown
    response = browser.post("/distributions/new", data={**FORM, "beneficiary_id": str(world.person_a)})
    assert response.status_code == 302
    assert _on_hand(owner_engine, world.a, world.recharge_id) == 7
    listing = browser.get("/distributions/").get_data(as_text=True)
    assert "REC-D" in listing and f"Fiche n° {world.person_a}" in listing


@pytest.mark.parametrize("changes, status, message", [
    ({"price": "6"}, 422, "5,00"),  # above the cap, which the message names
    ({"price": "deux euros"}, 422, "REC-D"),
    ({"quantity": "9"}, 409, "Recharge Mobile + Internet"),  # 8 left: the product is named
    ({"quantity": "0"}, 422, "quantité"),
    ({"date": "2999-01-01"}, 422, "futur"),
])
def test_refused_input_redisplays_the_form_with_its_message_and_values(app, world, owner_engine, changes,
                                                                      status, message):
    browser = _browser(app, world, "worker")
    # To a registered person: connection goes to registered people only.
    data = {**FORM, "beneficiary_id": str(world.person_a), **changes}
    response = browser.post("/distributions/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == status and message in html, html[-3000:]
    assert 'role="alert"' in html and 'name="price"' in html
    if "price" in changes:
        assert f'value="{changes["price"]}"' in html
    assert _on_hand(owner_engine, world.a, world.recharge_id) == 8


def test_cancel_and_warranty_return_from_the_detail_page(app, world, owner_engine):
    browser = _browser(app, world, "worker")
    url = f"/distributions/{world.recharge_sale}"
    assert browser.get(url).status_code == 200
    refused = browser.post(f"{url}/cancel", data={"reason": " "})
    assert refused.status_code == 422 and "raison" in refused.get_data(as_text=True)
    assert browser.post(f"{url}/cancel", data={"reason": "Erreur de saisie"}).status_code == 302
    assert _on_hand(owner_engine, world.a, world.recharge_id) == 10
    phone = f"/distributions/{world.phone_sale}/warranty-return"
    assert browser.post(phone, data={"outcome": "defective", "note": ""}).status_code == 422
    assert browser.post(phone, data={"outcome": "defective", "note": "Écran noir"}).status_code == 302
    assert "Défectueux" in browser.get(f"/distributions/{world.phone_sale}").get_data(as_text=True)


def test_another_relais_gets_404_on_every_distribution_route(app, client, world):
    foreign = _browser(app, world, "b_worker")
    for distribution_id in (world.phone_sale, world.recharge_sale):
        base = f"/distributions/{distribution_id}"
        for url in (base, f"{base}/receipt", f"{base}/receipt?lang=ar", f"{base}/receipt.pdf"):
            assert foreign.get(url).status_code == 404, url
        for url, data in ((f"{base}/cancel", {"reason": "x"}),
                          (f"{base}/warranty-return", {"outcome": "returned", "note": "x"})):
            assert foreign.post(url, data=data).status_code == 404, url
        api = f"/api/v1/distributions/{distribution_id}"
        assert client.get(api, headers=world.b_admin).status_code == 404
        assert client.get(f"{api}/receipt", headers=world.b_admin).status_code == 404
        assert client.post(f"{api}/cancel", json={"reason": "x"}, headers=world.b_admin).status_code == 404
        assert client.post(f"{api}/warranty-return", json={"outcome": "returned", "note": "x"},
                           headers=world.b_admin).status_code == 404
    assert client.get("/api/v1/distributions", headers=world.b_admin).json == []
    assert foreign.get("/distributions/").status_code == 200
    # National and coach users never reach distributions (they may name a beneficiary).
    national = _browser(app, world, "national")
    assert national.get(f"/distributions/{world.phone_sale}").status_code == 403
    for headers in (world.national, world.coach):
        assert client.get("/api/v1/distributions", headers=headers).status_code == 403
        assert client.get(f"/api/v1/distributions/{world.phone_sale}", headers=headers).status_code == 403


# --- receipts ----------------------------------------------------------------------------

TITLES = {"fr": "Reçu de remise", "en": "Receipt", "ar": "إيصال استلام", "uk": "Квитанція про отримання",
          "fa": "رسید دریافت"}


@pytest.mark.parametrize("lang", receipts_pdf.LANGUAGES)
def test_receipt_page_and_pdf_in_each_language(app, client, world, lang):
    assert set(receipts_pdf.LANGUAGES) == set(TITLES)
    browser = _browser(app, world, "worker")
    page = browser.get(f"/distributions/{world.phone_sale}/receipt", query_string={"lang": lang})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and TITLES[lang] in html
    direction = "rtl" if lang in ("ar", "fa") else "ltr"
    assert f'<html lang="{receipts_pdf.LANG_TAGS[lang]}" dir="{direction}">' in html
    # What the beneficiary needs, and no name: the person holds the receipt.
    for needed in (world.phones[0], "PHONE-D", "Relais Garonne", "05 56 00 00 00", "garonne@example.org"):
        assert needed in html
    assert "Zénobie" not in html and "Quastreaux" not in html
    # Styles from the app's static file: the CSP refuses inline styles.
    assert "<style" not in html and "css/receipt.css" in html
    assert "Content-Security-Policy" in page.headers
    pdf = client.get(f"/api/v1/distributions/{world.phone_sale}/receipt", query_string={"lang": lang},
                     headers=world.worker)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert _embedded_fonts(pdf.data) and all("DejaVu-Sans" in name for name in _embedded_fonts(pdf.data))


def _embedded_fonts(pdf: bytes) -> set[str]:
    """Names of the fonts a PDF embeds (its objects may sit in compressed object streams)."""
    chunks = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return {name.decode() for chunk in chunks for name in re.findall(rb"/BaseFont\s*/([\w+-]+)", chunk)}


def test_unknown_receipt_language_is_a_422(client, world):
    response = client.get(f"/api/v1/distributions/{world.phone_sale}/receipt", query_string={"lang": "xx"},
                          headers=world.worker)
    assert response.status_code == 422 and "lang" in str(response.json["errors"])


def test_receipt_fonts_carry_every_glyph_of_every_language():
    for path in FONTS:
        cmap = TTFont(path).getBestCmap()
        for lang, texts in receipts_pdf.TEXTS.items():
            missing = {c for c in "".join(texts.values()) if not c.isspace() and ord(c) not in cmap}
            missing.discard("\u200c")  # zero-width non-joiner: shaping only, no glyph
            assert not missing, (path, lang, missing)


def _label_and_value_x(app, world, lang: str) -> tuple[float, float]:
    """Horizontal positions of the 'date' label and its value in the laid-out PDF page."""
    from weasyprint import CSS, HTML
    from weasyprint.formatting_structure import boxes

    with app.test_request_context(), tenant_session(db.session, TenantScope(relais_id=world.a)):
        distribution = distributions.get(world.phone_sale)
        receipt = receipts_pdf.build(distribution, db.session.get(Relais, world.a), lang)
        html = receipts_pdf.render_html(receipt)
        document = HTML(string=html).render(stylesheets=[CSS(filename=str(receipts_pdf.STYLESHEET))])
        day = distribution.distributed_on.strftime("%d/%m/%Y")
        db.session.remove()
    found: dict[str, float] = {}

    def walk(box) -> None:
        if isinstance(box, boxes.TextBox):
            if box.text.strip() == receipts_pdf.TEXTS[lang]["date"]:
                found["label"] = box.position_x
            elif box.text.strip() == day:
                found.setdefault("value", box.position_x)
        for child in getattr(box, "children", ()):
            walk(child)

    walk(document.pages[0]._page_box)
    return found["label"], found["value"]


@pytest.mark.parametrize("lang", receipts_pdf.LANGUAGES)
def test_right_to_left_receipts_are_laid_out_right_to_left_in_the_pdf(app, world, lang):
    label, value = _label_and_value_x(app, world, lang)
    if lang in receipts_pdf.RTL:
        assert label > value, (lang, label, value)  # the label on the right, its value to its left
    else:
        assert label < value, (lang, label, value)


def test_the_persons_export_lists_what_they_received_and_a_merge_moves_it(app, client, world):
    export = client.get(f"/api/v1/beneficiaries/{world.person_a}/export", headers=world.admin).json
    assert [(d["sku"], d["serial"], d["price_cents"]) for d in export["distributions"]] == [
        ("PHONE-D", world.phones[0], 3000)]
    assert export["distributions"][0]["warranty_ends_on"]
    pdf = client.get(f"/api/v1/beneficiaries/{world.person_a}/export?format=pdf", headers=world.admin)
    assert pdf.status_code == 200
    twin = client.post("/api/v1/beneficiaries", headers=world.worker, json={
        "first_name": "Zénobie", "last_name": "Quastreaux", "no_phone": True, "consent": True}).json
    assert twin["possible_duplicates"] == [world.person_a]
    merged = client.post("/api/v1/beneficiaries/merge",
                         json={"keep_id": twin["id"], "merge_id": world.person_a}, headers=world.admin)
    assert merged.status_code == 200, merged.json
    moved = client.get("/api/v1/distributions", query_string={"beneficiary_id": twin["id"]},
                       headers=world.worker)
    assert [d["id"] for d in moved.json] == [world.phone_sale]


def test_the_persons_page_lists_what_they_received(app, world):
    html = _browser(app, world, "worker").get(f"/beneficiaires/{world.person_a}").get_data(as_text=True)
    assert f"/distributions/{world.phone_sale}" in html and world.phones[0] in html
    assert f"/distributions/{world.recharge_sale}" not in html  # anonymous: nobody's


def test_the_detail_page_keeps_the_site_language_switch(app, world):
    """The receipt's languages are the page's own: the layout still offers French and English
    only, each button named (a nameless button was a critical accessibility violation)."""
    html = _browser(app, world, "worker").get(f"/distributions/{world.recharge_sale}").get_data(as_text=True)
    switch = html.split('class="lang-switch"')[1].split("</div>")[0]
    assert re.findall(r'lang="(\w+)"', switch) == ["fr", "en"]
    assert "Français" in switch and "English" in switch
    receipts = html.split('class="receipt-languages"')[1].split("</ul>")[0]
    assert receipts.count("<li>") > 2
