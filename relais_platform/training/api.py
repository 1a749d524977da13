"""REST API: training catalogue, sessions, enrolments, attendance; coaching and relais progress."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from relais_platform.accounts.models import Role
from relais_platform.api import api_access
from relais_platform.audit.services import network_access
from relais_platform.tabular.http import exportable
from relais_platform.tenants.services import get_visible_relais
from relais_platform.training import (
    attendance,
    catalogue,
    certificates,
    coaching,
    dashboard,
    enrolments,
    exports,
    paths,
    progress,
)
from relais_platform.training.access import reach_relais
from relais_platform.training.schemas import (
    CoachingDoneInSchema,
    CoachingMilestoneInSchema,
    CoachingMilestoneSchema,
    CoachingNextStepSchema,
    CoachingPortfolioArgs,
    CoachingPortfolioRowSchema,
    CoachingSessionInSchema,
    CoachingSessionSchema,
    RelaisCoachInSchema,
    RelaisCoachSchema,
    RelaisProgressSchema,
    TrainingAttendanceInSchema,
    TrainingAttendanceSchema,
    TrainingEnrolmentInSchema,
    TrainingEnrolmentSchema,
    TrainingExportArgs,
    TrainingModuleSchema,
    TrainingPathInSchema,
    TrainingPathSchema,
    TrainingPersonProgressSchema,
    TrainingRecordSchema,
    TrainingSessionCancelInSchema,
    TrainingSessionInSchema,
    TrainingSessionListArgs,
    TrainingSessionPatchSchema,
    TrainingSessionSchema,
    TrainingSignOffInSchema,
    TrainingSurveyInSchema,
    TrainingSurveySchema,
)

blp = Blueprint("training_api", __name__, description="Formation des équipes et accompagnement des relais")

STAFF = (Role.RELAIS_ADMIN, Role.RELAIS_WORKER)
FOLLOWERS = (Role.NATIONAL, Role.COACH)


# --- catalogue and sessions -------------------------------------------------------------


@blp.route("/training/modules")
class Modules(MethodView):
    @api_access()
    @blp.response(200, TrainingModuleSchema(many=True))
    def get(self):
        """Modules actifs du catalogue."""
        return catalogue.list_modules()

    @api_access(Role.NATIONAL)
    @blp.arguments(TrainingModuleSchema)
    @blp.response(201, TrainingModuleSchema)
    def post(self, data: dict[str, Any]):
        """Créer ou modifier un module (par son code)."""
        network_access(None, reason="training catalogue")
        return catalogue.save_module(data)


@blp.route("/training/sessions")
class Sessions(MethodView):
    @api_access()
    @blp.arguments(TrainingSessionListArgs, location="query")
    @blp.response(200, TrainingSessionSchema(many=True))
    @exportable(TrainingSessionSchema, "sessions-de-formation")
    def get(self, args: dict[str, Any]):
        """Sessions de formation, avec les places restantes."""
        return catalogue.list_sessions(upcoming_only=args["upcoming"], module_code=args["module_code"])

    @api_access(Role.NATIONAL)
    @blp.arguments(TrainingSessionInSchema)
    @blp.response(201, TrainingSessionSchema)
    def post(self, data: dict[str, Any]):
        """Publier une session (équipe nationale)."""
        network_access(None, reason="training catalogue")
        return catalogue.create_session(current_user, data)


@blp.route("/training/sessions/<int:session_id>")
class SessionDetail(MethodView):
    @api_access()
    @blp.response(200, TrainingSessionSchema)
    def get(self, session_id: int):
        return catalogue.get_session(session_id)

    @api_access(Role.NATIONAL)
    @blp.arguments(TrainingSessionPatchSchema)
    @blp.response(200, TrainingSessionSchema)
    def patch(self, data: dict[str, Any], session_id: int):
        """Modifier une session avant son début : plus de places font monter la liste d'attente,
        une nouvelle date ou un nouveau lieu partent aux inscrits avec l'invitation mise à jour."""
        network_access(None, reason="training catalogue")
        return enrolments.change_session(session_id, data)


@blp.route("/training/sessions/<int:session_id>/cancel")
class SessionCancel(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(TrainingSessionCancelInSchema)
    @blp.response(200, TrainingSessionSchema)
    def post(self, data: dict[str, Any], session_id: int):
        """Annuler toute la session avant son début (équipe nationale) : les inscrits et les
        personnes en attente sont prévenus par e-mail, avec l'annulation pour leur agenda."""
        network_access(None, reason="training catalogue")
        return enrolments.cancel_session(current_user, session_id, data["reason"])


@blp.route("/training/sessions/<int:session_id>/enrollments")
class Enrollments(MethodView):
    @api_access(Role.NATIONAL, *STAFF)
    @blp.response(200, TrainingEnrolmentSchema(many=True))
    def get(self, session_id: int):
        """Inscriptions visibles : celles de votre relais (toutes pour l'équipe nationale)."""
        catalogue.get_session(session_id)
        if current_user.role == Role.NATIONAL:
            network_access(None, reason="training enrolments")
        return enrolments.enrolments_of_session(session_id)

    @api_access(Role.NATIONAL, *STAFF)
    @blp.arguments(TrainingEnrolmentInSchema)
    @blp.response(201, TrainingEnrolmentSchema)
    def post(self, data: dict[str, Any], session_id: int):
        """Inscrire une personne : vous-même (intervenant·e), votre équipe (référent·e), tout le monde
        (national). Session complète : liste d'attente (`status` = `waitlisted`)."""
        return enrolments.enrol(current_user, session_id, data["user_id"])

    @api_access(Role.NATIONAL, *STAFF)
    @blp.arguments(TrainingEnrolmentInSchema)
    @blp.response(204)
    def delete(self, data: dict[str, Any], session_id: int):
        """Annuler l'inscription de `user_id` (comme `DELETE …/enrollments/<user_id>`) ; la
        première personne en attente prend la place."""
        enrolments.cancel(current_user, session_id, data["user_id"])


@blp.route("/training/sessions/<int:session_id>/enrollments/<int:user_id>")
class Enrollment(MethodView):
    @api_access(Role.NATIONAL, *STAFF)
    @blp.response(204)
    def delete(self, session_id: int, user_id: int):
        """Annuler une inscription ; la première personne en attente prend la place."""
        enrolments.cancel(current_user, session_id, user_id)


@blp.route("/training/sessions/<int:session_id>/attendance")
class Attendance(MethodView):
    @api_access(*FOLLOWERS)
    @blp.response(200, TrainingEnrolmentSchema(many=True))
    def get(self, session_id: int):
        """Feuille d'émargement (équipe nationale, ou formateur de la session)."""
        return attendance.sheet_for(current_user, session_id)

    @api_access(*FOLLOWERS)
    @blp.arguments(TrainingAttendanceInSchema)
    @blp.response(200, TrainingAttendanceSchema)
    def post(self, data: dict[str, Any], session_id: int):
        """Présent ou absent (équipe nationale, ou formateur de la session) ; une présence donne
        l'attestation du module."""
        return attendance.mark_attendance(current_user, session_id, data["user_id"], data["present"])


@blp.route("/training/sessions/<int:session_id>/sign-off")
class SignOff(MethodView):
    @api_access(*FOLLOWERS)
    @blp.arguments(TrainingSignOffInSchema)
    @blp.response(200, TrainingSessionSchema)
    def post(self, data: dict[str, Any], session_id: int):
        """Signer la feuille d'émargement : le formateur de la session, ou l'équipe nationale pour
        lui ; le questionnaire part aux présents."""
        attendance.sign_off(current_user, session_id, data["trainer"])
        return catalogue.get_session(session_id)


@blp.route("/training/sessions/<int:session_id>/survey")
class Survey(MethodView):
    @api_access(*STAFF)
    @blp.arguments(TrainingSurveyInSchema)
    @blp.response(201, TrainingSurveySchema)
    def post(self, data: dict[str, Any], session_id: int):
        """Questionnaire de satisfaction (1 à 5), une fois la formation suivie."""
        return attendance.submit_survey(current_user, session_id, data["rating"], data["comment"])


@blp.route("/training/records")
class Records(MethodView):
    @api_access(*STAFF)
    @blp.response(200, TrainingRecordSchema(many=True))
    @exportable(TrainingRecordSchema, "formations-suivies")
    def get(self):
        """Vos formations suivies."""
        return attendance.records_of(current_user.id)


@blp.route("/training/records/<int:record_id>/certificate")
class Certificate(MethodView):
    @api_access(Role.NATIONAL, *STAFF)
    @blp.response(200, content_type="application/pdf")
    def get(self, record_id: int):
        """Attestation de présence (PDF)."""
        record = attendance.record_for(current_user, record_id)
        return Response(certificates.certificate_pdf(record), mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{certificates.certificate_filename(record)}"'})


@blp.route("/training/exports/<kind>")
class Export(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(TrainingExportArgs, location="query")
    @blp.response(200)
    def get(self, args: dict[str, Any], kind: str):
        """Export pour l'audit qualité : `records`, `attendance` ou `surveys`, en CSV ou XLSX."""
        name, mimetype, content = exports.export(kind, args["format"])
        return Response(content, content_type=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- relais progress and coaching -------------------------------------------------------


@blp.route("/relais/<int:relais_id>/coach")
class Coach(MethodView):
    @api_access(Role.NATIONAL)
    @blp.arguments(RelaisCoachInSchema)
    @blp.response(200, RelaisCoachSchema)
    def put(self, data: dict[str, Any], relais_id: int):
        """Attribuer un coach au relais (`null` : aucun)."""
        relais = get_visible_relais(current_user, relais_id)
        coaching.assign_coach(relais, data["coach_id"])
        return {"relais_id": relais.id, "coach_id": relais.coach_id}


@blp.route("/relais/<int:relais_id>/progress")
class Progress(MethodView):
    @api_access()
    @blp.response(200, RelaisProgressSchema)
    def get(self, relais_id: int):
        """Jalons, formation, dernière activité et alertes du relais."""
        relais = reach_relais(current_user, relais_id, reason="relais progress")
        return progress.relais_overview(relais).as_dict()


@blp.route("/relais/<int:relais_id>/training")
class PeopleProgress(MethodView):
    @api_access()
    @blp.response(200, TrainingPersonProgressSchema(many=True))
    def get(self, relais_id: int):
        """Progression de chaque membre de l'équipe dans le parcours du relais."""
        relais = reach_relais(current_user, relais_id, reason="relais training progress")
        return paths.people_progress(relais.id, paths.relais_progress(relais.id).required)


@blp.route("/relais/<int:relais_id>/training-path")
class TrainingPath(MethodView):
    @api_access()
    @blp.response(200, TrainingPathSchema)
    def get(self, relais_id: int):
        relais = reach_relais(current_user, relais_id, reason="relais training path")
        return {"module_codes": paths.relais_progress(relais.id).required}

    @api_access(*FOLLOWERS)
    @blp.arguments(TrainingPathInSchema)
    @blp.response(200, TrainingPathSchema)
    def put(self, data: dict[str, Any], relais_id: int):
        """Modules exigés (liste vide : les modules du réseau)."""
        relais = reach_relais(current_user, relais_id, reason="relais training path")
        paths.set_path(relais, data["module_codes"])
        return {"module_codes": paths.relais_progress(relais.id).required}


@blp.route("/relais/<int:relais_id>/coaching-sessions")
class CoachingSessions(MethodView):
    @api_access()
    @blp.response(200)
    def get(self, relais_id: int):
        """Rendez-vous de suivi. Les notes ne sont lisibles que par les coachs et l'équipe nationale."""
        relais = reach_relais(current_user, relais_id, reason="coaching sessions")
        return _dump_coaching(coaching.coaching_sessions(relais))

    @api_access(*FOLLOWERS)
    @blp.arguments(CoachingSessionInSchema)
    @blp.response(201)
    def post(self, data: dict[str, Any], relais_id: int):
        """Consigner un rendez-vous (son coach, équipe nationale)."""
        relais = reach_relais(current_user, relais_id, reason="coaching session")
        return _dump_coaching([coaching.create_coaching_session(current_user, relais, data)])[0]


def _dump_coaching(sessions: list) -> list[dict[str, Any]]:
    """Sessions as JSON; the notes only for coaches and the national team."""
    rows = CoachingSessionSchema(many=True).dump(sessions)
    if coaching.can_read_notes(current_user):
        notes = coaching.notes_for(current_user, sessions)
        for row in rows:
            row["notes"] = notes.get(row["id"])
    return rows


@blp.route("/relais/<int:relais_id>/next-steps/<int:step_id>")
class NextStepDone(MethodView):
    @api_access(*FOLLOWERS)
    @blp.arguments(CoachingDoneInSchema)
    @blp.response(200, CoachingNextStepSchema)
    def patch(self, data: dict[str, Any], relais_id: int, step_id: int):
        relais = reach_relais(current_user, relais_id, reason="coaching next step")
        return coaching.set_next_step_done(current_user, relais, step_id, data["done"])


@blp.route("/relais/<int:relais_id>/milestones")
class CustomMilestones(MethodView):
    @api_access(*FOLLOWERS)
    @blp.arguments(CoachingMilestoneInSchema)
    @blp.response(201, CoachingMilestoneSchema)
    def post(self, data: dict[str, Any], relais_id: int):
        """Ajouter un jalon personnalisé avec une échéance."""
        relais = reach_relais(current_user, relais_id, reason="coaching milestone")
        return coaching.add_milestone(current_user, relais, data)


@blp.route("/relais/<int:relais_id>/milestones/<int:milestone_id>")
class CustomMilestoneDone(MethodView):
    @api_access(*FOLLOWERS)
    @blp.arguments(CoachingDoneInSchema)
    @blp.response(200, CoachingMilestoneSchema)
    def patch(self, data: dict[str, Any], relais_id: int, milestone_id: int):
        relais = reach_relais(current_user, relais_id, reason="coaching milestone")
        return coaching.set_milestone_done(current_user, relais, milestone_id, data["done"])


@blp.route("/coaching/portfolio")
class Portfolio(MethodView):
    @api_access(*FOLLOWERS)
    @blp.arguments(CoachingPortfolioArgs, location="query")
    @blp.response(200, CoachingPortfolioRowSchema(many=True))
    def get(self, args: dict[str, Any]):
        """Portefeuille du coach (tous les relais pour l'équipe nationale), triable et filtrable."""
        return dashboard.dashboard(current_user, dashboard.DashboardQuery(**args))
