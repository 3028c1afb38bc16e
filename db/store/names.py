"""Annotator and account names told apart as people read them: compared after NFKC normalisation and case
folding (`Carol`, `carol` and full-width `ｃａｒｏｌ` are one name), and a new name that mixes scripts with
look-alike letters (a Cyrillic `а` in `cаrol`) is refused, so nobody can pass for someone else in the audit,
the agreement tables or the login. Lookups (find_annotator) match the stored name exactly first, then by key:
a table of a team's annotators is small enough to scan."""
from __future__ import annotations

import unicodedata

from confusable_homoglyphs import confusables
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from .errors import AccountError


def normalised(name: str) -> str:
    """The form a name is stored in: NFKC, outer spaces removed."""
    return unicodedata.normalize("NFKC", name).strip()


def name_key(name: str) -> str:
    """What two names must differ in to be two people: NFKC, then case folding (then NFKC again, as folding can
    un-normalise)."""
    return unicodedata.normalize("NFKC", normalised(name).casefold())


def find_annotator(session: Session, name: str) -> m.AnnotatorRow | None:
    """The row of this name, or of the one name equal to it after normalisation and case folding."""
    name = normalised(name)
    row = session.scalar(select(m.AnnotatorRow).where(m.AnnotatorRow.name == name))
    if row is not None:
        return row
    key = name_key(name)
    return next((r for r in session.scalars(select(m.AnnotatorRow)) if name_key(r.name) == key), None)


def check_new_name(name: str) -> None:
    """Refuse a new name that mixes scripts with look-alike letters. (One that reads like an existing name is
    that name: callers look names up with find_annotator first.)"""
    if confusables.is_dangerous(name):
        raise AccountError(f"name {name!r}: mixes letters from different scripts that look alike (for example a "
                           "Cyrillic letter standing in for a Latin one); type it in one script")
