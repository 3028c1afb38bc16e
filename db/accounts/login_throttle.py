"""How hard failed logins are throttled: a growing delay after each failure, then a lock for a while, per
account and per client, and a cap on failures from everyone together. Pure policy: db.login_audit counts the
attempts, the app waits the delay.

Defaults: 5 failures on one account (20 from one client, which may be a proxy many people share) lock it for
15 minutes; the delay after a failure doubles from 1 s up to 16 s; more than 30 failures a minute from everyone
(spraying many names from many sessions) stop all password checks until the minute has passed, real users'
included: a curator can raise it. DOCRE_LOGIN_* variables change them."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class LoginPolicy:
    """Limits on failed logins; counts run over `lock_seconds` and restart after the account's next success."""

    max_failures: int = 5  # failures on one account (any client) that lock it
    max_failures_per_client: int = 20  # failures from one client (any names) that lock that client
    lock_seconds: float = 15 * 60.0  # how long a lock lasts, from the failure that set it
    base_delay_seconds: float = 1.0  # wait after the first failure; doubles with each further one
    max_delay_seconds: float = 16.0
    max_failures_global: int = 30  # failures from everyone within global_window_seconds that stop all checks
    global_window_seconds: float = 60.0

    ENV = {"max_failures": "DOCRE_LOGIN_MAX_FAILURES", "max_failures_per_client": "DOCRE_LOGIN_MAX_FAILURES_PER_CLIENT",
           "lock_seconds": "DOCRE_LOGIN_LOCK_SECONDS", "base_delay_seconds": "DOCRE_LOGIN_DELAY_SECONDS",
           "max_delay_seconds": "DOCRE_LOGIN_MAX_DELAY_SECONDS",
           "max_failures_global": "DOCRE_LOGIN_MAX_FAILURES_GLOBAL",
           "global_window_seconds": "DOCRE_LOGIN_GLOBAL_WINDOW_SECONDS"}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LoginPolicy:
        """The defaults, each overridden by its DOCRE_LOGIN_* variable when set."""
        source = os.environ if env is None else env
        values: dict[str, float | int] = {}
        for f in fields(cls):
            raw = source.get(cls.ENV[f.name], "").strip()
            if raw:
                values[f.name] = _parse(cls.ENV[f.name], raw, whole=f.type in (int, "int"))
        return cls(**values)

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1-based): base, 2x, 4x, ... up to the cap."""
        if failures <= 0:
            return 0.0
        return min(self.base_delay_seconds * 2.0 ** min(failures - 1, 30), self.max_delay_seconds)


def _parse(variable: str, raw: str, *, whole: bool) -> float | int:
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = -1
    lowest = 1 if whole else 0
    if value < lowest:
        kind = "a whole number >= 1" if whole else "a number of seconds >= 0"
        raise ValueError(f"{variable}: expected {kind}, got {raw!r}")
    return value
