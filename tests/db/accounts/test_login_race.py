"""Throttling that holds under parallel attempts: two real processes fire 40 wrong logins on one account at once
(20 threads each, every attempt from its own client); the password is checked at most `max_failures` times in
all, and every other attempt is refused unchecked. SQLite always, PostgreSQL when DOCRE_TEST_POSTGRES_URL is set."""
from __future__ import annotations

from sqlalchemy import func, select

from db.store import models as m
from db.store.session import session_scope
from tests.db_support import create_account
from tests.race_support import LOGIN_NAME, collide, login_worker

CAP = 5  # LoginPolicy.max_failures in the workers


def test_forty_parallel_logins_get_at_most_the_cap_of_password_checks(db_url, factory) -> None:
    create_account(factory, LOGIN_NAME, "annotator")
    results = collide(login_worker, (db_url, 20), (db_url, 20), timeout=300)
    outcomes = [o for _, per in results for o in per]
    assert len(outcomes) == 40 and set(outcomes) <= {"checked", "locked"}, outcomes
    checks = sum(n for n, _ in results)
    assert 1 <= checks <= CAP, checks
    assert outcomes.count("checked") == checks
    with session_scope(factory) as s:
        counts = dict(s.execute(select(m.LoginAttemptRow.outcome, func.count()).group_by(m.LoginAttemptRow.outcome))
                      .all())
    assert counts == {"failure": checks, "locked": 40 - checks}
