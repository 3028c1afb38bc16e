"""Team-mode sign-in against a real server (`streamlit run app/server.py`, DOCRE_AUTH=on): a login in Chromium
survives a reload (the signed cookie, not the session, carries it), and a websocket client that presents only
that logged-in session's id (the third Sec-WebSocket-Protocol entry, as Streamlit's own client reconnects) is
re-attached to the session yet sees the login, not the app. With the browser's cookie as well, it sees the app:
the check reads the cookie, not something else this client lacks.

Run: pytest -m e2e tests/e2e/test_session_takeover.py."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.e2e.browser_support import WAIT_MS, chromium, idle, team_store
from tests.server_support import app_server

pytestmark = pytest.mark.e2e
NAME, PASSWORD = "ann", "a long enough passphrase"
APP_PAGES = {"Upload", "Review", "Evaluate"}  # some of the eight pages a signed-in annotator gets


@dataclass
class Seen:
    """What one websocket connection was told after asking for a script run."""

    session_id: str = ""
    pages: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)


def _read(seen: Seen, raw: bytes) -> bool:
    """Fold one ForwardMsg into `seen`; True once the script run has finished."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: PLC0415

    msg = ForwardMsg.FromString(raw)
    kind = msg.WhichOneof("type")
    if kind == "new_session":
        seen.session_id = msg.new_session.initialize.session_id
    elif kind == "navigation":
        seen.pages |= {p.page_name for p in msg.navigation.app_pages}
    elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        element = msg.delta.new_element
        widget = element.WhichOneof("type")
        label = getattr(getattr(element, widget), "label", None) if widget else None
        if isinstance(label, str) and label:
            seen.labels.add(label)
    return kind == "script_finished"


async def _attach(base: str, session_id: str, cookie: str | None) -> Seen:
    """Connect as Streamlit's client reconnects (subprotocols: streamlit, xsrf token, session id), ask for a
    run of the default page, and collect what comes back until it finishes."""
    import websockets  # noqa: PLC0415
    from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: PLC0415
    from streamlit.proto.ClientState_pb2 import ClientState  # noqa: PLC0415

    url = base.replace("http://", "ws://") + "/_stcore/stream"
    headers = {"Cookie": cookie} if cookie else None
    seen = Seen()
    async with websockets.connect(url, subprotocols=["streamlit", "xsrf", session_id], additional_headers=headers,
                                  max_size=None) as ws:
        await ws.send(BackMsg(rerun_script=ClientState(query_string="", page_script_hash="")).SerializeToString())
        async with asyncio.timeout(WAIT_MS / 1000):
            # until the run asked for here ends: a run still going when the client attached may finish first
            while not (_read(seen, await ws.recv()) and seen.session_id):
                pass
    return seen


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("takeover")
    with team_store(tmp, {NAME: "annotator"}, PASSWORD) as _:
        pass
    with app_server(f"sqlite:///{tmp / 'team.sqlite'}", tmp, team_mode=True) as base:
        yield base


def _log_in(page, base: str, session_ids: list[str]) -> None:
    def frames(ws) -> None:
        def got(payload) -> None:
            seen = Seen()
            if isinstance(payload, bytes):
                _read(seen, payload)
                if seen.session_id:
                    session_ids.append(seen.session_id)
        ws.on("framereceived", got)

    page.on("websocket", frames)
    page.goto(f"{base}/review")
    page.get_by_role("textbox", name="User name").fill(NAME)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Annotating as {NAME}").first.wait_for()
    idle(page)


def test_sign_in_survives_a_reload_and_a_session_id_alone_sees_the_login(server: str) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        session_ids: list[str] = []
        _log_in(page, server, session_ids)
        (cookie,) = [c for c in context.cookies() if c["name"] == "docre_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0
        assert page.evaluate("document.cookie").find("docre_session") == -1  # page scripts cannot read it
        page.reload()
        page.get_by_text(f"Annotating as {NAME}").first.wait_for()  # still signed in after a reload
        page.get_by_role("heading", name="Review", exact=True).first.wait_for()
        idle(page)
        victim = session_ids[-1]
        context.close()  # the session stays on the server, waiting for its client to reconnect

    attacker = asyncio.run(_attach(server, victim, cookie=None))
    assert attacker.session_id == victim  # Streamlit did re-attach the signed-in session...
    assert "Password" in attacker.labels and not attacker.pages & APP_PAGES  # ...and it shows only the login

    owner = asyncio.run(_attach(server, victim, cookie=f"docre_session={cookie['value']}"))
    assert owner.session_id == victim and APP_PAGES <= owner.pages and "Password" not in owner.labels
