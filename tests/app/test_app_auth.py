"""app.services.auth without a server: which client a login is counted against, and the refusal messages."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.services import auth
from db.store.domain import LoginOutcome


@pytest.mark.parametrize(("headers", "ip", "expected"), [
    ({"X-Forwarded-For": "6.6.6.6, 10.0.0.7"}, "172.17.0.1", "ip:10.0.0.7"),  # the proxy's entry, not the forgeable one
    ({}, "192.0.2.4", "ip:192.0.2.4"),
    ({}, None, "session:tab-1"),  # loopback: Streamlit gives no address
])
def test_client_identity(monkeypatch: pytest.MonkeyPatch, headers: dict, ip: str | None, expected: str) -> None:
    monkeypatch.setattr(auth, "st", SimpleNamespace(context=SimpleNamespace(headers=headers, ip_address=ip)))
    monkeypatch.setattr(auth, "session_id", lambda: "tab-1")
    assert auth.client_identity() == expected


def test_refusals_never_say_whether_the_name_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(auth, "clock", lambda: now)
    assert auth.refusal_message(LoginOutcome(None, 1.0)) == "Unknown user name or wrong password."
    locked = auth.refusal_message(LoginOutcome(None, 0.0, now + timedelta(minutes=14, seconds=30)))
    assert "locked until 09:14 UTC (about 15 min)" in locked
