"""The Review page's queue table in real Chromium (team mode): a curator on a queue split between two annotators
unticks “Only my share”, the table lists the whole queue, and clicking a row opens that item.

Run: pytest -m e2e tests/e2e/test_review_queue.py."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser_support import chromium, idle, log_in, new_page, team_store
from tests.server_support import app_server

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough passphrase"
CURATOR = "carol"
# (head, tail, relation, score) on tiny_document: Ann Lee, Paris, France; best score first in the queue
SUGGESTIONS = [(0, 2, "P27", 0.9), (0, 1, "P551", 0.8), (2, 1, "P150", 0.7), (1, 0, "P1376", 0.6)]
NAMES = ("Ann Lee", "Paris", "France")
ROW_PX, HEADER_PX = 35, 35  # Streamlit's dataframe: row and header height


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A curator and two annotators; the curator has split the queue between the two annotators."""
    from db import store
    from engine.data.support import ModelVote, Support
    from tests.db_support import tiny_document

    tmp = tmp_path_factory.mktemp("review-queue")
    with team_store(tmp, {CURATOR: "curator", "ann": "annotator", "bob": "annotator"}, PASSWORD) as (url, s):
        dataset = store.create_dataset(s, "queue")
        (doc_id,) = store.add_documents(s, dataset.id, [tiny_document()]).added
        run_id = store.record_run(s, dataset.id, checkpoint="runs/atlop", method="atlop.v1", version="0.1.0",
                                  seconds=1.0)
        # evidence as scoring writes it: the page shows it all once not blind ({"sentences": [0]} alone broke it)
        store.add_suggestions(s, dataset.id, [
            {"doc_id": doc_id, "h_idx": h, "t_idx": t, "relation": r, "score": p,
             "evidence": Support({"atlop.v1#1": ModelVote(1.0, p)}, 1, (0,), True).to_json()}
            for h, t, r, p in SUGGESTIONS], run_ids=[run_id])
        s.flush()
        store.split_queue(s, dataset.id, ["ann", "bob"], "round-robin")
    with app_server(url, tmp, team_mode=True) as base:
        yield base


def _heading(h: int, t: int) -> str:
    return f"{NAMES[h]} → {NAMES[t]}"


def test_curator_clicks_a_row_of_the_whole_queue(server: str) -> None:
    with chromium() as browser:
        page = new_page(browser)
        log_in(page, server, "review", CURATOR, PASSWORD)
        page.get_by_text("the queue is empty for these filters").first.wait_for()  # a curator holds no share
        page.get_by_test_id("stSidebar").get_by_text("Only my share").click()
        idle(page)
        first_h, first_t, _, _ = SUGGESTIONS[0]
        page.get_by_role("heading", name=_heading(first_h, first_t)).first.wait_for()
        table = page.get_by_test_id("stDataFrame").last  # the queue: the page's last table
        table.scroll_into_view_if_needed()
        box = table.bounding_box()
        assert box is not None and box["height"] >= HEADER_PX + len(SUGGESTIONS) * ROW_PX  # every item listed
        row = 2
        page.mouse.click(box["x"] + 20, box["y"] + HEADER_PX + row * ROW_PX + ROW_PX / 2)  # its row selector
        idle(page)
        h, t, _, _ = SUGGESTIONS[row]
        page.get_by_role("heading", name=_heading(h, t)).first.wait_for()
        assert "opened from the queue" in page.get_by_test_id("stMain").inner_text()
