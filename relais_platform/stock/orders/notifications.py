"""Order e-mails: rendered now (the request's language), delivered by RQ after commit.

- submission → the national team. A relais session cannot see national staff (row-level
  security on users), so the rendered message goes to a job that resolves the recipients
  outside any tenant;
- allocation (free order: ready to ship) or payment due, and shipment → the relais' active
  admins (the relais' contact address when it has none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from flask import current_app, render_template
from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import select

from relais_platform import jobs, mail
from relais_platform.accounts.models import Role, User
from relais_platform.extensions import db
from relais_platform.stock.orders.models import Order, PaymentRoute


def euros(cents: int) -> str:
    return format_currency(cents / 100, "EUR")


def _context(order: Order) -> dict:
    return {"order": order, "euros": euros, "base_url": current_app.config["PUBLIC_BASE_URL"]}


def mail_national_team(subject: str, body: str) -> int:
    """Job: send a rendered message to every active national user."""
    emails = list(db.session.scalars(
        select(User.email).where(User.role == Role.NATIONAL, User.active.is_(True)).order_by(User.id)
    ))
    for email in emails:
        mail.send(email, subject, body)
    return len(emails)


def order_submitted(order: Order) -> None:
    subject = _("Nouvelle commande n° %(id)d de %(relais)s", id=order.id, relais=order.relais.name)
    body = render_template("stock/mail/order_submitted.txt", **_context(order))
    jobs.enqueue_after_commit(mail_national_team, subject, body)


def relais_recipients(relais_ids: Iterable[int]) -> dict[int, list[str]]:
    """Active relais admins' addresses per relais (one query)."""
    ids = sorted(set(relais_ids))
    found: dict[int, list[str]] = defaultdict(list)
    if ids:
        for relais_id, email in db.session.execute(
            select(User.relais_id, User.email)
            .where(User.relais_id.in_(ids), User.role == Role.RELAIS_ADMIN, User.active.is_(True))
            .order_by(User.id)
        ):
            found[relais_id].append(email)
    return found


def _to_relais(order: Order, recipients: dict[int, list[str]], subject: str, template: str,
               attachments: list[tuple[str, str, bytes]] | None = None) -> None:
    emails = recipients.get(order.relais_id) or [e for e in [order.relais.contact_email] if e]
    if not emails:
        return
    body = render_template(template, **_context(order))
    for email in emails:
        mail.send(email, subject, body, attachments)


def orders_allocated(orders: Sequence[Order]) -> None:
    """Free orders: allocated and on their way soon; others: the amount to pay and how."""
    recipients = relais_recipients(order.relais_id for order in orders)
    for order in orders:
        if order.payment_route == PaymentRoute.FREE:
            _to_relais(order, recipients, _("Commande n° %(id)d allouée", id=order.id),
                       "stock/mail/order_allocated.txt")
        else:
            _to_relais(order, recipients,
                       _("Commande n° %(id)d allouée : paiement de %(amount)s attendu",
                         id=order.id, amount=euros(order.total_cents)),
                       "stock/mail/payment_due.txt")


def order_shipped(order: Order, delivery_note: Callable[[], tuple[str, str, bytes]]) -> None:
    """The relais is told, with the delivery note attached: `delivery_note()` renders it as
    (file name, MIME type, content), only when a message will really leave."""
    if mail.is_silenced():
        return
    _to_relais(order, relais_recipients([order.relais_id]),
               _("Commande n° %(id)d expédiée", id=order.id), "stock/mail/order_shipped.txt",
               [delivery_note()])
