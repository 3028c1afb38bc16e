"""A curator's account management (team mode): create an account, reset a password, change a role, disable or
enable; each call checks the caller's stored role as it acts, and each change is audited with who made it.
Password and role changes and disabling revoke the account's session tokens (db.accounts.auth), so they take
effect at once."""
from __future__ import annotations

from db import accounts, store
from db.store.domain import AnnotatorInfo
from db.store.errors import AccountError

from .resources import session
from .team import require_curator

EVENTS_PAGE = 50
ROLES = ("annotator", "curator")


def list_accounts(by: str | None) -> list[AnnotatorInfo]:
    with session() as s:
        require_curator(s, by, "manage users")
        return store.list_annotators(s)


def create(by: str | None, name: str, role: str, password: str) -> AnnotatorInfo:
    with session() as s:
        require_curator(s, by, "manage users")
        return accounts.create_user(s, name, role, password, actor=by or "")


def reset_password(by: str | None, name: str, password: str) -> None:
    with session() as s:
        require_curator(s, by, "manage users")
        accounts.set_password(s, name, password, actor=by or "")


def change_role(by: str | None, name: str, role: str) -> AnnotatorInfo:
    with session() as s:
        require_curator(s, by, "manage users")
        return store.set_role(s, name, role, actor=by or "")


def set_enabled(by: str | None, name: str, enabled: bool) -> AnnotatorInfo:
    """Disable (or enable) an account; a curator cannot disable their own, so a team never locks itself out."""
    with session() as s:
        require_curator(s, by, "manage users")
        if not enabled and by is not None and store.get_annotator(s, name).name == store.get_annotator(s, by).name:
            raise AccountError("you cannot disable your own account; ask another curator")
        return accounts.set_enabled(s, name, enabled, actor=by or "")


def events(by: str | None, page: int = 1) -> tuple[list[store.AccountEventInfo], int]:
    """A page of the account audit, newest first, and how many changes there are."""
    with session() as s:
        require_curator(s, by, "see the account audit")
        return store.list_account_events(s, EVENTS_PAGE, (max(page, 1) - 1) * EVENTS_PAGE)
