"""The team around a dataset: who is there, each annotator's progress, and a curator's split of the queue."""
from __future__ import annotations

from typing import Any

from db import store
from db.store.domain import MAX_OVERLAP  # noqa: F401 - the Assign page's bound
from db.store.errors import AccountError

from .resources import session
from .review import team_mode

SPLIT_MODES = store.SPLIT_MODES
BLIND_LOCKED_HELP = (" This dataset is an agreement study (a curator set its overlap to 2 or more): annotators "
                     "review it blind.")


def annotator_progress(dataset_id: int) -> list[store.AnnotatorProgress]:
    """Each annotator's decisions on the dataset (mine and the team's)."""
    with session() as s:
        return store.annotator_progress(s, dataset_id)


def annotator_names() -> list[str]:
    with session() as s:
        return [a.name for a in store.list_annotators(s)]


def split_queue(dataset_id: int, annotators: list[str], mode: str, by: str | None,
                overlap: int | None = None) -> dict[str, int]:
    """A curator deals the dataset's undecided suggestions out to annotators (by document or round-robin), each
    to `overlap` of them (saved as the dataset's setting first, in the same transaction; None keeps it); in
    team mode `by`'s stored role is checked as it acts, so a curator demoted a moment ago cannot."""
    with session() as s:
        require_curator(s, by, "split the queue")
        if overlap is not None:
            store.set_review_settings(s, dataset_id, overlap=int(overlap), by=by)
        return store.split_queue(s, dataset_id, annotators, mode)


def may_configure(role: str) -> bool:
    """Who may change a dataset's settings (review learning, control items): curators in team mode, anyone
    in local mode, as with everything there. For the pages; writers check with require_curator."""
    return not team_mode() or role == "curator"


def require_curator(s: Any, name: str | None, what: str) -> None:
    """Team mode: AccountError unless `name`'s stored role (not the page's) is curator."""
    if team_mode() and (name is None or store.get_annotator(s, name).role != "curator"):
        raise AccountError(f"{name or 'nobody'} is not a curator: only curators {what} in team mode")


def overlap(dataset_id: int) -> int:
    """How many annotators each item of a split queue goes to (the dataset's review setting)."""
    with session() as s:
        return store.review_settings(s, dataset_id).overlap


def blind_default(role: str) -> bool:
    """Team mode reviews blind unless you are a curator: an annotator sees no model score, vote or other
    annotator's decision before deciding, so agreement measures the annotators, not the model's anchor."""
    return team_mode() and role != "curator"


def blind_locked(dataset_id: int, role: str) -> bool:
    """An agreement study (overlap 2 or more) keeps team annotators blind: the toggle is off limits to them."""
    return blind_default(role) and overlap(dataset_id) > 1
