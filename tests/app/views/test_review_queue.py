"""The Review page's queue table for a curator once the queue is split between annotators: with “Only my share”
ticked it is empty (a curator holds no share), unticked it lists the whole queue, paged, and selecting a row on
a later page opens exactly that pair."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services
from app.state import Keys
from tests.app.page_support import app, seed_ids, texts

PAGE = 20  # rows (entity pairs) per queue page, as the Review page shows them


def _queue_table(at):
    """The queue's dataframe: one row per pair, the only one with head, tail and probability columns."""
    (table,) = [d.value for d in at.dataframe if {"document", "head", "tail", "probability"} <= set(d.value.columns)]
    return table


def _curator_on_a_split_queue(dataset_id: int):
    for name in ("ada", "bob", "cat"):
        services.review.ensure_annotator(name)
    from app.services.resources import session  # the test makes cat a curator directly
    from db import store

    with session() as s:
        store.set_role(s, "cat", "curator")
    services.team.split_queue(dataset_id, ["ada", "bob"], "round-robin", by="cat")
    # no long tail: the tiny models' queue needs more than two pages of pairs
    services.learning.save_settings(dataset_id, "cat", refit_every=25, stop_below=10, min_probability=0.0)
    return app("review", **{"docre.annotator": "cat", "docre.role": "curator", "docre.dataset_id": dataset_id})


def test_unticking_only_my_share_shows_the_whole_queue_and_a_row_on_page_two_opens(seeded: Path) -> None:
    dataset_id, _ = seed_ids()
    at = _curator_on_a_split_queue(dataset_id)
    assert "Untick “Only my share” to ask for more" in texts(at)  # the curator's own share is empty
    assert not [d for d in at.dataframe if "relations" in d.value.columns and len(d.value)]
    next(c for c in at.checkbox if c.label == "Only my share").uncheck().run()
    assert not at.exception
    whole = services.review.pair_queue(dataset_id, services.review.ReviewFilters(only_my_share=False), "cat",
                                       limit=2 * PAGE)
    assert whole.total > 2 * PAGE
    table = _queue_table(at)
    assert len(table) == PAGE and list(table["head"]) == [s.head_name for s in whole.items[:PAGE]]
    pager = at.number_input(key=f"{Keys.QUEUE_PAGE}.{dataset_id}")
    assert f"of {-(-whole.total // PAGE)}," in pager.label
    pager.set_value(2).run()
    assert list(_queue_table(at)["head"]) == [s.head_name for s in whole.items[PAGE:]]
    wanted = whole.items[PAGE + 3]
    at.session_state[f"{Keys.QUEUE_TABLE}.{dataset_id}.2"] = {"selection": {"rows": [3], "columns": [],
                                                                           "cells": []}}  # as a click leaves it
    at.run()
    assert not at.exception and at.session_state["docre.review_current"] == wanted.relations[0].id
    assert "opened from the queue" in texts(at)
    assert f"{wanted.head_name} → {wanted.tail_name}" in texts(at).replace("&lt;", "<").replace("&gt;", ">")
