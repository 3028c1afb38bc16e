"""Team-mode accounts: sign-in (scrypt hashes), the password rule, the login audit and throttle. Builds on
`db.store`; the store never imports this package."""
from __future__ import annotations

from .auth import authenticate, create_user, hash_password, set_password, verify_password
from .login_audit import attempt_login, list_login_attempts
from .login_throttle import LoginPolicy
from .passwords import MIN_PASSWORD_LENGTH, check_password

__all__ = ["LoginPolicy", "MIN_PASSWORD_LENGTH", "attempt_login", "authenticate", "check_password", "create_user",
           "hash_password", "list_login_attempts", "set_password", "verify_password"]
