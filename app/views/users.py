"""Users (team mode, curators): every account with its role and state; create one, reset a password, change a
role, disable or enable. Each change is audited (the list below) and revokes the account's open sign-ins."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import services, state, ui
from app.components.text import markdown_text
from app.state import Keys

ui.page_title("Users")
me = state.annotator()
if not services.review.team_mode():
    st.info("Local mode has no accounts: names are typed in. Start the server with DOCRE_AUTH=on for team accounts.")
    st.stop()
if state.role() != "curator":
    st.info("Only curators manage users.")
    st.stop()


def _done(message: str) -> None:
    state.push_flash(markdown_text(message))
    st.rerun()


try:
    people = services.users.list_accounts(me)
except services.review.AccountError as err:
    st.error(markdown_text(str(err)))
    st.stop()
accounts = [p for p in people if p.has_password]
st.dataframe(pd.DataFrame([{"name": p.name, "role": p.role, "enabled": p.enabled,
                            "created (UTC)": p.created_at.strftime("%Y-%m-%d %H:%M")} for p in accounts]),
             hide_index=True)

with st.form(Keys.USER_CREATE, clear_on_submit=True):
    st.subheader("Create an account")
    cols = st.columns(3)
    name = cols[0].text_input("New user name", max_chars=100)
    role = cols[1].selectbox("Role", services.users.ROLES)
    password = cols[2].text_input("Initial password", type="password", max_chars=1024,
                                  help="At least 12 characters and hard to guess; tell it to them in person.")
    if st.form_submit_button("Create"):
        try:
            info = services.users.create(me, name, role, password)
        except (services.review.AccountError, ValueError, LookupError) as err:
            st.error(markdown_text(f"Not created: {err}."))
        else:
            _done(f"Created {info.name} ({info.role}).")

if accounts:
    st.subheader("Change an account")
    names = [p.name for p in accounts]
    chosen = st.selectbox("Account", names, key=Keys.USER_PICK)
    current = next(p for p in accounts if p.name == chosen)
    cols = st.columns(3)
    with cols[0].form(Keys.USER_ROLE):
        new_role = st.selectbox("Role", services.users.ROLES, index=services.users.ROLES.index(current.role))
        if st.form_submit_button("Change role"):
            try:
                services.users.change_role(me, chosen, new_role)
            except (services.review.AccountError, ValueError, LookupError) as err:
                st.error(markdown_text(f"Not changed: {err}."))
            else:
                _done(f"{chosen} is now a {new_role}; their open sign-ins ended.")
    with cols[1].form(Keys.USER_PASSWORD, clear_on_submit=True):
        new_password = st.text_input("New password", type="password", max_chars=1024)
        if st.form_submit_button("Reset password"):
            try:
                services.users.reset_password(me, chosen, new_password)
            except (services.review.AccountError, ValueError, LookupError) as err:
                st.error(markdown_text(f"Not reset: {err}."))
            else:
                _done(f"Password of {chosen} reset; their open sign-ins ended.")
    with cols[2]:
        label = "Disable" if current.enabled else "Enable"
        if st.button(f"{label} {chosen}", key=Keys.USER_ENABLE):
            try:
                services.users.set_enabled(me, chosen, not current.enabled)
            except (services.review.AccountError, ValueError, LookupError) as err:
                st.error(markdown_text(f"Not changed: {err}."))
            else:
                _done(f"{chosen} {'disabled' if current.enabled else 'enabled'}.")

st.subheader("Account changes")
page = st.number_input("Page", 1, 1_000_000, 1, key=Keys.USER_EVENTS_PAGE)
events, total = services.users.events(me, int(page))
st.caption(f"{total} change(s), newest first; page {int(page)} of {max(1, -(-total // services.users.EVENTS_PAGE))}.")
if events:
    st.dataframe(pd.DataFrame([{"time (UTC)": e.created_at.strftime("%Y-%m-%d %H:%M:%S"), "account": e.account,
                                "by": e.actor, "change": e.action, "detail": e.detail} for e in events]),
                 hide_index=True)
