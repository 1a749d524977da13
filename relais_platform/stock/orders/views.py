"""Web pages for stock and orders: thin views over the services, mirroring the REST API.

Every route taking an order id first checks the role family (coaches: 403), then looks the
order up through the session's scope (another relais' order: 404), and only then checks the
action's own role (403), so that a 403 never confirms that another relais' order exists.
Refused actions re-render their page with the services' messages; the request rolls back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import and_, or_, select
from werkzeug.wrappers import Response as BaseResponse

from relais_platform.accounts.auth import roles_required
from relais_platform.accounts.forms import add_errors
from relais_platform.accounts.models import Role
from relais_platform.domain import DomainError, ValidationFailed
from relais_platform.extensions import db
from relais_platform.stock.blueprints import stock_bp as bp
from relais_platform.stock.catalogue import services as catalogue
from relais_platform.stock.fields import line_value
from relais_platform.stock.orders import (
    allocation,
    delivery_note,
    payments,
    picking,
    shipments,
    shipping,
    stripe_gateway,
)
from relais_platform.stock.orders import services as orders
from relais_platform.stock.orders.forms import (
    CancelForm,
    ManualPaymentForm,
    OrderFilterForm,
    SubmitForm,
)
from relais_platform.stock.orders.models import Order, OrderStatus, PaymentRoute
from relais_platform.stock.pages import (
    NATIONAL,
    ORDERING,
    PAGE_SIZE,
    READERS,
    Page,
    actor_names,
    discard_refused,
    error_messages,
    form_int,
    is_national,
    page_number,
    posted_lines,
    require_role,
)
from relais_platform.stock.scope import national_scope
from relais_platform.stock.warehouse import locations
from relais_platform.tenants.models import Relais, RelaisStatus


@bp.app_template_filter("order_status_label")
def _order_status_label(status: OrderStatus | str) -> str:
    return orders.status_label(OrderStatus(status))


def _order(order_id: int, *, lock: bool = False) -> Order:
    """The order as the current user may see it: another relais' order is a 404."""
    orders.reader_scope(_("consultation d'une commande"))
    return orders.get_order(order_id, lock=lock)


@bp.get("/")
@roles_required(*READERS)
def index() -> BaseResponse:
    return redirect(url_for("stock.order_list"))


def _active_relais_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(Relais.id, Relais.name).where(Relais.status == RelaisStatus.ACTIVE).order_by(Relais.name)
    )
    return [(str(rid), name) for rid, name in rows]


@bp.get("/orders")
@roles_required(*READERS)
def order_list() -> Page:
    filters = OrderFilterForm(formdata=request.args)
    national_user = is_national()
    if national_user:
        filters.relais_id.choices = [("", _("Tous")), *_active_relais_choices()]
    status = filters.status_value()
    relais_id = filters.relais_value() if national_user else None
    stmt = orders.order_query(status=status, relais_id=relais_id)
    page = db.paginate(stmt, page=page_number(), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE,
                       error_out=False)
    query = {key: value for key, value in (("status", status and status.value),
                                           ("relais_id", relais_id)) if value}
    return render_template(
        "stock/orders.html",
        filters=filters,
        page=page,
        estimates={order.id: orders.estimated_cents(order) for order in page.items},
        query=query,
        national=national_user,
        can_order=current_user.role in ORDERING,
        title=_("Commandes du réseau") if national_user else _("Commandes du relais"),
    )


def _order_form_page(
    relais: Relais,
    *,
    order: Order | None,
    values: Mapping[str, Any],
    errors: Mapping[str, list[str]] | None = None,
    messages: list[str] | None = None,
    code: int = 200,
) -> tuple[str, int]:
    """The product lines a relais may order, with national available stock beside each."""
    products = list(db.session.scalars(
        catalogue.products_query(active=True, dimensions=list(relais.dimensions or []))
    ))
    if order is not None:
        # A draft may hold a product withdrawn since: show it so that it can be removed.
        listed = {product.id for product in products}
        products += [line.product for line in order.lines if line.product_id not in listed]
    return render_template(
        "stock/order_form.html",
        relais=relais,
        order=order,
        products=products,
        available=orders.available_by_product(product.id for product in products),
        values=values,
        errors=errors or {},
        messages=messages or [],
        national=is_national(),
        title=(_("Modifier la commande n° %(id)d", id=order.id) if order
               else _("Nouvelle commande pour %(name)s", name=relais.name) if is_national()
               else _("Nouvelle commande")),
    ), code


def _ordered_lines(skus: Iterable[str]) -> list[tuple[str, Any]]:
    """(sku, quantity) of the lines filled in; 0 or empty means "not ordered"."""
    lines = []
    for sku in skus:
        value = line_value(request.form.get(f"qty-{sku}"))
        if value is not None and value != 0:
            lines.append((sku, value))
    return lines


@bp.route("/orders/new", methods=["GET", "POST"])
@roles_required(*ORDERING)
def order_new() -> Page:
    national_user = is_national()
    if national_user:
        raw = request.values.get("relais_id", "")
        relais = db.session.get(Relais, int(raw)) if raw.isdigit() else None
        if relais is None:
            return render_template("stock/choose_relais.html", relais_choices=_active_relais_choices(),
                                   error=bool(raw), title=_("Commander pour un relais")), 422 if raw else 200
    else:
        relais = current_user.relais
    if request.method == "GET":
        return _order_form_page(relais, order=None, values={})
    skus = [product.sku for product in db.session.scalars(
        catalogue.products_query(active=True, dimensions=list(relais.dimensions or [])))]
    values = posted_lines("qty", skus)
    try:
        order = orders.create_order(relais, _ordered_lines(skus), placed_by_national=national_user,
                                    note=(request.form.get("note") or "").strip() or None)
    except ValidationFailed as exc:
        discard_refused()
        return _order_form_page(relais, order=None, values=values, errors=exc.errors,
                                messages=error_messages(exc), code=422)
    flash(_("Brouillon de commande n° %(id)d enregistré. Vérifiez-le puis soumettez-le.", id=order.id),
          "success")
    return redirect(url_for("stock.order_detail", order_id=order.id))


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@roles_required(*READERS)
def order_edit(order_id: int) -> Page:
    order = _order(order_id)
    require_role(*ORDERING)
    if order.status != OrderStatus.DRAFT:
        flash(_("Seul un brouillon peut être modifié."), "error")
        return redirect(url_for("stock.order_detail", order_id=order.id))
    if request.method == "GET":
        return _order_form_page(order.relais, order=order,
                                values={line.product.sku: str(line.requested) for line in order.lines})
    skus = [product.sku for product in db.session.scalars(
        catalogue.products_query(active=True, dimensions=list(order.relais.dimensions or [])))]
    skus += [line.product.sku for line in order.lines if line.product.sku not in skus]
    values = posted_lines("qty", skus)
    try:
        orders.update_draft(order, _ordered_lines(skus))
    except DomainError as exc:
        discard_refused()
        order = _order(order_id)
        return _order_form_page(order.relais, order=order, values=values, errors=exc.errors,
                                messages=error_messages(exc), code=exc.status)
    flash(_("Brouillon enregistré."), "success")
    return redirect(url_for("stock.order_detail", order_id=order.id))


def _detail_page(
    order: Order,
    *,
    messages: list[str] | None = None,
    line_errors: Mapping[str, list[str]] | None = None,
    allocation_values: Mapping[str, str] | None = None,
    payment_form: ManualPaymentForm | None = None,
    cancel_form: CancelForm | None = None,
    code: int = 200,
) -> tuple[str, int]:
    events = orders.order_events(order)
    order_payments = payments.order_payments(order)
    available = orders.available_by_product(line.product_id for line in order.lines)
    if allocation_values is None:
        allocation_values = {
            line.product.sku: str(line.allocated or min(line.requested, max(0, available[line.product_id])))
            for line in order.lines
        }
    role = current_user.role
    national_user = role == Role.NATIONAL
    status = order.status
    return render_template(
        "stock/order_detail.html",
        order=order,
        events=events,
        actors=actor_names([event.actor_id for event in events]
                            + [payment.recorded_by_id for payment in order_payments]),
        payments=order_payments,
        paid_cents=payments.amount_paid(order),
        available=available,
        amount_cents=(order.total_cents if status not in (OrderStatus.DRAFT, OrderStatus.SUBMITTED)
                      else orders.estimated_cents(order)),
        national=national_user,
        can_edit=role in ORDERING and status == OrderStatus.DRAFT,
        can_cancel=(status not in (OrderStatus.CANCELLED,) and orders.RANK.get(status, 99)
                    < orders.RANK[OrderStatus.SHIPPED]
                    and (national_user or (role == Role.RELAIS_ADMIN and status in (
                        OrderStatus.DRAFT, OrderStatus.SUBMITTED)
                        and not any(line.allocated for line in order.lines)))),
        can_allocate=national_user and status == OrderStatus.SUBMITTED,
        can_pay=role == Role.RELAIS_ADMIN and status == OrderStatus.AWAITING_PAYMENT,
        can_record_payment=national_user and status == OrderStatus.AWAITING_PAYMENT,
        can_send_invoice=(national_user and status == OrderStatus.AWAITING_PAYMENT
                          and order.payment_route == PaymentRoute.INVOICE
                          and stripe_gateway.is_configured()),
        can_ship=national_user and shipping.is_shippable(order),
        can_receive=role == Role.RELAIS_ADMIN and status == OrderStatus.SHIPPED,
        can_close=national_user and status in (OrderStatus.RECEIVED, OrderStatus.PARTIALLY_RECEIVED),
        stripe_configured=stripe_gateway.is_configured(),
        payment_return=request.args.get("payment"),
        messages=messages or [],
        line_errors=line_errors or {},
        allocation_values=allocation_values,
        payment_form=payment_form or ManualPaymentForm(),
        cancel_form=cancel_form or CancelForm(),
        submit_form=SubmitForm(),
        routes=PaymentRoute,
        parcels=shipments.shipments_of(order),
        ship_from=locations.all_locations() if national_user and shipping.is_shippable(order) else [],
        title=_("Commande n° %(id)d", id=order.id),
    ), code


def _refused_detail(order_id: int, exc: DomainError, **kwargs: Any) -> tuple[str, int]:
    discard_refused()
    return _detail_page(_order(order_id), messages=error_messages(exc), line_errors=exc.errors,
                        code=exc.status, **kwargs)


@bp.get("/orders/<int:order_id>")
@roles_required(*READERS)
def order_detail(order_id: int) -> Page:
    return _detail_page(_order(order_id))


@bp.post("/orders/<int:order_id>/submit")
@roles_required(*READERS)
def order_submit(order_id: int) -> Page:
    order = _order(order_id)
    require_role(*ORDERING)
    form = SubmitForm()
    try:
        orders.submit(order, confirm_unusual=bool(form.confirm_unusual.data))
    except orders.UnusualQuantities as exc:
        discard_refused()
        order = _order(order_id)
        if request.form.get("step") == "confirm" and not form.confirm_unusual.data:
            form.confirm_unusual.errors = [_("Cochez la case pour confirmer ces quantités, ou modifiez "
                                             "la commande.")]
        return render_template("stock/confirm_submit.html", order=order, form=form, unusual=exc.errors,
                               title=_("Confirmer les quantités")), 422
    except ValidationFailed as exc:
        discard_refused()
        return _detail_page(_order(order_id), messages=error_messages(exc), line_errors=exc.errors,
                            code=exc.status)
    except DomainError as exc:
        return _refused_detail(order_id, exc)
    flash(_("Commande n° %(id)d soumise à l'équipe nationale.", id=order.id), "success")
    return redirect(url_for("stock.order_detail", order_id=order.id))


@bp.post("/orders/<int:order_id>/cancel")
@roles_required(*READERS)
def order_cancel(order_id: int) -> Page:
    order = _order(order_id)
    require_role(*ORDERING)
    form = CancelForm()
    try:
        orders.cancel(order, form.reason.data)
    except DomainError as exc:
        return _refused_detail(order_id, exc, cancel_form=form)
    flash(_("Commande n° %(id)d annulée.", id=order.id), "success")
    return redirect(url_for("stock.order_detail", order_id=order.id))


@bp.post("/orders/<int:order_id>/allocation")
@roles_required(*READERS)
def order_allocate(order_id: int) -> Page:
    order = _order(order_id)
    require_role(*NATIONAL)
    skus = [line.product.sku for line in order.lines]
    values = posted_lines("alloc", skus)
    quantities = {sku: value for sku in skus if (value := line_value(values[sku])) is not None}
    try:
        allocation.allocate(order, quantities)
    except DomainError as exc:
        return _refused_detail(order_id, exc, allocation_values=values)
    flash(_("Commande n° %(id)d allouée.", id=order.id), "success")
    return redirect(url_for("stock.order_detail", order_id=order.id))


@bp.post("/orders/<int:order_id>/checkout")
@roles_required(*READERS)
def order_checkout(order_id: int) -> Page:
    order = _order(order_id, lock=True)
    require_role(Role.RELAIS_ADMIN)
    try:
        url = payments.start_checkout(order)
    except DomainError as exc:
        return _refused_detail(order_id, exc)
    return redirect(url, code=303)


@bp.post("/orders/<int:order_id>/payments")
@roles_required(*READERS)
def order_record_payment(order_id: int) -> Page:
    order = _order(order_id, lock=True)
    require_role(*NATIONAL)
    form = ManualPaymentForm()
    if not form.validate():
        discard_refused()
        return _detail_page(_order(order_id), payment_form=form, code=422)
    try:
        payments.record_manual_payment(order, form.amount_cents.data, form.reference.data,
                                       actor=current_user)
    except ValidationFailed as exc:
        add_errors(form, exc.errors, exc.message)
        discard_refused()
        return _detail_page(_order(order_id), payment_form=form, code=422)
    except DomainError as exc:
        return _refused_detail(order_id, exc, payment_form=form)
    flash(_("Paiement enregistré."), "success")
    return redirect(url_for("stock.order_detail", order_id=order.id))


@bp.post("/orders/<int:order_id>/invoice")
@roles_required(*READERS)
def order_send_invoice(order_id: int) -> Page:
    order = _order(order_id, lock=True)
    require_role(*NATIONAL)
    try:
        payments.send_invoice(order)
    except DomainError as exc:
        return _refused_detail(order_id, exc)
    flash(_("Facture envoyée au relais."), "success")
    return redirect(url_for("stock.order_detail", order_id=order.id))


@bp.route("/orders/<int:order_id>/shipment", methods=["GET", "POST"])
@roles_required(*READERS)
def order_ship(order_id: int) -> Page:
    order = _order(order_id)
    require_role(*NATIONAL)
    if not shipping.is_shippable(order):
        flash(_("Cette commande ne peut pas être expédiée (statut : %(status)s).",
                status=orders.status_label(order.status)), "error")
        return redirect(url_for("stock.order_detail", order_id=order.id))
    lines = [line for line in order.lines if line.allocated]
    values = {line.product.sku: {"quantity": str(line.allocated - line.shipped), "serials": ""}
              for line in lines}
    errors: Mapping[str, list[str]] = {}
    messages: list[str] = []
    code = 200
    if request.method == "POST":
        values = {sku: {"quantity": request.form.get(f"quantity-{sku}", ""),
                        "serials": request.form.get(f"serials-{sku}", "")} for sku in values}
        specs = [{"sku": sku, "quantity": line_value(value["quantity"]),
                  "serials": [value["serials"]] if value["serials"].strip() else None}
                 for sku, value in values.items()]
        try:
            shipping.ship(order, specs)
        except DomainError as exc:
            discard_refused()
            order = _order(order_id)
            lines = [line for line in order.lines if line.allocated]
            errors, messages, code = exc.errors, error_messages(exc), exc.status
        else:
            flash(_("Commande n° %(id)d expédiée.", id=order.id), "success")
            return redirect(url_for("stock.order_detail", order_id=order.id))
    return render_template("stock/shipment.html", order=order, lines=lines, values=values, errors=errors,
                           messages=messages, title=_("Expédier la commande n° %(id)d", id=order.id)), code


@bp.route("/orders/<int:order_id>/receipt", methods=["GET", "POST"])
@roles_required(*READERS)
def order_receive(order_id: int) -> Page:
    order = _order(order_id)
    require_role(Role.RELAIS_ADMIN)
    if order.status != OrderStatus.SHIPPED:
        flash(_("Il n'y a pas de réception à confirmer pour cette commande."), "info")
        return redirect(url_for("stock.order_detail", order_id=order.id))
    lines = [line for line in order.lines if line.shipped]
    values = {line.product.sku: {"received": str(line.shipped), "refused": "0", "reason": "",
                                 "serials": ""} for line in lines}
    errors: Mapping[str, list[str]] = {}
    messages: list[str] = []
    code = 200
    if request.method == "POST":
        values = {sku: {field: request.form.get(f"{field}-{sku}", "")
                        for field in ("received", "refused", "reason", "serials")} for sku in values}
        specs = [{"sku": sku, "received": line_value(value["received"]),
                  "refused": line_value(value["refused"]) or 0, "refusal_reason": value["reason"],
                  "serials": [value["serials"]] if value["serials"].strip() else None}
                 for sku, value in values.items()]
        try:
            shipping.receive(order, specs)
        except DomainError as exc:
            discard_refused()
            order = _order(order_id)
            lines = [line for line in order.lines if line.shipped]
            errors, messages, code = exc.errors, error_messages(exc), exc.status
        else:
            flash(_("Réception de la commande n° %(id)d confirmée : les articles reçus sont dans votre "
                    "inventaire.", id=order.id), "success")
            return redirect(url_for("stock.order_detail", order_id=order.id))
    return render_template("stock/receipt.html", order=order, lines=lines, values=values, errors=errors,
                           messages=messages, shipped=orders.shipped_units(order),
                           title=_("Confirmer la réception de la commande n° %(id)d", id=order.id)), code


@bp.post("/orders/<int:order_id>/close")
@roles_required(*READERS)
def order_close(order_id: int) -> Page:
    order = _order(order_id)
    require_role(*NATIONAL)
    try:
        shipping.close(order)
    except DomainError as exc:
        return _refused_detail(order_id, exc)
    flash(_("Commande n° %(id)d clôturée.", id=order.id), "success")
    return redirect(url_for("stock.order_detail", order_id=order.id))


@bp.get("/orders/<int:order_id>/delivery-note.pdf")
@roles_required(*READERS)
def order_delivery_note(order_id: int) -> Response:
    order = _order(order_id)
    return Response(
        delivery_note.render_pdf(order), mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{delivery_note.filename(order)}"'},
    )


@bp.route("/fair-split/<sku>", methods=["GET", "POST"])
@roles_required(*NATIONAL)
def fair_split(sku: str) -> Page:
    proposal = allocation.propose(sku)
    values = {str(item["order_id"]): str(item["proposed"]) for item in proposal["proposals"]}
    errors: Mapping[str, list[str]] = {}
    messages: list[str] = []
    code = 200
    if request.method == "POST":
        values = posted_lines("qty", values)
        pairs = [(int(order_id), value if (value := line_value(raw)) is not None else 0)
                 for order_id, raw in values.items()]
        try:
            result = allocation.confirm_batch(proposal["sku"], pairs)
        except DomainError as exc:
            discard_refused()
            proposal = allocation.propose(sku)
            errors, messages, code = exc.errors, error_messages(exc), exc.status
        else:
            flash(ngettext("%(num)d unité de %(sku)s allouée en une fois.",
                           "%(num)d unités de %(sku)s allouées en une fois.", result["allocated"],
                           sku=result["sku"]), "success")
            return redirect(url_for("stock.national_stock"))
    return render_template("stock/fair_split.html", proposal=proposal, values=values, errors=errors,
                           messages=messages, title=_("Partage équitable de %(sku)s", sku=proposal["sku"])
                           ), code


# --- pick lists and parcels ------------------------------------------------------------------


@bp.get("/orders/<int:order_id>/pick-list")
@roles_required(*READERS)
def order_pick_list(order_id: int) -> Page:
    order = _order(order_id)
    require_role(*NATIONAL)
    national_scope(_("liste de préparation"))
    return picking.render_html(picking.pick_list([order]))


@bp.get("/pick-list")
@roles_required(*NATIONAL)
def batch_pick_list() -> Page:
    """Every order ready to ship (paid, or allocated and free), oldest first."""
    national_scope(_("liste de préparation groupée"))
    ready = db.session.scalars(
        select(Order).where(or_(Order.status == OrderStatus.PAID,
                                and_(Order.status == OrderStatus.ALLOCATED,
                                     Order.payment_route == PaymentRoute.FREE)))
        .order_by(Order.allocated_at, Order.id).limit(picking.MAX_ORDERS))
    return picking.render_html(picking.pick_list(list(ready)))


def _typed_lines(order: Order, *keys: str) -> list[dict[str, Any]]:
    """The per-product inputs of a parcel form; products left empty are left out."""
    lines = []
    for line in order.lines:
        sku = line.product.sku
        values = {key: request.form.get(f"{key}-{sku}", "") for key in keys}
        if not any(value.strip() for value in values.values()):
            continue
        spec: dict[str, Any] = {"sku": sku}
        for key, value in values.items():
            if key == "serials":
                spec["serials"] = [value] if value.strip() else None
            elif key == "refusal_reason":
                spec[key] = value
            else:
                spec[key] = line_value(value)
        lines.append(spec)
    return lines


@bp.post("/orders/<int:order_id>/shipments")
@roles_required(*READERS)
def order_ship_parcel(order_id: int) -> Page:
    order = _order(order_id)
    require_role(*NATIONAL)
    try:
        parcel = shipments.ship_part(order, form_int(request.form.get("location_id")),
                                     _typed_lines(order, "quantity", "serials"),
                                     carrier=request.form.get("carrier"),
                                     tracking_number=request.form.get("tracking_number"))
    except DomainError as exc:
        return _refused_detail(order_id, exc)
    flash(_("Colis n° %(id)d expédié.", id=parcel.id), "success")
    return redirect(url_for("stock.order_detail", order_id=order_id))


@bp.post("/orders/<int:order_id>/shipments/<int:shipment_id>/receipt")
@roles_required(*READERS)
def order_receive_parcel(order_id: int, shipment_id: int) -> Page:
    order = _order(order_id)
    require_role(*ORDERING)
    try:
        typed = _typed_lines(order, "received", "refused", "refusal_reason", "serials")
        shipments.receive_part(order, shipment_id, typed)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _refused_detail(order_id, exc)
    flash(_("Réception du colis n° %(id)d enregistrée.", id=shipment_id), "success")
    return redirect(url_for("stock.order_detail", order_id=order_id))
