"""Evaluation views: each model's metric table, per-relation F1 and the review's acceptance rates."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from .colors import CORRECTED, MISSED, POSITIVE
from .text import plotly_text

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.data.metrics import EvaluationReport


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def metric_table(reports: Mapping[str, EvaluationReport]) -> pd.DataFrame:
    """One row per model: micro P/R/F1 (percent), Ign F1, intra/inter-sentence F1, pair detection F1."""
    rows = []
    for model, report in reports.items():
        o = report.overall
        rows.append({
            "model": model, "documents": report.n_documents, "precision": _pct(o.precision), "recall": _pct(o.recall),
            "F1": _pct(o.f1), "Ign F1": _pct(report.ign_f1),
            "intra F1": _pct(report.groups["intra"].f1) if "intra" in report.groups else None,
            "inter F1": _pct(report.groups["inter"].f1) if "inter" in report.groups else None,
            "pair F1": _pct(report.pair_detection.score.f1), "gold": o.n_gold, "predicted": o.n_pred,
            "correct": o.n_correct})
    table = pd.DataFrame(rows)
    if not table.empty and table["Ign F1"].isna().all():
        table = table.drop(columns="Ign F1")  # needs the training set, which the app does not have
    return table


def per_relation_table(reports: Mapping[str, EvaluationReport], names: Mapping[str, str]) -> pd.DataFrame:
    """Long table: model, relation, name, gold, predicted, correct, P, R, F1."""
    rows = []
    for model, report in reports.items():
        for r, s in report.per_relation.items():
            rows.append({"model": model, "relation": r, "name": names.get(r, r), "gold": s.n_gold,
                         "predicted": s.n_pred,
                         "correct": s.n_correct, "precision": _pct(s.precision), "recall": _pct(s.recall),
                         "F1": _pct(s.f1)})
    return pd.DataFrame(rows)


def per_relation_figure(reports: Mapping[str, EvaluationReport], names: Mapping[str, str], top: int = 20) -> go.Figure:
    """F1 per relation for every model, on the `top` relations with the most gold triples."""
    support: dict[str, int] = {}
    for report in reports.values():
        for r, s in report.per_relation.items():
            support[r] = max(support.get(r, 0), s.n_gold)
    relations = sorted(support, key=lambda r: (-support[r], r))[:top]
    labels = [plotly_text(f"{names.get(r, r)} ({r}) n={support[r]}", 40) for r in relations]
    fig = go.Figure()
    for model, report in reports.items():
        f1 = [100 * report.per_relation[r].f1 if r in report.per_relation else 0.0 for r in relations]
        fig.add_trace(go.Bar(x=labels, y=f1, name=plotly_text(model, 40),
                             hovertemplate="%{x}<br>F1 %{y:.1f}<extra>" + plotly_text(model, 30) + "</extra>"))
    fig.update_layout(barmode="group", height=440, yaxis={"title": {"text": "F1 (%)"}, "range": [0, 100]},
                      xaxis={"tickangle": -45}, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "y": 1.08})
    return fig


def acceptance_figure(rows: Sequence[Mapping[str, object]]) -> go.Figure:
    """Stacked accepted / corrected / rejected counts per relation (rows: relation, name, accepted, rejected and
    optionally corrected): a correction (the pair right, the suggested relation wrong) is never an acceptance."""
    labels = [plotly_text(f"{row['name']} ({row['relation']})", 40) for row in rows]
    fig = go.Figure([
        go.Bar(x=labels, y=[row["accepted"] for row in rows], name="accepted", marker={"color": POSITIVE}),
        go.Bar(x=labels, y=[row.get("corrected", 0) for row in rows], name="corrected", marker={"color": CORRECTED}),
        go.Bar(x=labels, y=[row["rejected"] for row in rows], name="rejected", marker={"color": MISSED}),
    ])
    fig.update_layout(barmode="stack", height=380, xaxis={"tickangle": -45}, yaxis={"title": {"text": "decisions"}},
                      margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h", "y": 1.08})
    return fig
