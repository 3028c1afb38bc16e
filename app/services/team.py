"""The team around a dataset: who is there, each annotator's progress, and a curator's split of the queue."""
from __future__ import annotations

from db import store

from .resources import session

SPLIT_MODES = store.SPLIT_MODES


def annotator_progress(dataset_id: int) -> list[store.AnnotatorProgress]:
    """Each annotator's decisions on the dataset (mine and the team's)."""
    with session() as s:
        return store.annotator_progress(s, dataset_id)


def annotator_names() -> list[str]:
    with session() as s:
        return [a.name for a in store.list_annotators(s)]


def split_queue(dataset_id: int, annotators: list[str], mode: str) -> dict[str, int]:
    """A curator deals the dataset's undecided suggestions out to annotators (by document or round-robin)."""
    with session() as s:
        return store.split_queue(s, dataset_id, annotators, mode)
