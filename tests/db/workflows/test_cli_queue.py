"""`python -m db queue --dataset NAME [--all]` (the pending queue as JSON lines, one pair each) and
`python -m db datasets`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from db import store
from db.__main__ import main
from db.store.session import init_db, make_engine, session_factory, session_scope
from tests.db_support import seed

TRIPLES = [(0, 1, "P551", 0.9), (0, 1, "P19", 0.3000000119), (0, 2, "P27", 0.6600000262260437),
           (2, 1, "P150", 0.01)]


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[str, dict]:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    engine = make_engine(url)
    init_db(engine)
    factory = session_factory(engine)
    ids = seed(factory, TRIPLES)
    with session_scope(factory) as session:
        store.set_review_settings(session, ids["dataset"], min_probability=0.05)
        store.decide_pair(session, store.get_pair(session, ids["dataset"], ids["doc"], 0, 2), "ann")  # rejected
    engine.dispose()
    return url, ids


def lines(capsys: pytest.CaptureFixture) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_queue_prints_one_pending_pair_per_line_with_rounded_probabilities(seeded, capsys) -> None:
    url, ids = seeded
    assert main(["--url", url, "queue", "--dataset", "tiny"]) == 0
    (pair,) = lines(capsys)  # Ann Lee -> France was decided; Paris -> Ann Lee is in the long tail
    assert pair["head"] == {"index": 0, "name": "Ann Lee"} and pair["tail"] == {"index": 1, "name": "Paris"}
    assert (pair["document_id"], pair["mode"], pair["probability"], pair["long_tail"]) == (ids["doc"], "missing",
                                                                                            0.9, False)
    assert [(r["relation"], r["name"], r["probability"], r["state"], r["long_tail"]) for r in pair["relations"]] == [
        ("P551", "residence", 0.9, "pending", False), ("P19", "place of birth", 0.3, "pending", False)]
    assert main(["--url", url, "queue", "--dataset", "tiny", "--all"]) == 0
    assert [(p["head"]["index"], p["tail"]["index"], p["long_tail"], [r["long_tail"] for r in p["relations"]])
            for p in lines(capsys)] == [(0, 1, False, [False, False]), (2, 1, True, [True])]
    assert main(["--url", url, "queue", "--dataset", "nope"]) == 2


def test_datasets_lists_every_dataset(seeded, capsys) -> None:
    url, ids = seeded
    assert main(["--url", url, "datasets"]) == 0
    (row,) = capsys.readouterr().out.splitlines()
    assert row.split("\t")[:3] == [str(ids["dataset"]), "tiny", "1"]
