"""The entity-pair matrix: rows are heads, columns tails, one cell per ordered pair.

A view (predicted, gold, disagreement, PAEE pair potential, two-model difference) is a list of
`MatrixCell`s; `matrix_figure` draws any of them as one heatmap whose hue is the cell's category (a
relation, or a kind of disagreement) and whose intensity is its strength, plus an invisible scatter on
the cell centres that carries the hover text and makes cells selectable (`st.plotly_chart` reports
clicks on scatter points, not on heatmap cells): a selected point's customdata is [head, tail]."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import plotly.graph_objects as go

from .colors import MISSED, NEGATIVE, NEUTRAL, POSITIVE, distinct_colors
from .text import entity_label, plotly_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.data.documents import Document
    from engine.data.pair_scores import PairScores

MatrixMode = Literal["predicted", "gold", "disagreement", "potential"]
MATRIX_MODES: dict[str, str] = {
    "predicted": "Predicted", "gold": "Gold", "disagreement": "Gold vs predicted", "potential": "Pair potential",
}
BELOW = "below threshold"
SAME = "same decision"
CONTINUOUS = "pair potential"
# From this many entities a side-column matrix (about 500 px) leaves cells narrower than a tick label's line,
# so the labels overlap: pages draw it across the full width instead (needs_full_width).
FULL_WIDTH_FROM = 16


@dataclass(frozen=True)
class MatrixCell:
    """One coloured cell. strength in [0, 1]; hover lines are plain text (escaped when drawn)."""

    head: int
    tail: int
    category: str
    color: str
    strength: float
    hover: tuple[str, ...] = ()


def _squash(x: np.ndarray | float, scale: float = 4.0) -> np.ndarray:
    """Margin -> intensity in [0.15, 1]: larger |margin|, stronger colour."""
    return 0.15 + 0.85 * np.tanh(np.abs(x) / scale)


def _names(ids: Sequence[str], names: Mapping[str, str]) -> str:
    return ", ".join(f"{names.get(r, r)} ({r})" for r in ids) or "none"


def _recoloured(cells: list[MatrixCell]) -> list[MatrixCell]:
    """Relation cells coloured from a well-separated palette, the most frequent relation first."""
    counts = Counter(c.category for c in cells if c.category != BELOW)
    palette = distinct_colors([category for category, _ in counts.most_common()])
    return [replace(c, color=palette[c.category]) if c.category in palette else c for c in cells]


def predicted_cells(scores: PairScores, names: Mapping[str, str]) -> list[MatrixCell]:
    """Each pair's best margin; coloured by its best predicted relation, grey when nothing passes."""
    margins = scores.margins  # (n_pairs, n_rel)
    best = margins.argmax(axis=1)  # (n_pairs,)
    strength = _squash(margins[np.arange(len(best)), best])
    cells = []
    for p, (h, t) in enumerate(zip(scores.heads.tolist(), scores.tails.tolist())):
        decoded = np.nonzero(scores.decoded[p])[0]
        r = int(decoded[margins[p, decoded].argmax()]) if len(decoded) else int(best[p])
        rel = scores.relation_ids[r]
        hover = (f"best: {names.get(rel, rel)} ({rel}) margin {margins[p, r]:+.2f}",
                 f"predicted: {_names([scores.relation_ids[i] for i in decoded], names)}")
        if len(decoded):
            cells.append(MatrixCell(h, t, names.get(rel, rel), NEUTRAL, float(strength[p]), hover))
        else:
            cells.append(MatrixCell(h, t, BELOW, NEGATIVE, float(1.15 - strength[p]) * 0.6, hover))
    return _recoloured(cells)


def gold_cells(doc: Document, names: Mapping[str, str]) -> list[MatrixCell]:
    """Pairs with gold labels, coloured by their first gold relation."""
    by_pair: dict[tuple[int, int], list[str]] = {}
    for fact in doc.facts or ():
        by_pair.setdefault((fact.h, fact.t), []).append(fact.r)
    cells = []
    for (h, t), rels in sorted(by_pair.items()):
        cells.append(MatrixCell(h, t, names.get(rels[0], rels[0]), NEUTRAL, 1.0, (f"gold: {_names(rels, names)}",)))
    return _recoloured(cells)


def disagreement_cells(doc: Document, scores: PairScores, names: Mapping[str, str]) -> list[MatrixCell]:
    """Pairs where gold and prediction differ: missed (false negative), extra (false positive), or both."""
    gold: dict[tuple[int, int], set[str]] = {}
    for fact in doc.facts or ():
        gold.setdefault((fact.h, fact.t), set()).add(fact.r)
    cells = []
    for p, (h, t) in enumerate(zip(scores.heads.tolist(), scores.tails.tolist())):
        pred = {scores.relation_ids[i] for i in np.nonzero(scores.decoded[p])[0]}
        g = gold.get((h, t), set())
        missed, extra = sorted(g - pred), sorted(pred - g)
        if not missed and not extra:
            continue
        category, color = ("wrong relation", "#a855f7") if missed and extra else (
            ("missed (false negative)", MISSED) if missed else ("extra (false positive)", "#3b82f6"))
        hover = (f"gold: {_names(sorted(g), names)}", f"predicted: {_names(sorted(pred), names)}")
        cells.append(MatrixCell(h, t, category, color, 1.0, hover))
    return cells


def potential_cells(scores: PairScores) -> list[MatrixCell]:
    """The run's per-pair values (PAEE's pair potential) on a continuous colour scale; empty for methods without."""
    extra = scores.extra("pair_values")
    if extra is None:
        return []
    return [MatrixCell(h, t, CONTINUOUS, "", float(v), (f"{extra.label} {v:.3f}",))
            for h, t, v in zip(scores.heads.tolist(), scores.tails.tolist(), extra.values.tolist())]


def difference_cells(a: PairScores, b: PairScores, names: Mapping[str, str], label_a: str = "A",
                     label_b: str = "B") -> list[MatrixCell]:
    """Pairs where two models decode different relations (intensity = gap between their best margins); pairs
    where they agree are drawn faintly as SAME."""
    cells = []
    ma, mb = a.margins.max(axis=1), b.margins.max(axis=1)  # (n_pairs,)
    for p, (h, t) in enumerate(zip(a.heads.tolist(), a.tails.tolist())):
        q = b.pair(h, t)
        ra = {a.relation_ids[i] for i in np.nonzero(a.decoded[p])[0]}
        rb = {b.relation_ids[i] for i in np.nonzero(b.decoded[q])[0]}
        if ra == rb:  # drawn faintly, so the grid stays readable
            cells.append(MatrixCell(h, t, SAME, NEUTRAL, 0.0, (f"both: {_names(sorted(ra), names)}",)))
            continue
        only_a, only_b = ra - rb, rb - ra
        if only_a and only_b:
            category, color = "different relations", "#a855f7"
        elif only_a:
            category, color = f"only {label_a}", POSITIVE
        else:
            category, color = f"only {label_b}", MISSED
        hover = (f"{label_a}: {_names(sorted(ra), names)} (best margin {ma[p]:+.2f})",
                 f"{label_b}: {_names(sorted(rb), names)} (best margin {mb[q]:+.2f})")
        cells.append(MatrixCell(h, t, category, color, float(_squash(ma[p] - mb[q], 2.0)), hover))
    return cells


def view_cells(mode: MatrixMode, doc: Document, scores: PairScores, names: Mapping[str, str]) -> list[MatrixCell]:
    """The cells of one Document-page view."""
    if mode == "gold":
        return gold_cells(doc, names)
    if mode == "disagreement":
        return disagreement_cells(doc, scores, names) if doc.has_labels else []
    if mode == "potential":
        return potential_cells(scores)
    return predicted_cells(scores, names)


def _lighten(color: str, amount: float) -> str:
    """Mix a #rrggbb colour with white."""
    c = color.lstrip("#")
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    mix = [round(v + (255 - v) * amount) for v in (r, g, b)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def _banded_scale(colors: Sequence[str]) -> list[list]:
    """One band per category on [0, K]: light at the band's start, full colour at its end."""
    k = len(colors)
    scale: list[list] = []
    for i, color in enumerate(colors):
        scale.append([i / k, _lighten(color, 0.85)])
        scale.append([(i + 1) / k - (1e-9 if i < k - 1 else 0.0), color])
    return scale


def entities_shown(doc: Document, cells: Sequence[MatrixCell], types: Sequence[str] | None = None,
                   with_cells_only: bool = False) -> list[int]:
    """Entity indices to draw: those of the chosen types, and (with_cells_only) only those in a coloured cell
    other than "below threshold" / "same decision" (e.g. has a prediction); every entity when nothing is chosen."""
    chosen = [e for e in range(doc.num_entities) if not types or doc.entities[e].type in types]
    if with_cells_only:
        active = {x for c in cells if c.category not in (BELOW, SAME) for x in (c.head, c.tail)}
        chosen = [e for e in chosen if e in active]
    return chosen


def needs_full_width(n_entities: int) -> bool:
    """Whether a matrix of this many entities needs the page's whole width to keep its labels apart."""
    return n_entities >= FULL_WIDTH_FROM


def _tick_font(n: int) -> tuple[int, int]:
    """(font px, x label angle): labels slanted at -60 degrees stand only cell * sin(60) apart, so from
    FULL_WIDTH_FROM entities on they stand upright (-90) and smaller, one line per cell."""
    if n < FULL_WIDTH_FROM:
        return 12, -60
    return (11 if n <= 40 else 9), -90


def matrix_figure(doc: Document, cells: Sequence[MatrixCell], *, selected: tuple[int, int] | None = None,
                  title: str = "", entities: Sequence[int] | None = None) -> go.Figure:
    """Draw cells over the entity grid (heads down, tails across): every entity, or only `entities` (a filter
    that keeps 20-50 entity documents readable); clicks still report real entity indices."""
    shown = list(range(doc.num_entities)) if entities is None else sorted(set(entities))
    at = {e: k for k, e in enumerate(shown)}  # entity index -> grid position
    n = len(shown)
    cells = [c for c in cells if c.head in at and c.tail in at]
    cell_by_pair = {(c.head, c.tail): c for c in cells}
    z = np.full((n, n), np.nan)
    continuous = any(c.category == CONTINUOUS for c in cells)
    categories: list[str] = []
    colors: list[str] = []
    if continuous:
        for c in cells:
            z[at[c.head], at[c.tail]] = c.strength
        # the colour bar lies under the grid: on the right it covered the last slanted tail labels
        heat = go.Heatmap(z=z, colorscale="Viridis", hoverinfo="skip",
                          colorbar={"title": {"text": "potential", "side": "top"}, "orientation": "h", "x": 0,
                                    "xanchor": "left", "y": -0.02, "yanchor": "top", "len": 0.6, "thickness": 14})
    else:
        for c in cells:
            if c.category not in categories:
                categories.append(c.category)
                colors.append(c.color)
        for c in cells:
            z[at[c.head], at[c.tail]] = categories.index(c.category) + min(max(c.strength, 0.0), 0.999)
        heat = go.Heatmap(z=z, colorscale=_banded_scale(colors or [NEUTRAL]), zmin=0, zmax=max(len(categories), 1),
                          showscale=False, hoverinfo="skip", xgap=1, ygap=1)
    fig = go.Figure(heat)
    for category, color in zip(categories, colors):  # legend entries only
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=plotly_text(category, 40),
                                 marker={"symbol": "square", "size": 12, "color": color}, hoverinfo="skip"))
    heads, tails, hovers = [], [], []
    labels = [plotly_text(entity_label(doc, e, limit=22)) for e in shown]
    for h in shown:
        for t in shown:
            if h == t:
                continue
            heads.append(h)
            tails.append(t)
            lines = cell_by_pair[(h, t)].hover if (h, t) in cell_by_pair else ()
            hovers.append("<br>".join([f"{labels[at[h]]} → {labels[at[t]]}"] + [plotly_text(x) for x in lines]))
    cell_px = max(14, min(40, 720 // max(n, 1)))
    fig.add_trace(go.Scatter(
        x=[at[t] for t in tails], y=[at[h] for h in heads], mode="markers",
        customdata=np.stack([heads, tails], axis=1) if heads else None,
        hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>", showlegend=False, name="pairs",
        marker={"symbol": "square", "size": cell_px - 2, "color": "rgba(0,0,0,0)"},
        selected={"marker": {"color": "rgba(17,24,39,0.35)"}}, unselected={"marker": {"opacity": 1}}))
    if selected is not None and selected[0] in at and selected[1] in at:
        h, t = at[selected[0]], at[selected[1]]
        fig.add_shape(type="rect", x0=t - 0.5, x1=t + 0.5, y0=h - 0.5, y1=h + 0.5,
                      line={"color": "#111827", "width": 3})
    font_px, angle = _tick_font(n)
    ticks = {"tickmode": "array", "tickvals": list(range(n)), "ticktext": labels, "showgrid": False, "zeroline": False,
             "automargin": True, "ticklabeloverflow": "allow", "tickfont": {"size": font_px}}
    fig.update_layout(
        title={"text": plotly_text(title)} if title else None, height=n * cell_px + 290,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10}, clickmode="event+select", dragmode=False,
        xaxis={**ticks, "title": {"text": "tail"}, "side": "top", "tickangle": angle, "range": [-0.5, n - 0.5],
               "constrain": "domain"},
        yaxis={**ticks, "title": {"text": "head"}, "range": [n - 0.5, -0.5], "scaleanchor": "x", "scaleratio": 1,
               "constrain": "domain"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.02, "xanchor": "left", "x": 0,
                "title": {"text": "colour: category · darker: stronger (see below)"} if categories else None},
        plot_bgcolor="#ffffff")
    return fig


def selected_pair(event: object) -> tuple[int, int] | None:
    """(head, tail) of the point a `st.plotly_chart(..., on_select="rerun")` event selected, if any."""
    selection = getattr(event, "selection", None) or (event.get("selection") if isinstance(event, dict) else None)
    points = (selection or {}).get("points") or []
    for point in points:
        custom = point.get("customdata")
        if isinstance(custom, (list, tuple)) and len(custom) >= 2:
            return int(custom[0]), int(custom[1])
        x, y = point.get("x"), point.get("y")
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and round(x) != round(y):
            return int(round(y)), int(round(x))  # only right when every entity is drawn (no customdata)
    return None


INTENSITY_HELP: dict[str, str] = {
    "predicted": "Colour: the pair's best predicted relation (grey: nothing above the threshold). Darker: a larger "
                 "margin over the learned threshold (grey cells: darker is closer to it).",
    "gold": "Colour: the pair's first gold relation; every gold cell is drawn at full strength.",
    "disagreement": "Colour: missed (gold, not predicted), extra (predicted, not gold) or a wrong relation.",
    "potential": "Colour scale: the run's per-pair value (PAEE's pair potential), low to high.",
}
