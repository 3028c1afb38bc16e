"""DocRE Studio: `streamlit run app/main.py`. Sets the page config, settles who is annotating (local
mode: a name asked once; team mode, DOCRE_AUTH=on: a login), and hands over to st.navigation."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/ on the path, not the project root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import services, state, ui  # noqa: E402

PAGES = (
    ("pages/upload.py", "Upload", ":material/upload_file:"),
    ("pages/document.py", "Document", ":material/grid_on:"),
    ("pages/compare.py", "Compare", ":material/compare_arrows:"),
    ("pages/review.py", "Review", ":material/rule:"),
    ("pages/evaluate.py", "Evaluate", ":material/query_stats:"),
    ("pages/export.py", "Export", ":material/download:"),
)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # a local icon: page icons would otherwise make the browser fetch a favicon from Google's font CDN
    st.set_page_config(page_title="DocRE Studio", page_icon=str(ROOT / "assets" / "favicon.png"), layout="wide")
    if services.review.team_mode() and state.annotator() is None:
        # st.navigation is always called, so no page (not even by URL) runs before the login
        page = st.navigation([st.Page(ui.login_form, title="Log in", url_path="login")], position="hidden")
    else:
        page = st.navigation([st.Page(path, title=title, icon=icon) for path, title, icon in PAGES])
        ui.identity_sidebar()
    page.run()


main()
