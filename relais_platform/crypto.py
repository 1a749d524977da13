"""Encryption at rest of the secrets the database must hold in a recoverable form.

TOTP secrets cannot be hashed (the server recomputes codes from them), so they are stored
encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under `TOTP_ENCRYPTION_KEY`, a key that
comes from the environment and never from the database: a dump, a replica or a role that
reads `users` sees ciphertext only. The setting may list several keys separated by commas:
the first encrypts, every one decrypts (rotation; see `flask users rotate-totp-key`).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator


@lru_cache(maxsize=8)
def _cipher(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])


def cipher() -> MultiFernet:
    return _cipher(current_app.config["TOTP_ENCRYPTION_KEY"])


def encrypt(value: str) -> str:
    return cipher().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    return cipher().decrypt(value.encode()).decode()


def rotate(value: str) -> str:
    """The same secret, encrypted again under the first key."""
    return cipher().rotate(value.encode()).decode()


class EncryptedText(TypeDecorator[str]):
    """A string encrypted on its way to the database and decrypted on its way back."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else decrypt(value)
