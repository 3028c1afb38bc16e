"""The audit of account changes: one row per change (created, password reset, role changed, enabled, disabled,
signed out everywhere), with who made it and when; never a password. Curators read it on the Users page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import models as m
from ..clock import as_utc, utc_now

CLI_ACTOR = "cli"  # changes made with `python -m db`


@dataclass(frozen=True)
class AccountEventInfo:
    account: str
    actor: str
    action: str
    detail: str
    created_at: datetime


def record_account_event(session: Session, account: str, actor: str, action: str, detail: str = "") -> None:
    session.add(m.AccountEventRow(account=account[:100], actor=actor[:100], action=action[:32], detail=detail[:200],
                               created_at=utc_now()))
    session.flush()


def list_account_events(session: Session, limit: int = 50, offset: int = 0) -> tuple[list[AccountEventInfo], int]:
    """A page of changes, newest first, and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(m.AccountEventRow)) or 0
    rows = session.scalars(select(m.AccountEventRow).order_by(m.AccountEventRow.created_at.desc(),
                                                              m.AccountEventRow.id.desc())
                           .limit(limit).offset(offset))
    return [AccountEventInfo(r.account, r.actor, r.action, r.detail, as_utc(r.created_at)) for r in rows], total
