"""DocRE Studio's server: `streamlit run app/server.py` (Streamlit finds the `st.App` below and serves
app/main.py through it). The App adds one route beside Streamlit's own, the one that sets the HttpOnly
sign-in cookie (app.session_cookie explains why). Settings are checked here first, so a bad one (an unknown
DOCRE_AUTH value, say) stops start-up with its message instead of a server that runs in the wrong mode."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # Streamlit imports this file from app/; the project's packages live one up
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit import config  # noqa: E402

from app.session_cookie import routes  # noqa: E402
from engine.errors import ConfigError  # noqa: E402
from engine.settings import get_settings  # noqa: E402

try:
    get_settings()
except ConfigError as err:
    sys.stderr.write(f"DocRE Studio cannot start: {err}\n")
    raise SystemExit(2) from None

app = st.App(str(Path(__file__).resolve().parent / "main.py"),
             routes=routes(config.get_option("server.baseUrlPath") or ""))
