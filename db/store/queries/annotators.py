"""Annotators: who reviews and with which role ("annotator" or "curator": a curator's decision is final)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.data.text_rules import check_text

from .. import models as m
from ..clock import as_utc, utc_now
from ..conflicts import insert_if_absent
from ..domain import AnnotatorInfo
from ..errors import AccountError, NotFoundError
from ..names import check_new_name, find_annotator, normalised
from .account_events import CLI_ACTOR, record_account_event


def check_name(name: str) -> str:
    """The name as stored (NFKC, stripped): 1 to DOCRE_MAX_NAME_CHARS characters (engine.settings), no NUL."""
    name = check_text(normalised(name), "annotator name", "name")
    if not name:
        raise ValueError("annotator name: expected a non-empty name")
    return name


def check_role(role: str) -> str:
    if role not in m.ROLES:
        raise ValueError(f"role: expected one of {', '.join(m.ROLES)}, got {role!r}")
    return role


def to_info(row: m.AnnotatorRow) -> AnnotatorInfo:
    return AnnotatorInfo(row.id, row.name, row.role, as_utc(row.created_at), row.password_hash is not None,
                         bool(row.enabled if row.enabled is not None else True), row.token_version or 0)


def ensure_annotator(session: Session, name: str, role: str = "annotator") -> AnnotatorInfo:
    """Local mode: the annotator of that name, created without a password if new; an existing one keeps its role.

    A name that a team account (one with a password) owns is refused: local names and accounts never mix, so
    typing a curator's name never acts as that curator."""
    name, role = check_name(name), check_role(role)
    row = find_annotator(session, name)
    if row is None:  # several first uses at once: one inserts, the others find its row (no IntegrityError)
        check_new_name(name)
        insert_if_absent(session, m.AnnotatorRow, ("name",), name=name, role=role, created_at=utc_now())
        row = session.scalars(select(m.AnnotatorRow).where(m.AnnotatorRow.name == name)
                              .execution_options(populate_existing=True)).one()
    check_local(row)
    return to_info(row)


def check_local(row: m.AnnotatorRow) -> None:
    """Refuse to act as a team account without its password."""
    if row.password_hash is not None:
        raise AccountError(f"the name {row.name!r} belongs to a team account with a password; pick another name "
                           "(local mode never acts as a team account), or log in to a team-mode server "
                           "(DOCRE_AUTH=on) with that account")


def local_annotator(session: Session, name: str) -> AnnotatorInfo:
    """Local mode, before a decision is recorded: the annotator, refused when a team account owns the name
    (an account created after this session picked the name)."""
    row = find_annotator(session, name)
    if row is None:
        raise NotFoundError(f"no annotator named {name!r}; enter your name again")
    check_local(row)
    return to_info(row)


def get_annotator(session: Session, name: str) -> AnnotatorInfo:
    row = find_annotator(session, name)
    if row is None:
        raise NotFoundError(f"no annotator named {name!r}")
    return to_info(row)


def list_annotators(session: Session) -> list[AnnotatorInfo]:
    return [to_info(row) for row in session.scalars(select(m.AnnotatorRow).order_by(m.AnnotatorRow.name))]


def set_role(session: Session, name: str, role: str, *, actor: str = CLI_ACTOR) -> AnnotatorInfo:
    """Change an annotator's role (local names and team accounts alike); later decisions carry the new role. A
    change revokes the account's session tokens, so an open session cannot keep acting in the old role."""
    role = check_role(role)
    row = find_annotator(session, name)
    if row is None:
        raise NotFoundError(f"no annotator named {name!r}; `python -m db users` lists them")
    if row.role != role:
        record_account_event(session, row.name, actor, "role changed", f"{row.role} -> {role}")
        row.role = role
        row.token_version = (row.token_version or 0) + 1
    session.flush()
    return to_info(row)
