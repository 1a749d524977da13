"""What the audit log's codes mean, in words: one label per action and per target type.

The log stores codes (`beneficiary_viewed`, `orders`); pages, exports and the API show these
labels beside or instead of them. `tests/test_audit_labels.py` reads every `record(...)` call
of the code base and fails when an action has no label here. An unknown code (an entry
written before a label existed, or by a later version) shows as the code itself.
"""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

ACTION_LABELS: dict[str, LazyString] = {
    # --- people accompanied (beneficiaries) ---
    "beneficiary_created": _l("Fiche d'une personne créée"),
    "beneficiary_viewed": _l("Fiche d'une personne consultée"),
    "beneficiary_updated": _l("Fiche d'une personne modifiée"),
    "beneficiary_searched": _l("Recherche de personnes"),
    "beneficiary_exported": _l("Données d'une personne exportées"),
    "beneficiary_anonymised": _l("Fiche d'une personne anonymisée"),
    "beneficiary_diagnostic_recorded": _l("Diagnostic d'une personne enregistré"),
    "beneficiaries_exported": _l("Liste des personnes exportée"),
    "beneficiaries_imported": _l("Personnes importées"),
    "beneficiaries_merged": _l("Fiches de personnes fusionnées"),
    "connection_extended": _l("Période de connexion prolongée"),
    "parcours_created": _l("Parcours créé"),
    "accompaniment_recorded": _l("Séance d'accompagnement enregistrée"),
    "accompaniment_updated": _l("Séance d'accompagnement modifiée"),
    "accompaniment_deleted": _l("Séance d'accompagnement supprimée"),
    "accompaniment_duplicated": _l("Séance d'accompagnement dupliquée"),
    "referrer_created": _l("Structure orientatrice ajoutée"),
    "theme_created": _l("Thème d'accompagnement créé"),
    "theme_deleted": _l("Thème d'accompagnement supprimé"),
    "theme_retired": _l("Thème d'accompagnement retiré"),
    "theme_restored": _l("Thème d'accompagnement rétabli"),
    "recharges_due_viewed": _l("Recharges à prévoir consultées"),
    # --- accounts and sign-in ---
    "login_success": _l("Connexion réussie"),
    "login_failure": _l("Échec de connexion"),
    "password_changed": _l("Mot de passe changé"),
    "password_reset_requested": _l("Réinitialisation du mot de passe demandée"),
    "password_reset": _l("Mot de passe réinitialisé"),
    "totp_enabled": _l("Double authentification activée"),
    "totp_disabled": _l("Double authentification désactivée"),
    "api_token_issued": _l("Jeton d'API créé"),
    "api_token_revoked": _l("Jeton d'API révoqué"),
    "api_tokens_revoked": _l("Jetons d'API révoqués"),
    "user_invited": _l("Utilisateur invité"),
    "invitation_accepted": _l("Invitation acceptée"),
    "user_activated": _l("Compte activé"),
    "user_deactivated": _l("Compte désactivé"),
    "role_changed": _l("Rôle modifié"),
    "team_two_factor_required": _l("Double authentification exigée de l'équipe"),
    "team_two_factor_optional": _l("Double authentification facultative pour l'équipe"),
    "network_two_factor_required": _l("Double authentification exigée dans tout le réseau"),
    "network_two_factor_optional": _l("Double authentification facultative dans le réseau"),
    # --- relais ---
    "relais_created": _l("Relais créé"),
    "relais_applied": _l("Candidature d'un relais reçue"),
    "relais_updated": _l("Profil du relais modifié"),
    "relais_status_changed": _l("Statut du relais changé"),
    "relais_approved": _l("Relais approuvé"),
    "relais_rejected": _l("Candidature d'un relais refusée"),
    "relais_suspended": _l("Relais suspendu"),
    "relais_reactivated": _l("Relais réactivé"),
    "relais_closed": _l("Relais fermé"),
    "terms_accepted": _l("Conditions d'utilisation acceptées"),
    "coach_assigned": _l("Coach attribué"),
    # --- the audit log and the network scope ---
    "network_access": _l("Accès aux données du réseau"),
    "audit_log_exported": _l("Journal d'audit exporté"),
    # --- training and coaching ---
    "training_module_saved": _l("Module de formation enregistré"),
    "training_session_created": _l("Session de formation créée"),
    "training_session_updated": _l("Session de formation modifiée"),
    "training_session_cancelled": _l("Session de formation annulée"),
    "training_enrolled": _l("Inscription à une formation"),
    "training_enrolment_cancelled": _l("Inscription à une formation annulée"),
    "training_attendance_marked": _l("Présence à une formation enregistrée"),
    "training_sheet_signed": _l("Feuille d'émargement signée"),
    "training_survey_submitted": _l("Questionnaire de satisfaction rempli"),
    "training_path_set": _l("Parcours de formation défini"),
    "training_export": _l("Export des données de formation"),
    "coaching_session_logged": _l("Visite de coaching enregistrée"),
    "coaching_next_step_done": _l("Prochaine étape faite"),
    "coaching_next_step_reopened": _l("Prochaine étape rouverte"),
    "coaching_milestone_added": _l("Jalon ajouté"),
    "coaching_milestone_done": _l("Jalon atteint"),
    "coaching_milestone_reopened": _l("Jalon rouvert"),
    # --- reporting ---
    "bilan_export_requested": _l("Export du bilan demandé"),
    "bilan_export_restarted": _l("Export du bilan relancé"),
    "bilan_export_downloaded": _l("Export du bilan téléchargé"),
    "reporting_event_created": _l("Événement créé"),
    "reporting_event_updated": _l("Événement modifié"),
    "reporting_event_deleted": _l("Événement supprimé"),
    "funder_created": _l("Financeur ajouté"),
    "convention_created": _l("Convention créée"),
    # --- stock: catalogue, orders and payments ---
    "product_created": _l("Produit créé"),
    "product_updated": _l("Produit modifié"),
    "order_created": _l("Commande créée"),
    "order_updated": _l("Commande modifiée"),
    "order_status_changed": _l("Statut de la commande changé"),
    "payment.manual": _l("Paiement enregistré à la main"),
    "payment.checkout_started": _l("Paiement en ligne commencé"),
    "payment.invoice_sent": _l("Facture envoyée"),
    "payment.invoice_resent": _l("Facture renvoyée"),
    "payment.pending": _l("Paiement en attente"),
    "payment.succeeded": _l("Paiement reçu"),
    "payment.failed": _l("Paiement échoué"),
    "payment.cancelled": _l("Paiement annulé"),
    # --- stock: distributions, reports, supply ---
    "distribution_recorded": _l("Distribution enregistrée"),
    "distribution_cancelled": _l("Distribution annulée"),
    "distribution_warranty_return": _l("Retour sous garantie"),
    "distribution_warranty_exchange": _l("Échange sous garantie"),
    "handover_recorded": _l("Remise de matériel enregistrée"),
    "stock_report_submitted": _l("Rapport de stock envoyé"),
    "stock_report_reviewed": _l("Rapport de stock revu"),
    "supplier_created": _l("Fournisseur ajouté"),
    "collection_created": _l("Collecte créée"),
    "collection_sent": _l("Collecte envoyée"),
    "collection_closed": _l("Collecte clôturée"),
    "supplier_return_created": _l("Retour fournisseur créé"),
    "supplier_return_answered": _l("Réponse du fournisseur enregistrée"),
}

# Target types are table names (`record(target=obj)` stores `obj.__tablename__`).
TARGET_LABELS: dict[str, LazyString] = {
    "beneficiaries": _l("Personne"),
    "accompaniment_sessions": _l("Séance d'accompagnement"),
    "parcours": _l("Parcours"),
    "referrers": _l("Structure orientatrice"),
    "themes": _l("Thème d'accompagnement"),
    "imports": _l("Import"),
    "users": _l("Utilisateur"),
    "network_security_policy": _l("Règle de sécurité du réseau"),
    "relais": _l("Relais"),
    "training_modules": _l("Module de formation"),
    "training_sessions": _l("Session de formation"),
    "training_enrolments": _l("Inscription à une formation"),
    "training_surveys": _l("Questionnaire de satisfaction"),
    "coaching_sessions": _l("Visite de coaching"),
    "coaching_next_steps": _l("Prochaine étape"),
    "coaching_milestones": _l("Jalon"),
    "report_exports": _l("Export du bilan"),
    "reporting_events": _l("Événement"),
    "funders": _l("Financeur"),
    "conventions": _l("Convention"),
    "products": _l("Produit"),
    "orders": _l("Commande"),
    "payments": _l("Paiement"),
    "distributions": _l("Distribution"),
    "handovers": _l("Remise de matériel"),
    "stock_reports": _l("Rapport de stock"),
    "suppliers": _l("Fournisseur"),
    "supply_collections": _l("Collecte"),
    "supplier_returns": _l("Retour fournisseur"),
}


def action_label(code: str) -> str:
    """The action's label in the current language; an unknown code shows as itself."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def target_label(target_type: str | None) -> str:
    """The target type's noun in the current language ("" for none); unknown: the code."""
    if not target_type:
        return ""
    label = TARGET_LABELS.get(target_type)
    return str(label) if label is not None else target_type


def sort_key(label: str) -> str:
    """Alphabetical order as a reader expects it: accents and case ignored (É with E)."""
    decomposed = unicodedata.normalize("NFKD", label)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
