"""Team-mode accounts: sign-in (scrypt hashes), the password rule, the login audit and throttle, the signed
session tokens and the secret key that signs them. Builds on `db.store`; the store never imports this package."""
from __future__ import annotations

from .auth import (
    authenticate,
    create_user,
    hash_password,
    revoke_sessions,
    set_enabled,
    set_password,
    verify_password,
)
from .login_audit import LOGIN_OUTCOMES, attempt_login, list_login_attempts
from .login_throttle import LoginPolicy
from .passwords import MIN_PASSWORD_LENGTH, check_password
from .secret_key import keyed_hash, load_secret_key
from .session_tokens import TokenClaims, issue_token, read_token, token_account

__all__ = ["LOGIN_OUTCOMES", "LoginPolicy", "MIN_PASSWORD_LENGTH", "TokenClaims", "attempt_login", "authenticate",
           "check_password", "create_user", "hash_password", "issue_token", "keyed_hash", "list_login_attempts",
           "load_secret_key", "read_token", "revoke_sessions", "set_enabled", "set_password", "token_account",
           "verify_password"]
