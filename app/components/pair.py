"""One entity pair: every relation's logit against the learned "no relation" threshold, the margins,
and KMGRE's mention x mention grid of key-instance probabilities."""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from .colors import MISSED, NEGATIVE, POSITIVE
from .text import plotly_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.data.documents import Document
    from engine.data.pair_extras import MentionPairGrid
    from engine.data.pair_scores import PairScores

STATUS_COLORS = {"predicted": POSITIVE, "gold, not predicted": MISSED, "below threshold": NEGATIVE}


def chart_relations(rows: Sequence[tuple[PairScores, int]], gold: Collection[str] = (), top_k: int = 10) -> list[str]:
    """Relation ids to chart for a pair under one or more models: each model's top_k by logit, plus the
    gold ones, ordered by the first model's logit (highest first)."""
    chosen: set[str] = set(gold)
    for scores, row in rows:
        order = np.argsort(-scores.logits[row, 1:])[:top_k]
        chosen.update(scores.relation_ids[i] for i in order)
    first, row = rows[0]
    index = {r: i for i, r in enumerate(first.relation_ids)}
    return sorted(chosen, key=lambda r: -float(first.logits[row, index[r] + 1]) if r in index else np.inf)


def _status(predicted: bool, gold: bool) -> str:
    return "predicted" if predicted else ("gold, not predicted" if gold else "below threshold")


def _bars(scores: PairScores, row: int, relations: Sequence[str], names: Mapping[str, str], gold: Collection[str],
          values: np.ndarray, zero: float, title: str, axis: str,
          x_range: tuple[float, float] | None = None) -> go.Figure:
    """Horizontal bars per relation, coloured by status, with a vertical reference line at `zero`; for a pair
    whose relations the model did not compute, a note instead of bars at a made-up logit."""
    if scores.unscored(row):
        return _unscored_figure(scores, row, title)
    index = {r: i for i, r in enumerate(scores.relation_ids)}
    labels = [plotly_text(f"{'★ ' if r in gold else ''}{names.get(r, r)} ({r})", 48) for r in relations]
    fig = go.Figure()
    groups: dict[str, list[int]] = {}
    for k, r in enumerate(relations):
        predicted = r in index and bool(scores.decoded[row, index[r]])
        groups.setdefault(_status(predicted, r in gold), []).append(k)
    margins = scores.margins[row]
    probs = scores.probabilities[row]
    for status, ks in groups.items():
        hover = []
        for k in ks:
            r = relations[k]
            if r in index:
                i = index[r]
                hover.append(f"{labels[k]}<br>logit {scores.logits[row, i + 1]:.2f} · threshold "
                             f"{scores.logits[row, 0]:.2f}<br>margin {margins[i]:+.2f} · "
                             f"probability {probs[i + 1]:.3f}")
            else:
                hover.append(f"{labels[k]}<br>not in this model's schema")
        fig.add_trace(go.Bar(
            y=[labels[k] for k in ks], x=[float(values[k]) for k in ks], orientation="h", name=status,
            marker={"color": STATUS_COLORS[status], "line": {"color": "#111827", "width": [2 if relations[k] in gold
                                                                                           else 0 for k in ks]}},
            hovertext=hover, hovertemplate="%{hovertext}<extra></extra>", base=zero if axis == "logit" else None))
    fig.add_vline(x=zero, line_dash="dash", line_color="#dc2626", line_width=2,
                  annotation_text=(f"threshold {zero:.2f}" if axis == "logit" else "threshold (margin 0)"),
                  annotation_position="top")
    height, top, bottom = max(260, 26 * len(relations) + 110), 50 if title else 30, 70
    fig.update_layout(
        title={"text": plotly_text(title)} if title else None, barmode="overlay",
        height=height,
        margin={"l": 10, "r": 10, "t": top, "b": bottom},
        yaxis={"categoryorder": "array", "categoryarray": labels, "autorange": "reversed"},
        xaxis={"title": {"text": "logit" if axis == "logit" else "margin (logit − threshold)"},
               "zeroline": axis != "logit",
               **({"range": list(x_range), "autorange": False} if x_range else {})},
        # below the axis title at a fixed distance in pixels (a fraction of the plot, as before, put it on the
        # title of short charts)
        legend={"orientation": "h", "yanchor": "top", "y": -44 / (height - top - bottom)})
    return fig


def _unscored_figure(scores: PairScores, row: int, title: str) -> go.Figure:
    potential = scores.extra("pair_values")
    why = (f"its pair potential {float(potential.values[row]):.3f} is below the restriction"
           if potential is not None else "the method restricts scoring to some pairs")
    fig = go.Figure()
    lines = ("Relations not scored:", f"{why},", "so the model predicts no relation here",
             "without computing their logits.")
    fig.add_annotation(text="<br>".join(plotly_text(line) for line in lines),  # short lines: the panel is narrow
                       x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 14})
    fig.update_layout(title={"text": plotly_text(title)} if title else None, height=160,
                      margin={"l": 10, "r": 10, "t": 50 if title else 30, "b": 10},
                      xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def logits_figure(scores: PairScores, row: int, relations: Sequence[str], names: Mapping[str, str],
                  gold: Collection[str] = (), title: str = "", x_range: tuple[float, float] | None = None) -> go.Figure:
    """Each relation's logit as a bar from the threshold logit (the dashed line): bars crossing to the
    right of it are above "no relation". ★ and an outline mark gold relations. `x_range` fixes the axis (two
    models side by side on one scale: shared_logit_range)."""
    index = {r: i for i, r in enumerate(scores.relation_ids)}
    threshold = float(scores.logits[row, 0])
    values = np.array([scores.logits[row, index[r] + 1] - threshold if r in index else 0.0 for r in relations])
    return _bars(scores, row, relations, names, gold, values, threshold, title, "logit", x_range)


def shared_logit_range(rows: Sequence[tuple[PairScores, int]], relations: Sequence[str]) -> tuple[float, float]:
    """One logit axis range covering every model's threshold and charted logits, padded by 5%."""
    values: list[float] = []
    for scores, row in rows:
        if scores.unscored(row):  # drawn as a note, not bars: its fill logits would stretch the shared axis
            continue
        index = {r: i for i, r in enumerate(scores.relation_ids)}
        values.append(float(scores.logits[row, 0]))
        values.extend(float(scores.logits[row, index[r] + 1]) for r in relations if r in index)
    lo, hi = (min(values), max(values)) if values else (-1.0, 1.0)
    pad = 0.05 * (hi - lo) or 0.5
    return lo - pad, hi + pad


def margins_figure(scores: PairScores, row: int, relations: Sequence[str], names: Mapping[str, str],
                   gold: Collection[str] = (), title: str = "") -> go.Figure:
    """Each relation's margin (logit − threshold): positive is above the learned threshold."""
    index = {r: i for i, r in enumerate(scores.relation_ids)}
    values = np.array([scores.margins[row, index[r]] if r in index else 0.0 for r in relations])
    return _bars(scores, row, relations, names, gold, values, 0.0, title, "margin")


def _mention_label(doc: Document, e: int, m: int) -> str:
    mention = doc.entities[e].mentions[m]
    return plotly_text(f"m{m} · s{mention.sent_id} · {mention.name}", 36)


def _relation_probabilities(grid: MentionPairGrid, n_relations: int) -> np.ndarray:
    """(n_h, n_t, n_relations): drops a leading "no relation" column when the grid carries one."""
    probs = grid.relation_probability
    return probs[..., 1:] if probs.shape[-1] == n_relations + 1 else probs


def mention_grid_figure(doc: Document, head: int, tail: int, grid: MentionPairGrid, relation_ids: Sequence[str],
                        names: Mapping[str, str], key_pairs: Collection[tuple[int, int]] = ()) -> go.Figure:
    """KMGRE's key-instance probability per (head mention, tail mention), with each cell's top relation."""
    key = grid.key_probability  # (n_head_mentions, n_tail_mentions)
    rel = _relation_probabilities(grid, len(relation_ids))
    ys = [_mention_label(doc, head, i) for i in range(key.shape[0])]
    xs = [_mention_label(doc, tail, j) for j in range(key.shape[1])]
    hover = []
    for i in range(key.shape[0]):
        line = []
        for j in range(key.shape[1]):
            top = int(rel[i, j].argmax()) if rel.shape[-1] else -1
            rid = relation_ids[top] if 0 <= top < len(relation_ids) else "?"
            line.append(f"{ys[i]} × {xs[j]}<br>key probability {key[i, j]:.3f}<br>top relation "
                        f"{plotly_text(names.get(rid, rid))} ({rid}) {rel[i, j, top] if top >= 0 else 0:.3f}")
        hover.append(line)
    fig = go.Figure(go.Heatmap(z=key, x=xs, y=ys, zmin=0, zmax=1, colorscale="Reds", text=np.round(key, 2),
                               texttemplate="%{text}", hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
                               colorbar={"title": {"text": "key"}}))
    for i, j in key_pairs:
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                      line={"color": "#111827", "width": 3})
    fig.update_layout(height=max(240, 40 * key.shape[0] + 160), margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      xaxis={"title": {"text": "tail mentions"}, "type": "category"},
                      yaxis={"title": {"text": "head mentions"}, "type": "category", "autorange": "reversed"})
    return fig


def key_mention_pairs(grid: MentionPairGrid, k: int = 3, min_probability: float = 0.5) -> list[tuple[int, int, float]]:
    """The k (head mention, tail mention) cells with the highest key probability at or above the floor;
    at least the single best cell, so a pair always shows where its evidence is."""
    key = grid.key_probability
    order = np.argsort(-key, axis=None)[:k]  # flat indices, best first
    cells = [(int(i), int(j), float(key[i, j])) for i, j in zip(*np.unravel_index(order, key.shape))]
    kept = [c for c in cells if c[2] >= min_probability]
    return kept or cells[:1]
