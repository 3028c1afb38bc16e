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
from .session_tokens import token_account

__all__ = ["LOGIN_OUTCOMES", "LoginPolicy", "MIN_PASSWORD_LENGTH", "attempt_login", "authenticate", "check_password",
           "create_user", "hash_password", "list_login_attempts", "revoke_sessions", "set_enabled", "set_password",
           "token_account", "verify_password"]
