"""The main menu, per role: the one place listing its entries and groups.

A feature adds its page with one line in `MENU` (label, endpoint, the roles that see it, the
group it sits in). `base.html` renders `menu()` through the `site_menu` macro: a group with a
single entry shows as a plain link, a larger one as a disclosure (`<details>`), so that every
role's menu fits one row at 1280 px and folds behind a "Menu" button on a phone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

NATIONAL = ("national",)
COACH = ("coach",)
STAFF = ("relais_admin", "relais_worker")
ADMIN = ("relais_admin",)
EVERYONE = (*NATIONAL, *COACH, *STAFF)

# Groups, in the order they appear (an entry without a group stands on its own).
GROUPS: dict[str, Any] = {
    "network": _l("Réseau"),
    "people": _l("Bénéficiaires"),
    "stock": _l("Stock"),
    "activity": _l("Activité"),
    "training": _l("Formation"),
}


@dataclass(frozen=True)
class Entry:
    label: Any
    endpoint: str
    roles: tuple[str, ...]
    group: str | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    # Other endpoints (or prefixes ending with ".") under which this entry is the current page.
    current: tuple[str, ...] = ()
    # Shown only when this returns true (e.g. a page that exists only without a mail server).
    when: Callable[[], bool] | None = None


def _outbox_shown() -> bool:
    return not current_app.config.get("MAIL_SERVER")


MENU: list[Entry] = [
    Entry(_l("Tableau de bord"), "dashboards.national", NATIONAL, current=("dashboards.",)),
    Entry(_l("Tableau de bord"), "dashboards.coach", COACH, current=("dashboards.",)),
    Entry(_l("Tableau de bord"), "dashboards.relais", STAFF, current=("dashboards.",)),
    Entry(_l("Relais"), "accounts.home", NATIONAL, "network"),
    Entry(_l("Candidatures"), "accounts.home", NATIONAL, "network", {"status": "applied"}),
    Entry(_l("Créer un relais"), "tenants.create", NATIONAL, "network"),
    Entry(_l("Progression des relais"), "training.national_progress", NATIONAL, "network"),
    Entry(_l("Thèmes d'ateliers"), "beneficiaries.theme_list", NATIONAL, "network"),
    Entry(_l("Imports"), "imports.index", (*NATIONAL, *ADMIN), "network", current=("imports.",)),
    Entry(_l("Journal"), "audit.log", (*NATIONAL, *ADMIN), "network", current=("audit.",)),
    Entry(_l("Mon portefeuille"), "accounts.home", COACH),
    Entry(_l("Progression et coaching"), "training.coach_dashboard", COACH),
    Entry(_l("Mon relais"), "accounts.home", STAFF, current=("tenants.",)),
    Entry(_l("Personnes"), "beneficiaries.index", STAFF, "people",
          current=("beneficiaries.create", "beneficiaries.detail", "beneficiaries.edit",
                   "beneficiaries.erase", "beneficiaries.merge")),
    Entry(_l("Accompagnement"), "beneficiaries.sessions", STAFF, "people",
          current=("beneficiaries.new_session",)),
    Entry(_l("Commandes"), "stock.order_list", (*NATIONAL, *STAFF), "stock",
          current=("stock.order_", "stock.fair_split")),
    Entry(_l("Stock national"), "stock.national_stock", NATIONAL, "stock",
          current=("stock.national_movements",)),
    Entry(_l("Catalogue"), "stock.catalogue_list", NATIONAL, "stock", current=("stock.catalogue_",)),
    Entry(_l("Rapports de stock"), "distributions.national", NATIONAL, "stock"),
    Entry(_l("Approvisionnement"), "supply.suppliers", NATIONAL, "stock", current=("supply.",)),
    Entry(_l("Inventaire"), "stock.inventory_page", STAFF, "stock"),
    Entry(_l("Distributions"), "distributions.index", STAFF, "stock",
          current=("distributions.new", "distributions.detail", "distributions.receipt")),
    Entry(_l("Rapports de stock"), "distributions.report_latest", STAFF, "stock",
          current=("distributions.report", "distributions.report_list")),
    Entry(_l("Bilan annuel"), "reporting.bilan", EVERYONE, "activity",
          current=("reporting.export_status",)),
    Entry(_l("Rapport d'activité"), "activity.report", EVERYONE, "activity", current=("activity.",)),
    Entry(_l("Financeurs et conventions"), "funders.index", NATIONAL, "activity", current=("funders.",)),
    Entry(_l("Conventions"), "funders.index", (*COACH, *ADMIN), "activity", current=("funders.",)),
    Entry(_l("Événements"), "reporting.event_list", STAFF, "activity", current=("reporting.event_",)),
    Entry(_l("Sessions de formation"), "training.index", EVERYONE, "training",
          current=("training.session_detail",)),
    Entry(_l("Modules"), "training.modules", NATIONAL, "training"),
    Entry(_l("Exports qualité"), "training.export_list", NATIONAL, "training"),
    Entry(_l("Mes formations"), "training.my_training", STAFF, "training"),
    Entry(_l("Progression et coaching"), "training.own_progress", STAFF, "training",
          current=("training.relais_progress",)),
    Entry(_l("Boîte d'envoi"), "mail.outbox", NATIONAL, current=("mail.message",), when=_outbox_shown),
    Entry(_l("Mon compte"), "accounts.account", EVERYONE, current=("accounts.two_factor_setup",)),
]


@dataclass(frozen=True)
class Link:
    label: Any
    url: str
    current: bool


@dataclass(frozen=True)
class Item:
    """A link, or a group of links (`links` has several) under `label`."""

    label: Any
    links: list[Link]

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


def _is_current(entry: Entry) -> bool:
    endpoint = request.endpoint or ""
    if endpoint == entry.endpoint:
        return all(request.args.get(k) == v for k, v in entry.args.items()) and (
            bool(entry.args) or not any(k in request.args for e in MENU if e.endpoint == endpoint
                                        for k in e.args))
    return any(endpoint.startswith(c) if c.endswith(".") or c.endswith("_") else endpoint == c
               for c in entry.current)


def menu(role: str) -> list[Item]:
    """The entries `role` sees, grouped, in the order of `MENU` (a group where its first entry is)."""
    items: list[Item] = []
    grouped: dict[str, Item] = {}
    for entry in MENU:
        if role not in entry.roles or (entry.when is not None and not entry.when()):
            continue
        args: dict[str, Any] = dict(entry.args)
        link = Link(entry.label, url_for(entry.endpoint, **args), _is_current(entry))
        if entry.group is None:
            items.append(Item(entry.label, [link]))
        elif entry.group in grouped:
            grouped[entry.group].links.append(link)
        else:
            grouped[entry.group] = Item(GROUPS[entry.group], [link])
            items.append(grouped[entry.group])
    return items


def init_app(app: Flask) -> None:
    @app.context_processor
    def inject_menu() -> dict[str, Any]:
        def site_menu() -> list[Item]:
            if not current_user.is_authenticated:
                return []
            return menu(current_user.role.value)

        return {"site_menu_items": site_menu}
