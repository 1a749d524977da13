"""The receipt handed to a beneficiary, in the language they read: HTML, then PDF (WeasyPrint,
imported on first use: it is slow to load).

The texts live in the small dictionary below rather than in the Babel catalogues: the
interface speaks French and English, while receipts speak the beneficiaries' languages
(French, English, Arabic, Ukrainian, Dari), and one reviewed table per language is easier
for a translator to check. Right-to-left languages set `dir="rtl"`; the page uses DejaVu
Sans (Debian's fonts-dejavu-core), which carries Arabic-script glyphs including the
Persian letters of Dari, and WeasyPrint shapes them with HarfBuzz. No web font, no CDN.
The styles are one static file, linked by the web page (the CSP refuses inline styles)
and handed to WeasyPrint for the PDF. (Pashto would need another font: DejaVu lacks ۍ.)

The receipt names no one: the person holds it, and the relais' records keep the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from babel.numbers import format_currency
from flask import render_template
from flask_babel import gettext as _

from relais_platform.domain import ValidationFailed
from relais_platform.stock.distributions.models import Distribution
from relais_platform.tenants.models import Relais

RTL = frozenset({"ar", "fa"})
# The html `lang` of each receipt language: "fa" is Dari, the Persian of Afghanistan.
LANG_TAGS = {"fr": "fr", "en": "en", "ar": "ar", "uk": "uk", "fa": "fa-AF"}
STYLESHEET = Path(__file__).resolve().parents[2] / "static" / "css" / "receipt.css"
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "ar": "العربية", "uk": "Українська", "fa": "دری (Dari)"}

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Reçu de remise", "number": "Reçu n°", "date": "Date", "product": "Produit",
        "serial": "Numéro de série", "quantity": "Quantité", "price": "Prix payé", "free": "Gratuit",
        "programme": "Programme", "standard": "Standard", "connect_refugees": "Connect Refugees",
        "valid_until": "Valable jusqu'au", "warranty_until": "Garantie jusqu'au", "relais": "Remis par",
        "contact": "Contact",
        "keep": "Conservez ce reçu : il vous sera demandé en cas de retour sous garantie.",
        "cancelled": "ANNULÉ",
    },
    "en": {
        "title": "Receipt", "number": "Receipt no.", "date": "Date", "product": "Product",
        "serial": "Serial number", "quantity": "Quantity", "price": "Price paid", "free": "Free",
        "programme": "Programme", "standard": "Standard", "connect_refugees": "Connect Refugees",
        "valid_until": "Valid until", "warranty_until": "Warranty until", "relais": "Given by",
        "contact": "Contact",
        "keep": "Keep this receipt: you will need it for a return under warranty.",
        "cancelled": "CANCELLED",
    },
    "ar": {
        "title": "إيصال استلام", "number": "رقم الإيصال", "date": "التاريخ", "product": "المنتج",
        "serial": "الرقم التسلسلي", "quantity": "الكمية", "price": "السعر المدفوع", "free": "مجاني",
        "programme": "البرنامج", "standard": "عادي", "connect_refugees": "Connect Refugees",
        "valid_until": "صالح حتى", "warranty_until": "الضمان حتى", "relais": "سُلِّم من طرف",
        "contact": "الاتصال",
        "keep": "احتفظ بهذا الإيصال: ستحتاجه عند إرجاع الجهاز في إطار الضمان.",
        "cancelled": "ملغى",
    },
    "uk": {
        "title": "Квитанція про отримання", "number": "Квитанція №", "date": "Дата", "product": "Товар",
        "serial": "Серійний номер", "quantity": "Кількість", "price": "Сплачена ціна",
        "free": "Безкоштовно", "programme": "Програма", "standard": "Стандартна",
        "connect_refugees": "Connect Refugees", "valid_until": "Дійсно до", "warranty_until": "Гарантія до",
        "relais": "Видано", "contact": "Контакти",
        "keep": "Збережіть цю квитанцію: вона знадобиться для повернення за гарантією.",
        "cancelled": "СКАСОВАНО",
    },
    # Dari (Afghan Persian), code "fa" in the API.
    "fa": {
        "title": "رسید دریافت", "number": "شماره رسید", "date": "تاریخ", "product": "جنس",
        "serial": "شماره سریال", "quantity": "تعداد", "price": "قیمت پرداخت‌شده", "free": "رایگان",
        "programme": "برنامه", "standard": "عادی", "connect_refugees": "Connect Refugees",
        "valid_until": "معتبر تا", "warranty_until": "ضمانت تا", "relais": "تحویل‌دهنده",
        "contact": "تماس",
        "keep": "این رسید را نگه دارید: برای بازگرداندن دستگاه در دوره ضمانت به آن نیاز دارید.",
        "cancelled": "لغو شد",
    },
}
LANGUAGES = tuple(TEXTS)


@dataclass(frozen=True)
class Receipt:
    lang: str
    texts: dict[str, str]
    distribution: Distribution
    relais: Relais
    serial: str | None
    price: str
    valid_until: date | None

    @property
    def direction(self) -> str:
        return "rtl" if self.lang in RTL else "ltr"

    @property
    def lang_tag(self) -> str:
        return LANG_TAGS[self.lang]


def language(value: str | None) -> str:
    lang = (value or "fr").strip().lower()
    if lang not in TEXTS:
        raise ValidationFailed.field("lang", _("Langues disponibles : %(langs)s.",
                                               langs=", ".join(LANGUAGES)))
    return lang


def build(distribution: Distribution, relais: Relais, lang: str) -> Receipt:
    texts = TEXTS[language(lang)]
    total = distribution.price_cents * distribution.quantity
    price = texts["free"] if total == 0 else format_currency(
        total / 100, "EUR", locale="en_GB" if lang == "en" else "fr_FR")
    validity = distribution.product.validity_days
    return Receipt(
        lang=lang, texts=texts, distribution=distribution, relais=relais,
        serial=distribution.unit.serial if distribution.unit else None, price=price,
        valid_until=distribution.distributed_on + timedelta(days=validity) if validity else None,
    )


def filename(distribution: Distribution, lang: str) -> str:
    return f"recu-{distribution.id}-{lang}.pdf"


def render_html(receipt: Receipt, *, web: bool = False) -> str:
    """The receipt page; `web` adds the language choice and the PDF link (not printed)."""
    return render_template("distributions/receipt.html", receipt=receipt, r=receipt.texts, web=web,
                           language_names=LANGUAGE_NAMES, lang_tags=LANG_TAGS)


def render_pdf(receipt: Receipt) -> bytes:
    from weasyprint import CSS, HTML

    return HTML(string=render_html(receipt)).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])
