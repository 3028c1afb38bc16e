"""Team-mode sign-in in the app: the session follows the signed cookie on every run, so a role or password change
made elsewhere reaches an open session at once; privileged service calls check the stored role as they act;
X-Forwarded-For counts only from a named proxy; an unknown DOCRE_AUTH stops a real server's start-up."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from app import services
from db import accounts, store
from engine.errors import ConfigError
from engine.settings import get_settings
from tests.app.page_support import MAIN
from tests.app_support import FakeBrowser, team_store
from tests.paths import ROOT

PASSWORD = "a long enough passphrase"


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeBrowser:
    """Team mode on an empty store holding curator carol and annotator ann; a fake browser; no real waits."""
    monkeypatch.setattr(services.auth, "sleep", lambda _s: None)
    return team_store(tmp_path, monkeypatch, [("carol", "curator", PASSWORD), ("ann", "annotator", PASSWORD + "!")])


def _signed_in(browser: FakeBrowser, name: str, password: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120).run()
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.form_submit_button[0].click().run()
    at.run()  # the reload that follows the cookie exchange
    assert not at.exception and at.session_state["docre.annotator"] == name
    return at


def _said(elements) -> str:
    return re.sub(r"\\(.)", r"\1", "\n".join(e.value for e in elements))  # Markdown escapes removed


def _shows_login(at: AppTest) -> bool:
    return [b.label for b in at.form_submit_button] == ["Log in"] and at.session_state["docre.annotator"] is None


@pytest.mark.parametrize("change", ["demote", "password", "disable"])
def test_a_change_made_elsewhere_reaches_the_open_session(team: FakeBrowser, change: str) -> None:
    carol = _signed_in(team, "carol", PASSWORD)
    assert carol.session_state["docre.role"] == "curator"
    with services.resources.session() as s:  # another session: the CLI or a curator on the Users page
        if change == "demote":
            store.set_role(s, "carol", "annotator")
        elif change == "password":
            accounts.set_password(s, "carol", "a brand new long passphrase")
        else:
            accounts.set_enabled(s, "carol", False, actor="root")
    carol.run()
    assert not carol.exception and _shows_login(carol)


def test_a_reload_keeps_the_sign_in_and_logging_out_ends_it_everywhere(team: FakeBrowser) -> None:
    first = _signed_in(team, "ann", PASSWORD + "!")
    second = AppTest.from_file(MAIN, default_timeout=120).run()  # another tab with the same cookie
    assert second.session_state["docre.annotator"] == "ann"
    token = team.cookie
    first.button(key="docre.w.logout").click().run()
    assert team.cookie is None
    team.cookie = token  # even a copy of the old cookie no longer works
    second.run()
    assert _shows_login(second)


def test_privileged_calls_check_the_stored_role_as_they_act(team: FakeBrowser) -> None:
    with services.resources.session() as s:
        dataset = store.create_dataset(s, "shared")
    assert services.team.split_queue(dataset.id, ["ann"], "document", "carol") == {"ann": 0}
    with services.resources.session() as s:  # demoted while the page that shows the button is still open
        store.set_role(s, "carol", "annotator")
    with pytest.raises(services.review.AccountError, match="only curators split the queue"):
        services.team.split_queue(dataset.id, ["ann"], "document", "carol")
    with pytest.raises(services.review.AccountError, match="only curators see the log-in attempts"):
        services.auth.recent_attempts("carol")


@pytest.mark.parametrize(("forwarded", "connection", "proxies", "expected"), [
    ("6.6.6.6", "10.0.0.5", (), "10.0.0.5"),  # no proxy named: the header is ignored
    ("6.6.6.6, 7.7.7.7", "10.0.0.5", ("10.0.0.9",), "10.0.0.5"),  # a header from someone not named
    ("6.6.6.6, 7.7.7.7", "10.0.0.9", ("10.0.0.9",), "7.7.7.7"),  # the named proxy's entry, not the forged one
    ("6.6.6.6, 7.7.7.7, 10.0.0.8", "10.0.0.9", ("10.0.0.0/24",), "7.7.7.7"),  # a chain of trusted proxies
    ("7.7.7.7", "127.0.0.1", ("loopback",), "7.7.7.7"),
    (None, "10.0.0.9", ("10.0.0.9",), "10.0.0.9"),
])
def test_forwarded_for_counts_only_from_a_named_proxy(forwarded, connection, proxies, expected) -> None:
    assert services.auth.client_address(forwarded, connection, proxies) == expected


@pytest.mark.parametrize("value", ["enabled", "team", "required"])
def test_an_unknown_auth_value_stops_start_up(value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCRE_AUTH", value)
    with pytest.raises(ConfigError, match=r"DOCRE_AUTH: expected one of on, 1, true, yes .* or off, 0, false, no"):
        get_settings()
    if value != "enabled":
        return
    env = {**os.environ, "DOCRE_AUTH": value, "DOCRE_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    started = subprocess.run([sys.executable, "-m", "streamlit", "run", "app/server.py", "--server.headless", "true",
                              "--server.port", "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                             check=False)
    assert started.returncode == 2, started.stdout + started.stderr
    assert "DocRE Studio cannot start: DOCRE_AUTH: expected one of on" in started.stderr


def test_known_auth_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, team_mode in (("on", True), ("YES", True), ("off", False), ("0", False), ("", False)):
        monkeypatch.setenv("DOCRE_AUTH", value)
        assert get_settings().team_mode is team_mode


def test_a_misspelt_proxy_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCRE_TRUSTED_PROXIES", "10.0.0.9, nginx")
    with pytest.raises(ConfigError, match="DOCRE_TRUSTED_PROXIES: 'nginx' is not an address"):
        get_settings()
    monkeypatch.setenv("DOCRE_TRUSTED_PROXIES", "10.0.0.9, 10.1.0.0/16, loopback")
    assert get_settings().trusted_proxies == ("10.0.0.9", "10.1.0.0/16", "loopback")


def test_a_curator_manages_users_and_every_change_is_audited(team: FakeBrowser) -> None:
    carol = _signed_in(team, "carol", PASSWORD)
    carol.switch_page("views/users.py").run()
    assert not carol.exception and carol.title[0].value == "Users"
    fields = {t.label: t for t in carol.text_input}
    fields["New user name"].input("dave")
    fields["Initial password"].input("qwertyuiopas")  # too easy: refused, nothing stored
    carol.form_submit_button[0].click().run()
    assert "Not created: password: too easy to guess" in _said(carol.error)
    fields = {t.label: t for t in carol.text_input}
    fields["New user name"].input("dave")
    fields["Initial password"].input("a sturdy long passphrase")
    carol.form_submit_button[0].click().run()
    assert not carol.exception and "Created dave (annotator)." in _said(carol.success)
    carol.selectbox(key="docre.w.user_pick").set_value("ann").run()
    carol.button(key="docre.w.user_enable").click().run()
    with services.resources.session() as s:
        assert not store.get_annotator(s, "ann").enabled
        events, total = store.list_account_events(s)
    assert total == 4  # carol and ann (the fixture), dave, ann disabled
    assert [(e.account, e.actor, e.action) for e in events[:2]] == [("ann", "carol", "disabled"),
                                                                    ("dave", "carol", "created")]
    table = carol.dataframe[-1].value
    assert list(table["change"])[:2] == ["disabled", "created"] and list(table["by"])[:2] == ["carol", "carol"]


def test_only_curators_see_or_reach_the_users_page(team: FakeBrowser) -> None:
    ann = _signed_in(team, "ann", PASSWORD + "!")
    with pytest.raises(ValueError, match="Known pages"):
        ann.switch_page("views/users.py")  # not even registered for an annotator
    with pytest.raises(services.review.AccountError, match="only curators manage users"):
        services.users.create("ann", "eve", "curator", "a sturdy long passphrase")
