"""The review's yield as a curve: the accepted share of each successive block of reviewed items. A ranked
queue shows its best items first, so the curve should fall; near zero, review has stopped paying."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from .colors import CORRECTED, NEUTRAL, POSITIVE
from .text import plotly_text


def block_labels(n_blocks: int, block: int, n_decided: int | None = None) -> list[str]:
    """'1–100', '101–200', ...; the last one ends at `n_decided` when given (a short last block)."""
    labels = []
    for i in range(n_blocks):
        end = (i + 1) * block if n_decided is None else min((i + 1) * block, n_decided)
        labels.append(f"{i * block + 1}–{end}")
    return labels


def accepted_share_figure(shares: Sequence[float], *, block: int = 100, n_decided: int | None = None,
                          label: str = "all relations", expected: Sequence[float] = (),
                          corrected: Sequence[float] = ()) -> go.Figure:
    """Accepted share (percent) per block of `block` reviewed items, oldest first; `corrected`: the share
    accepted with a corrected relation, a line of its own (never counted as accepted); `expected`: the share of
    missing labels expected in each next block of the pending queue (0..1, from its calibrated
    probabilities), drawn dotted after the reviewed ones."""
    x = block_labels(len(shares), block, n_decided)
    fig = go.Figure(go.Scatter(x=x, y=[100 * s for s in shares], mode="lines+markers", name=plotly_text(label, 40),
                               line={"color": POSITIVE},
                               hovertemplate="items %{x}<br>accepted %{y:.0f}%<extra></extra>"))
    if any(corrected):
        fig.add_trace(go.Scatter(x=x, y=[100 * c for c in corrected], mode="lines+markers",
                                 name="corrected (another relation)", line={"color": CORRECTED},
                                 hovertemplate="items %{x}<br>corrected %{y:.0f}%<extra></extra>"))
    if expected:
        ahead = [f"next {i * block + 1}–{(i + 1) * block}" for i in range(len(expected))]
        fig.add_trace(go.Scatter(x=ahead, y=[100 * e for e in expected], mode="lines+markers",
                                 name="expected in the pending queue", line={"color": NEUTRAL, "dash": "dot"},
                                 hovertemplate="%{x}<br>expected %{y:.1f}% missing labels<extra></extra>"))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h", "y": 1.12},
                      xaxis={"title": {"text": f"reviewed items, in blocks of {block}"}, "type": "category"},
                      yaxis={"title": {"text": "share of decisions (%)"}, "range": [0, 100]})
    return fig
