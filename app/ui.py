"""Streamlit pieces several pages share: messages, who is annotating, and the dataset, document, run and
pair pickers. They read and write `app.state`, call `app.services`, and escape every user string."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from . import services, state
from .components import review_yield
from .components.text import clip, entity_label, markdown_text
from .state import Keys


def sync_sign_in() -> str | None:
    """Team mode, on every script run: who this connection's sign-in cookie names, as the store has the account
    now (role included). Without a valid cookie the session is signed out, whatever it held before: a session
    re-attached by its id alone, an expired token, or one revoked by a password or role change or by disabling."""
    account = services.auth.signed_in_account()
    if account is None:
        state.set_annotator(None)
        return None
    state.set_annotator(account.name, account.role)
    return account.name


def is_curator() -> bool:
    """Whether the page should offer curators' tools (the services check the stored role again as they act)."""
    return state.role() == "curator" and state.annotator() is not None


def require_access() -> str | None:
    """Team mode: the page stops here, showing only the login form, unless this connection's cookie signs an
    account in; local mode lets everyone in. Every view runs it first (through page_title), so no URL reaches a
    page without it."""
    if services.review.team_mode() and sync_sign_in() is None:
        login_form()
        st.stop()
    return state.annotator()


def install_keys(script: str) -> None:
    """Run a page's key script (app/components/keyboard.page_script) in a same-origin frame of no height: st.iframe
    with the script as its document (streamlit.components.v1.html, used before, is deprecated in its favour)."""
    st.iframe(script, height="content")


def page_title(title: str) -> None:
    """Every page opens the same way: the access check, its title, then messages queued before the last rerun."""
    require_access()
    st.title(title)
    show_flash()


def show_flash() -> None:
    """Messages queued before an st.rerun, shown once."""
    for kind, message in state.pop_flash():
        {"success": st.success, "warning": st.warning, "error": st.error}.get(kind, st.info)(message)


NAME_PARAM = "annotator"  # local mode: the name rides in the URL, so a reload (or a bookmark) keeps it


def remember_name() -> None:
    """Local mode: take the name from the URL when the session has none (a reload), and keep it in the URL
    (page switches drop query parameters). Team mode never trusts a name from the URL."""
    if services.review.team_mode():
        return
    name = state.annotator()
    if name is None and st.query_params.get(NAME_PARAM):
        try:
            info = services.review.ensure_annotator(st.query_params[NAME_PARAM])
        except (services.review.AccountError, ValueError):
            st.query_params.pop(NAME_PARAM, None)
        else:
            state.set_annotator(info.name, info.role)
            name = info.name
    if name is not None and st.query_params.get(NAME_PARAM) != name:
        st.query_params[NAME_PARAM] = name


def identity_sidebar() -> None:
    """Local mode: the annotator's name, asked once and editable; team mode: who is logged in."""
    remember_name()
    with st.sidebar:
        name = state.annotator()
        if name:
            st.caption(f"Annotating as **{markdown_text(name)}** ({state.role()})")
            if not services.review.team_mode() and st.button("Change name", key=Keys.CHANGE_NAME):
                state.set_annotator(None)
                st.query_params.pop(NAME_PARAM, None)
                st.rerun()
            elif services.review.team_mode() and st.button("Log out", key=Keys.LOGOUT,
                                                             help="Signs this account out on every browser."):
                services.auth.log_out(name)
                state.set_annotator(None)
                st.info("Signed out.")
                st.stop()
        elif not services.review.team_mode():
            ask_name()


def drop_identity(reason: str) -> None:
    """Forget who is annotating (the name can no longer be used), say why, and start the page again."""
    state.set_annotator(None)
    st.query_params.pop(NAME_PARAM, None)
    state.push_flash(markdown_text(reason), "error")
    st.rerun()


def ask_name(where: str = "sidebar") -> None:
    """Local mode only: a one-field form; the name goes with every decision (who/when). Team mode never shows
    it: there a name is only ever taken with its password (require_access)."""
    if services.review.team_mode():
        require_access()
        return
    with st.form(f"{Keys.NAME_FORM}.{where}", border=where != "sidebar"):
        name = st.text_input("Your name", max_chars=100, help="Stored with each review decision.")
        if st.form_submit_button("Start annotating"):
            if not name.strip():
                st.error("Enter a name.")
                return
            try:
                info = services.review.ensure_annotator(name)
            except (services.review.AccountError, ValueError) as err:
                st.error(markdown_text(str(err)))
                return
            state.set_annotator(info.name, info.role)
            st.query_params[NAME_PARAM] = info.name
            st.rerun()


def login_form() -> None:
    """Team mode (DOCRE_AUTH=on): nothing but this form until name and password match an account."""
    st.title("DocRE Studio")
    with st.form(Keys.LOGIN_FORM):
        name = st.text_input("User name")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Log in"):
            _log_in(name, password)
    st.caption("Accounts are created by a curator (Users page) or an administrator: "
               "`python -m db create-user NAME --role annotator`.")


def _log_in(name: str, password: str) -> None:
    """The login form's submit: a throttled check (a failure answers after a growing wait); on success the
    browser gets its sign-in cookie and reloads, and the next run signs in from the cookie (sync_sign_in)."""
    if not name.strip() or not password:
        st.error("Enter your user name and password.")
        return
    with st.spinner("Checking…"):
        outcome = services.auth.login(name, password)
    if outcome.account is None:
        st.error(services.auth.refusal_message(outcome))
        return
    st.info("Signing in…")
    services.auth.start_sign_in(outcome.account)


def login_audit() -> None:
    """Curators in team mode: the login attempts (who, when, from where), newest first, a page at a time,
    filtered by name and outcome."""
    if not services.review.team_mode() or state.role() != "curator" or state.annotator() is None:
        return
    with st.expander("Log-in attempts (curators only)"):
        cols = st.columns([2, 1, 1])
        needle = cols[0].text_input("User name contains", key=Keys.AUDIT_NAME, max_chars=100)
        outcome = cols[1].selectbox("Outcome", [None, *services.auth.OUTCOMES], key=Keys.AUDIT_OUTCOME,
                                    format_func=lambda o: "any" if o is None else o)
        page = cols[2].number_input("Page", 1, 1_000_000, 1, key=Keys.AUDIT_PAGE)
        size = services.auth.AUDIT_PAGE
        try:
            attempts, total = services.auth.recent_attempts(state.annotator(), limit=size,
                                                            offset=(int(page) - 1) * size,
                                                            name=needle or None, outcome=outcome)
        except services.review.AccountError as err:
            st.error(markdown_text(str(err)))
            return
        pages = max(1, -(-total // size))
        st.caption(f"{total} attempt(s) match; page {int(page)} of {pages}, newest first.")
        if attempts:
            st.dataframe([{"time (UTC)": a.created_at.strftime("%Y-%m-%d %H:%M:%S"), "user name": a.name,
                           "outcome": a.outcome, "client": a.client} for a in attempts], hide_index=True)
        st.caption("Every log-in attempt: the name typed (an account's or not, compared ignoring case), the client "
                   "(the connection's address, or the one a trusted proxy names) and the outcome. "
                   "“locked”: refused unchecked after too many failures.")


def dataset_picker() -> int | None:
    """The dataset to work on (sidebar); None when nothing is uploaded yet."""
    datasets = services.documents.datasets()
    if not datasets:
        st.info("No documents yet: add some on the Upload page.")
        return None
    ids = [d.id for d in datasets]
    current = state.dataset_id()
    by_id = {d.id: d for d in datasets}
    chosen = st.sidebar.selectbox("Dataset", ids, index=ids.index(current) if current in ids else len(ids) - 1,
                                  format_func=lambda i: f"{by_id[i].name} ({by_id[i].n_documents} docs)")
    state.set_dataset_id(chosen)
    return chosen


def require_dataset() -> int:
    """The chosen dataset; the page stops here (after saying why) when nothing is uploaded yet."""
    dataset_id = dataset_picker()
    if dataset_id is None:
        st.stop()
    return dataset_id


def document_picker(dataset_id: int) -> int | None:
    """A document of the dataset, found by title."""
    needle = st.sidebar.text_input("Filter titles", key=Keys.TITLE_FILTER)
    docs = services.documents.documents(dataset_id, needle)
    if not docs:
        st.info("No document matches." if needle else "This dataset has no documents.")
        return None
    ids = [d.id for d in docs]
    by_id = {d.id: d for d in docs}
    current = state.document_id()
    chosen = st.sidebar.selectbox(
        "Document", ids, index=ids.index(current) if current in ids else 0,
        format_func=lambda i: (f"{clip(by_id[i].title, 120)} · {by_id[i].num_entities} entities"
                               + (" · gold" if by_id[i].has_labels else "")))
    state.set_document_id(chosen)
    return chosen


def run_picker(label: str, runs: Sequence, key: str, default: int = 0) -> object | None:
    """One of a document's model runs."""
    if not runs:
        return None
    labels = {r.id: services.scoring.run_label(r) for r in runs}
    ids = list(labels)
    chosen = st.selectbox(label, ids, index=min(default, len(ids) - 1), format_func=labels.__getitem__, key=key)
    return next(r for r in runs if r.id == chosen)


def document_header():
    """Dataset and document pickers and the document's title, under page_title(); stops the page when no
    document is chosen. Returns (dataset id, document id, Document, model runs on it)."""
    dataset_id = require_dataset()
    doc_id = document_picker(dataset_id)
    if doc_id is None:
        st.stop()
    doc = services.documents.document(doc_id)
    runs = services.scoring.runs_for_document(dataset_id, doc_id)
    st.subheader(markdown_text(doc.title, 300))
    return dataset_id, doc_id, doc, runs


def pair_picker(doc) -> tuple[int, int] | None:
    """Head and tail selects, kept in step with matrix clicks (state.set_selected_pair moves them)."""
    n = doc.num_entities
    if n < 2:
        st.info("This document has fewer than two entities: there is no pair to look at.")
        return None
    if state.selected_pair() is None or max(state.selected_pair()) >= n:
        state.set_selected_pair((0, 1))
    cols = st.columns(2)
    h = cols[0].selectbox("Head", list(range(n)), format_func=lambda e: entity_label(doc, e), key=Keys.HEAD)
    t = cols[1].selectbox("Tail", list(range(n)), format_func=lambda e: entity_label(doc, e), key=Keys.TAIL)
    if h == t:
        st.warning("Head and tail are the same entity; pick two different ones.")
        return None
    state.set_selected_pair((h, t), move_pickers=False)
    return h, t


# ------------------------------------------------------------ the learning queue and when to stop (Review, Evaluate)

def review_settings_form(dataset_id: int, where: str) -> None:
    """The dataset's re-ranking interval and stopping threshold: editable by curators (anyone in local mode)."""
    current = services.learning.settings(dataset_id)
    allowed = services.team.may_configure(state.role())
    with st.form(f"{Keys.LEARNING_FORM}.{where}", border=False):
        every = st.number_input("Re-rank the queue after every N decisions", 1, 10_000, value=current.refit_every,
                                step=1, disabled=not allowed, key=f"{Keys.REFIT_EVERY}.{where}",
                                help="After every N accepts or rejects on this dataset the ranker refits on "
                                     "them in the background and the pending queue re-orders.")
        stop = st.number_input("Stop when the next 100 items are expected to hold fewer than K missing labels",
                               0.0, 100.0, value=float(current.stop_below), step=1.0, disabled=not allowed,
                               key=f"{Keys.STOP_BELOW}.{where}")
        minimum = st.number_input("Minimum probability: pairs whose best probability is below it sit in the long "
                                  "tail", 0.0, 1.0, value=float(current.min_probability), step=0.01, format="%.2f",
                                  disabled=not allowed, key=f"{Keys.MIN_PROBABILITY}.{where}",
                                  help="Long-tail pairs are not counted as pending but can be opened (Review, "
                                       "“Long tail”); the expected yields include them. The default keeps at most "
                                       "60 pairs per document on the Revisit documents (bench/RESULTS.md).")
        if st.form_submit_button("Save settings", disabled=not allowed):
            try:
                services.learning.save_settings(dataset_id, state.annotator(), refit_every=int(every),
                                                stop_below=float(stop), min_probability=float(minimum))
            except (services.review.AccountError, ValueError) as err:
                st.error(markdown_text(f"Not saved: {err}."))
            else:
                state.push_flash(f"Saved: re-rank after every {int(every)} decisions, stop below {stop:g}, "
                                 f"long tail below probability {minimum:.2f}.")
                st.rerun()
    if not allowed:
        st.caption("Only curators change these settings.")


@st.fragment(run_every=2)
def _refit_progress(dataset_id: int) -> None:
    """Polls the background refit; when it is done the whole page reruns, so the queue shows its new order."""
    run = services.learning.running(dataset_id)
    if run is None:
        st.rerun(scope="app")
    with st.status(f"Re-ranking the queue from this dataset's decisions… ({run.seconds:.0f} s)", state="running"):
        st.write("The ranker refits in the background; keep reviewing, every decision is kept and counts "
                 "towards the next re-ranking.")


def refit_status(dataset_id: int) -> None:
    """The last re-ranking of the queue, or a live status while one runs."""
    if services.learning.running(dataset_id) is not None:
        _refit_progress(dataset_id)
        return
    error = services.learning.last_error(dataset_id)
    if error:
        st.warning(error)
    info = services.learning.latest_refit(dataset_id)
    if info is not None:
        st.caption(services.learning.refit_message(info))


def stop_message(dataset_id: int) -> None:
    """Whether review still pays: st.success once the dataset's stopping threshold is reached, else st.info."""
    check = services.stopping.stop_check(dataset_id, services.learning.settings(dataset_id).stop_below)
    if check.estimate.pending:
        (st.success if check.reached else st.info)(check.message())


def yield_chart(dataset_id: int, names: Mapping[str, str], where: str) -> None:
    """Accepted share per 100 reviewed, overall or for one relation, with the pending queue's expected yield."""
    log = services.stopping.decided(dataset_id)
    if not log:
        st.caption("The yield curve appears once items are accepted or rejected.")
        return
    relations: list[str | None] = [None, *services.stopping.decided_relations(log)]
    relation = st.selectbox("Yield of", relations, key=f"{Keys.YIELD_RELATION}.{where}",
                            format_func=lambda r: "all relations" if r is None else f"{names.get(r, r)} ({r})")
    expected = ()
    if relation is None:
        check = services.stopping.stop_check(dataset_id, services.learning.settings(dataset_id).stop_below)
        expected = services.stopping.expected_shares(list(check.scores))
    st.plotly_chart(review_yield.accepted_share_figure(
        services.stopping.shares(log, relation), corrected=services.stopping.shares(log, relation, corrected=True),
        block=services.stopping.BLOCK,
        n_decided=services.stopping.count(log, relation), expected=expected,
        label="all relations" if relation is None else f"{names.get(relation, relation)} ({relation})"),
        key=f"{Keys.YIELD_CHART}.{where}")
    st.caption("Accepted share of each successive 100 accepts and rejects (oldest first): it falls as the ranked "
               "queue runs out of missing labels. Corrections (accepted with another relation) are a line of their "
               "own, never counted as accepted. Dotted: the share the pending queue is expected to hold, from "
               "the ranker's calibrated probabilities.")
