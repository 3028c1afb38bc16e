"""The team around a dataset: who is there, each annotator's progress, and a curator's split of the queue."""
from __future__ import annotations

from typing import Any

from db import store
from db.store.errors import AccountError

from .resources import session
from .review import team_mode

SPLIT_MODES = store.SPLIT_MODES


def annotator_progress(dataset_id: int) -> list[store.AnnotatorProgress]:
    """Each annotator's decisions on the dataset (mine and the team's)."""
    with session() as s:
        return store.annotator_progress(s, dataset_id)


def annotator_names() -> list[str]:
    with session() as s:
        return [a.name for a in store.list_annotators(s)]


def split_queue(dataset_id: int, annotators: list[str], mode: str, by: str | None) -> dict[str, int]:
    """A curator deals the dataset's undecided suggestions out to annotators (by document or round-robin); in
    team mode `by`'s stored role is checked as it acts, so a curator demoted a moment ago cannot."""
    with session() as s:
        require_curator(s, by, "split the queue")
        return store.split_queue(s, dataset_id, annotators, mode)


def may_configure(role: str) -> bool:
    """Who may change a dataset's settings (review learning, control items): curators in team mode, anyone
    in local mode, as with everything there. For the pages; writers check with require_curator."""
    return not team_mode() or role == "curator"


def require_curator(s: Any, name: str | None, what: str) -> None:
    """Team mode: AccountError unless `name`'s stored role (not the page's) is curator."""
    if team_mode() and (name is None or store.get_annotator(s, name).role != "curator"):
        raise AccountError(f"{name or 'nobody'} is not a curator: only curators {what} in team mode")
