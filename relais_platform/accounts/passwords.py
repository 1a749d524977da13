"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
# Verified when an e-mail is unknown, so that the answer takes as long as for a real account.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")

MIN_LENGTH = 12


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("relais_platform.data").joinpath("common_passwords.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """French messages for every rule the password breaks (empty when acceptable)."""
    from flask_babel import gettext as _

    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Le mot de passe doit comporter au moins %(n)d caractères.", n=MIN_LENGTH))
    lowered = password.lower()
    # "Motdepasse2024!" is as weak as "motdepasse": strip what people add around a word.
    core = re.sub(r"^[\d\W_]+|[\d\W_]+$", "", lowered)
    personal = {part for part in re.split(r"[\W_]+", f"{email} {name}".lower()) if len(part) >= 4}
    if lowered in _common_passwords() or core in _common_passwords() or len(set(lowered)) <= 2:
        problems.append(_("Ce mot de passe est trop courant : choisissez-en un autre."))
    elif core in personal:
        problems.append(_("Le mot de passe ne doit pas reprendre votre nom ou votre adresse e-mail."))
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
