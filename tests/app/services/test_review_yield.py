"""The yield curve's figure builder and the stopping check's arithmetic: pure functions, no database."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("streamlit")

from app.components.review_yield import accepted_share_figure, block_labels
from app.services.stopping import StopCheck, expected_shares
from engine.curate.yield_estimates import estimate_queue


def test_accepted_share_figure_draws_percent_per_block() -> None:
    fig = accepted_share_figure([0.5, 0.25, 0.0], block=4, n_decided=10, label="<b>P17</b>")
    (trace,) = fig.data
    assert list(trace.y) == [50.0, 25.0, 0.0]
    assert list(trace.x) == ["1–4", "5–8", "9–10"]  # the short last block ends at the last decision
    assert "<b>" not in trace.name  # user-facing text is escaped for plotly
    assert tuple(fig.layout.yaxis.range) == (0, 100)


def test_expected_trace_follows_the_reviewed_blocks() -> None:
    fig = accepted_share_figure([1.0], block=100, expected=[0.3, 0.05])
    assert len(fig.data) == 2 and list(fig.data[1].y) == [30.0, 5.0]
    assert list(fig.data[1].x) == ["next 1–100", "next 101–200"]
    assert accepted_share_figure([]).data[0].y == ()
    assert block_labels(2, 100) == ["1–100", "101–200"]


def test_expected_shares_divide_by_each_block_size() -> None:
    scores = [0.5] * 100 + [0.2] * 50  # a full block, then a half one
    assert expected_shares(scores) == pytest.approx([0.5, 0.2])
    assert expected_shares([]) == []


def test_stop_check_reached_below_the_threshold() -> None:
    p = np.full(300, 0.05)  # the next 100 hold 5 expected missing labels
    reached = StopCheck(estimate_queue(p, 100, min_yield=10.0), 10.0, tuple(p))
    assert reached.reached and reached.message().startswith("You can stop: the next 100 items")
    assert "15.0 are expected in all 300" in reached.message()
    going = StopCheck(estimate_queue(p, 100, min_yield=4.0), 4.0, tuple(p))
    assert not going.reached and going.message().startswith("Worth continuing")
    assert not StopCheck(estimate_queue(np.zeros(0), 100, min_yield=10.0), 10.0, ()).reached  # nothing pending
