"""DocRE Studio's script, served by `streamlit run app/server.py` (which adds the sign-in cookie route). Sets
the page config, settles who is annotating (local mode: a name asked once; team mode, DOCRE_AUTH=on: the
signed cookie a login sets, checked on every run), and hands over to st.navigation.

The page scripts live in app/views/, never app/pages/: Streamlit runs a `pages/` folder beside the entry
script as its own navigation, by URL and without this file, until st.navigation is first called, which would
skip the login. Each view also checks the login itself (ui.page_title -> ui.require_access)."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/ on the path, not the project root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from app import services, ui  # noqa: E402
from engine.serve.native_memory import bound_kernel_caches  # noqa: E402

bound_kernel_caches()  # before any model runs: a long-lived server scores many shapes (see native_memory)

PAGES = (
    ("views/upload.py", "Upload", ":material/upload_file:"),
    ("views/document.py", "Document", ":material/grid_on:"),
    ("views/compare.py", "Compare", ":material/compare_arrows:"),
    ("views/review.py", "Review", ":material/rule:"),
    ("views/adjudicate.py", "Adjudicate", ":material/gavel:"),
    ("views/assign.py", "Assign", ":material/group:"),
    ("views/evaluate.py", "Evaluate", ":material/query_stats:"),
    ("views/export.py", "Export", ":material/download:"),
)
USERS_PAGE = ("views/users.py", "Users", ":material/manage_accounts:")  # team mode, curators only


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # a local icon: page icons would otherwise make the browser fetch a favicon from Google's font CDN
    st.set_page_config(page_title="DocRE Studio", page_icon=str(ROOT / "assets" / "favicon.png"), layout="wide")
    problem = services.resources.database_problem()  # the status line: a database that cannot be read says so
    if problem is not None:
        st.error(problem, icon=":material/database:")
        st.stop()
    services.jobs.start_up()  # once per process: jobs a stopped server left running are re-queued and resumed
    if services.review.team_mode() and ui.sync_sign_in() is None:  # the cookie, checked on every run
        # st.navigation is always called, so no page (not even by URL) runs before the login. Each page's URL
        # leads to the login form too (no "page not found" over it), and after the login to that page.
        # The default page answers "/" only (Streamlit gives it the URL path ""), so "/login" needs a page of its
        # own, or it opened with a "Page not found" dialog.
        gate = [st.Page(ui.login_form, title="Log in", url_path="home", default=True),
                st.Page(ui.login_form, title="Log in", url_path="login")]
        gate += [st.Page(ui.login_form, title="Log in", url_path=Path(path).stem)
                 for path, _, _ in (*PAGES, USERS_PAGE)]
        page = st.navigation(gate, position="hidden")
    else:
        shown = [*PAGES, USERS_PAGE] if services.review.team_mode() and ui.is_curator() else PAGES
        # "/" shows the first page through a hidden default page, so the first page keeps its own URL ("/upload"
        # opened with a "Page not found" dialog when it was the default page, whose URL path is "").
        first, title, icon = shown[0]
        home = st.Page(first, title=title, icon=icon, url_path="home", default=True, visibility="hidden")
        page = st.navigation([home, *(st.Page(path, title=title, icon=icon) for path, title, icon in shown)])
        ui.identity_sidebar()
    try:
        page.run()
    except DBAPIError as err:  # e.g. the disk filled up during a write: one line with what to do, not a traceback
        logging.getLogger(__name__).exception("database error")
        st.error(services.resources.describe_database_error(err), icon=":material/database:")


main()
