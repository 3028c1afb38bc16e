"""app.services.auth without a server: which client a login is counted against, and the refusal messages."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.services import auth
from db.store.domain import LoginOutcome


@pytest.mark.parametrize(("headers", "ip", "proxies", "expected"), [
    ({"X-Forwarded-For": "6.6.6.6, 10.0.0.7"}, "172.17.0.1", "172.17.0.1", "ip:10.0.0.7"),  # the proxy's entry
    ({"X-Forwarded-For": "6.6.6.6, 10.0.0.7"}, "172.17.0.1", "", "ip:172.17.0.1"),  # no proxy named: ignored
    ({"Host": "x"}, "192.0.2.4", "", "ip:192.0.2.4"),
    ({"Host": "x"}, None, "", "ip:127.0.0.1"),  # loopback: Streamlit gives no address; every tab is one client
])
def test_client_identity(monkeypatch: pytest.MonkeyPatch, headers: dict, ip: str | None, proxies: str,
                         expected: str) -> None:
    monkeypatch.setenv("DOCRE_TRUSTED_PROXIES", proxies)
    monkeypatch.setattr(auth, "st", SimpleNamespace(context=SimpleNamespace(headers=headers, ip_address=ip)))
    monkeypatch.setattr(auth, "session_id", lambda: "tab-1")
    assert auth.client_identity() == expected


def test_without_a_request_the_client_is_a_keyed_hash_of_the_session(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path) -> None:
    """Never the session id itself: presenting it to the server re-attaches the session."""
    monkeypatch.setenv("DOCRE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(auth, "st", SimpleNamespace(context=SimpleNamespace(headers={}, ip_address=None)))
    monkeypatch.setattr(auth, "session_id", lambda: "0f0e1d2c-tab-1")
    client = auth.client_identity()
    assert client.startswith("session:") and "tab-1" not in client and len(client) == len("session:") + 16
    assert client == auth.client_identity()  # stable, so the audit still correlates one session's attempts


def test_refusals_never_say_whether_the_name_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(auth, "clock", lambda: now)
    assert auth.refusal_message(LoginOutcome(None, 1.0)) == "Unknown user name or wrong password."
    locked = auth.refusal_message(LoginOutcome(None, 0.0, now + timedelta(minutes=14, seconds=30)))
    assert "locked until 09:14 UTC (about 15 min)" in locked
