"""REST API of the beneficiary registry and accompaniment.

Relais staff only: national and coach users get 403 on every route (they see aggregates
elsewhere, never a name). Another relais' ids are simply not found (404). Export, erasure
and merge are the relais admin's.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.accounts.models import Role
from relais_platform.api import api_access, pagination_headers
from relais_platform.audit import services as audit
from relais_platform.beneficiaries import (
    accompaniment,
    connection,
    referrers,
    registry,
    rights,
    search,
    themes,
)
from relais_platform.beneficiaries.models import AccompanimentSession, Beneficiary
from relais_platform.beneficiaries.schemas import (
    PAGINATION_HEADERS,
    AccompanimentInputSchema,
    AccompanimentListArgs,
    AccompanimentPatchSchema,
    AccompanimentSchema,
    BeneficiaryCreatedSchema,
    BeneficiaryCreateSchema,
    BeneficiaryInputSchema,
    BeneficiarySchema,
    ConnectionExtensionSchema,
    DiagnosticInputSchema,
    DiagnosticSchema,
    DuplicateSchema,
    HoursArgs,
    HoursSchema,
    MergeSchema,
    ParcoursInputSchema,
    ParcoursSchema,
    ProgressSchema,
    ReasonSchema,
    ReferrerInputSchema,
    ReferrerSchema,
    SearchArgs,
    ThemeInputSchema,
    ThemePatchSchema,
    ThemeSchema,
)
from relais_platform.tabular.http import exportable

blp = Blueprint("beneficiaries_api", __name__, description="Bénéficiaires et accompagnement (relais)")

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)


def audit_export(filters: dict[str, str]) -> None:
    """A download of the registry is an export of personal data: audited with the names of
    the filters used, never their values (a query is a person's name)."""
    audit.record("beneficiaries_exported", target_type="beneficiaries",
                 details={"format": request.args.get("format") or "accept", "filters": sorted(filters)})
ADMIN = (Role.RELAIS_ADMIN,)
NATIONAL = (Role.NATIONAL,)


@blp.route("/beneficiaries")
class Beneficiaries(MethodView):
    @api_access(*STAFF)
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, BeneficiarySchema(many=True), headers=PAGINATION_HEADERS)
    @exportable(BeneficiarySchema, "beneficiaires", on_export=audit_export)
    def get(self, args: dict[str, Any]):
        """Rechercher par nom (sans accents ni casse, fautes tolérées) ; paginé, journalisé."""
        page, per_page = args["page"], args["per_page"]
        items, total = search.search(args.get("q"), page, per_page)
        return items, pagination_headers(total, page, per_page)

    @api_access(*STAFF)
    @blp.arguments(BeneficiaryCreateSchema)
    @blp.response(201, BeneficiaryCreatedSchema)
    def post(self, data: dict[str, Any]) -> Beneficiary:
        """Enregistrer une personne (consentement requis) ; signale les doublons probables."""
        beneficiary, duplicates = registry.create(data)
        beneficiary.possible_duplicates = duplicates  # type: ignore[attr-defined]
        return beneficiary


@blp.route("/beneficiaries/<int:beneficiary_id>")
class BeneficiaryItem(MethodView):
    @api_access(*STAFF)
    @blp.response(200, BeneficiarySchema)
    def get(self, beneficiary_id: int) -> Beneficiary:
        """Une fiche (consultation journalisée)."""
        return registry.view(beneficiary_id)

    @api_access(*STAFF)
    @blp.arguments(BeneficiaryInputSchema)
    @blp.response(200, BeneficiarySchema)
    def patch(self, data: dict[str, Any], beneficiary_id: int) -> Beneficiary:
        """Modifier une fiche (les champs modifiés sont journalisés, jamais leurs valeurs)."""
        beneficiary = registry.get(beneficiary_id)
        if not registry.update_record(beneficiary, data):
            audit.record("beneficiary_viewed", target=beneficiary)  # nothing changed, yet it is shown
        return beneficiary

    @api_access(*ADMIN)
    @blp.response(204)
    def delete(self, beneficiary_id: int) -> None:
        """Effacer (anonymiser) : les comptages et heures d'accompagnement sont conservés."""
        rights.erase(registry.get(beneficiary_id))


@blp.route("/beneficiaries/<int:beneficiary_id>/export")
class BeneficiaryExport(MethodView):
    @api_access(*ADMIN)
    @blp.response(200, content_type="application/json")
    @blp.alt_response(200, content_type="application/pdf", description="?format=pdf", success=True)
    def get(self, beneficiary_id: int):
        """Droit d'accès : tout ce que le relais détient sur la personne (JSON, ou PDF avec ?format=pdf)."""
        beneficiary = registry.get(beneficiary_id)
        if request.args.get("format") == "pdf":
            pdf = rights.export_pdf(beneficiary)
            return Response(pdf, mimetype="application/pdf", headers={
                "Content-Disposition": f'attachment; filename="beneficiaire-{beneficiary_id}.pdf"'})
        return jsonify(rights.export(beneficiary, "json"))


@blp.route("/beneficiaries/merge")
class BeneficiaryMerge(MethodView):
    @api_access(*ADMIN)
    @blp.arguments(MergeSchema)
    @blp.response(200, BeneficiarySchema)
    def post(self, data: dict[str, Any]) -> Beneficiary:
        """Fusionner deux fiches : la seconde est supprimée après transfert de son historique."""
        keep = registry.get(data["keep_id"])
        other = registry.get(data["merge_id"])
        return rights.merge(keep, other)


@blp.route("/beneficiaries/<int:beneficiary_id>/connection-extension")
class BeneficiaryConnectionExtension(MethodView):
    @api_access(*ADMIN)
    @blp.arguments(ConnectionExtensionSchema)
    @blp.response(200, BeneficiarySchema)
    def post(self, data: dict[str, Any], beneficiary_id: int) -> Beneficiary:
        """Prolonger une fois, de 1 à 12 mois, la période de connexion solidaire (raison requise)."""
        return connection.extend(registry.get(beneficiary_id), data["months"], data["reason"])


@blp.route("/beneficiaries/<int:beneficiary_id>/diagnostics")
class BeneficiaryDiagnostics(MethodView):
    @api_access(*STAFF)
    @blp.response(200, DiagnosticSchema(many=True))
    def get(self, beneficiary_id: int):
        """Diagnostics d'autonomie numérique, du plus récent au plus ancien."""
        beneficiary = registry.view(beneficiary_id)
        return accompaniment.diagnostics_of(beneficiary.id)

    @api_access(*STAFF)
    @blp.arguments(DiagnosticInputSchema)
    @blp.response(201, DiagnosticSchema)
    def post(self, data: dict[str, Any], beneficiary_id: int):
        """Enregistrer un diagnostic (niveau, besoins, date)."""
        beneficiary = registry.get(beneficiary_id)
        return accompaniment.record_diagnostic(beneficiary, data["level"], data["needs"],
                                               data.get("assessed_on"))


@blp.route("/beneficiaries/<int:beneficiary_id>/parcours")
class BeneficiaryParcours(MethodView):
    @api_access(*STAFF)
    @blp.response(200, ProgressSchema(many=True))
    def get(self, beneficiary_id: int):
        """Parcours suivis et séances suivies."""
        beneficiary = registry.view(beneficiary_id)
        return accompaniment.progress_of(beneficiary.id)


def _session_rows(rows: list[tuple[AccompanimentSession, int]]) -> list[dict[str, Any]]:
    participants = accompaniment.participants_of(s.id for s, _named in rows)
    return [
        {"id": s.id, "kind": s.kind, "theme": s.theme, "held_on": s.held_on,
         "duration_minutes": s.duration_minutes, "anonymous_count": s.anonymous_count,
         "beneficiary_ids": participants[s.id], "participants": s.anonymous_count + named,
         "parcours_id": s.parcours_id}
        for s, named in rows
    ]


@blp.route("/accompaniments")
class Accompaniments(MethodView):
    @api_access(*STAFF)
    @blp.arguments(AccompanimentListArgs, location="query")
    @blp.response(200, AccompanimentSchema(many=True), headers=PAGINATION_HEADERS)
    @exportable(AccompanimentSchema, "accompagnement")
    def get(self, args: dict[str, Any]):
        """Séances d'accompagnement, les plus récentes d'abord."""
        page, per_page = args["page"], args["per_page"]
        rows, total = accompaniment.sessions_page(args.get("start"), args.get("end"), page, per_page)
        return _session_rows(rows), pagination_headers(total, page, per_page)

    @api_access(*STAFF)
    @blp.arguments(AccompanimentInputSchema)
    @blp.response(201, AccompanimentSchema)
    def post(self, data: dict[str, Any]):
        """Enregistrer une séance : participants nommés et/ou nombre de participants anonymes."""
        session = accompaniment.record_session(data)
        return _session_rows([(session, len(set(data["beneficiary_ids"])))])[0]


@blp.route("/accompaniments/<int:accompaniment_id>")
class AccompanimentItem(MethodView):
    @api_access(*STAFF)
    @blp.arguments(AccompanimentPatchSchema)
    @blp.response(200, AccompanimentSchema)
    def patch(self, data: dict[str, Any], accompaniment_id: int):
        """Corriger une séance (tout champ, mêmes contrôles qu'à la création) ; journalisé."""
        session = accompaniment.update_session(accompaniment_id, data)
        return _session_rows([(session, len(accompaniment.participants_of([session.id])[session.id]))])[0]

    @api_access(*STAFF)
    @blp.arguments(ReasonSchema)
    @blp.response(204)
    def delete(self, data: dict[str, Any], accompaniment_id: int) -> None:
        """Supprimer une séance (raison requise) : gardée pour l'audit, comptée nulle part."""
        accompaniment.delete_session(accompaniment_id, data["reason"])


@blp.route("/accompaniments/<int:accompaniment_id>/duplicate")
class AccompanimentDuplicate(MethodView):
    @api_access(*STAFF)
    @blp.arguments(DuplicateSchema)
    @blp.response(201, AccompanimentSchema)
    def post(self, data: dict[str, Any], accompaniment_id: int):
        """Reproduire une séance à une autre date, avec les mêmes participants (l'atelier hebdomadaire)."""
        session = accompaniment.duplicate_session(accompaniment_id, data["date"])
        return _session_rows([(session, len(accompaniment.participants_of([session.id])[session.id]))])[0]


@blp.route("/accompaniments/hours")
class AccompanimentHours(MethodView):
    @api_access(*STAFF)
    @blp.arguments(HoursArgs, location="query")
    @blp.response(200, HoursSchema)
    def get(self, args: dict[str, Any]):
        """Heures d'accompagnement sur [start, end[ : Σ durée × participants."""
        hours = accompaniment.accompaniment_hours(current_user.relais_id, args["start"], args["end"])
        return {"start": args["start"], "end": args["end"], "hours": hours}


@blp.route("/parcours")
class ParcoursCollection(MethodView):
    @api_access(*STAFF)
    @blp.response(200, ParcoursSchema(many=True))
    def get(self):
        """Parcours définis par le relais."""
        return accompaniment.list_parcours()

    @api_access(*ADMIN)
    @blp.arguments(ParcoursInputSchema)
    @blp.response(201, ParcoursSchema)
    def post(self, data: dict[str, Any]):
        """Définir un parcours (ex. cycle d'initiation en 9 séances)."""
        return accompaniment.create_parcours(data["name"], data["kind"], data["sessions_required"])



@blp.route("/themes")
class Themes(MethodView):
    @api_access()
    @blp.response(200, ThemeSchema(many=True))
    def get(self):
        """Thèmes des ateliers (liste nationale ; les thèmes retirés restent pour l'historique)."""
        return [{"id": t.id, "code": t.code, "label": themes.label_of(t), "retired": t.retired}
                for t in themes.all_themes()]

    @api_access(*NATIONAL)
    @blp.arguments(ThemeInputSchema)
    @blp.response(201, ThemeSchema)
    def post(self, data: dict[str, Any]):
        """Ajouter un thème (équipe nationale)."""
        return themes.create(data["code"], data["label"])


@blp.route("/themes/<int:theme_id>")
class ThemeItem(MethodView):
    @api_access(*NATIONAL)
    @blp.arguments(ThemePatchSchema)
    @blp.response(200, ThemeSchema)
    def patch(self, data: dict[str, Any], theme_id: int):
        """Retirer un thème (ou le rétablir) : il n'est plus proposé pour de nouvelles séances."""
        return themes.set_retired(theme_id, data["retired"])

    @api_access(*NATIONAL)
    @blp.response(204)
    def delete(self, theme_id: int) -> None:
        """Supprimer un thème jamais utilisé (409 s'il l'est : retirez-le)."""
        themes.delete(theme_id)


@blp.route("/referrers")
class Referrers(MethodView):
    @api_access(*STAFF)
    @blp.response(200, ReferrerSchema(many=True))
    def get(self):
        """Les structures orienteuses du relais."""
        return referrers.all_referrers()

    @api_access(*STAFF)
    @blp.arguments(ReferrerInputSchema)
    @blp.response(201, ReferrerSchema)
    def post(self, data: dict[str, Any]):
        """Ajouter une structure orienteuse (nom unique dans le relais)."""
        return referrers.create(data["name"], data["kind"])
