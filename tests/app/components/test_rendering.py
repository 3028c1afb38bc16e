"""app.components: figure builders and highlighting on hand-made documents and scores, no Streamlit run."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from app.components import evaluation, matrix, pair, text
from engine.data.documents import Document, Entity, Fact, Mention
from engine.data.metrics import evaluate
from engine.data.pair_extras import MentionGrids, MentionPairGrid, PairValues
from engine.data.pair_scores import UNSCORED_MARGIN, PairScores
from tests.paths import ROOT

NAMES = {"P17": "country", "P131": "located in", "P27": "citizenship"}
RELS = ("P17", "P131", "P27")
EVIL = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"


def make_doc() -> Document:
    sents = (("Paris", "is", "in", "France", "."), (EVIL, "met", IMG, "in", "Paris", "."))
    e0 = Entity((Mention("Paris", 0, 0, 1, "LOC"), Mention("Paris", 1, 4, 5, "LOC")))
    e1 = Entity((Mention("France", 0, 3, 4, "LOC"),))
    e2 = Entity((Mention(EVIL, 1, 0, 1, "PER"),))
    e3 = Entity((Mention(IMG, 1, 2, 3, "PER"),))
    return Document("A <b>doc</b>", sents, (e0, e1, e2, e3), (Fact(0, 1, "P17", (0,)), Fact(2, 3, "P27", ())))


def make_scores(doc: Document, seed: int = 0, method: str = "atlop.v1", potential: bool = False,
                grids: bool = False) -> PairScores:
    n = doc.num_entities
    hs, ts = np.nonzero(~np.eye(n, dtype=bool))
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(hs), len(RELS) + 1)).astype(np.float32)
    logits[:, 0] = 1.0
    p = [i for i, (h, t) in enumerate(zip(hs, ts)) if (h, t) == (0, 1)][0]
    logits[p] = [1.0, 4.0, 0.0, -1.0]  # (0, 1): P17 clearly predicted
    decoded = logits[:, 1:] > logits[:, :1]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    extras = {}
    if grids:
        extras["mention_grids"] = MentionGrids("key mention pairs", tuple(
            MentionPairGrid(rng.random((len(doc.entities[h].mentions), len(doc.entities[t].mentions)))
                            .astype(np.float32),
                            rng.random((len(doc.entities[h].mentions), len(doc.entities[t].mentions), len(RELS))))
            for h, t in zip(hs, ts)))
    if potential:
        extras["pair_potential"] = PairValues("pair potential", rng.random(len(hs)).astype(np.float32))
    return PairScores(doc.title, method, RELS, hs.astype(np.int64), ts.astype(np.int64), logits, probs, decoded,
                      extras=extras)


@pytest.fixture
def doc() -> Document:
    return make_doc()


def test_highlight_escapes_user_text(doc: Document) -> None:
    out = text.highlight_html(doc, entity_colors={0: "#ff0000"}, key_mentions={(0, 1)})
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=alert(2)&gt;" in out
    assert out.count("<mark") == 5  # every mention marked
    assert "outline:2px solid" in out  # the key mention
    assert 'background:#ff0000' in out


def test_highlight_subset_and_only_colored(doc: Document) -> None:
    out = text.highlight_html(doc, entity_colors={2: "#fff000", 3: "#00ff00"}, sentences=[1], only_colored=True)
    assert "[1]" in out and "[0]" not in out
    assert out.count("<mark") == 2
    assert "France" not in out


def test_markdown_and_plotly_escaping() -> None:
    assert text.markdown_text("*x* :red[y] <b>") == "\\*x\\* \\:red\\[y\\] &lt;b&gt;"
    assert text.markdown_text("- a.b\n$x$") == "\\- a.b \\$x\\$"
    assert text.markdown_text("1. [l](javascript:x)") == "1\\. \\[l\\](javascript\\:x)"
    assert text.plotly_text("<b>a&b</b>") == "&lt;b&gt;a&amp;b&lt;/b&gt;"
    assert text.plotly_text("abcdef", 4) == "abc…"


@pytest.mark.parametrize("name", ["https://evil.example/x?a=1", "see HTTP://EVIL.example", "www.evil.example",
                                  "WWW.Evil.example/login", "admin@evil.example", "mailto:a@evil.example"])
def test_markdown_text_breaks_autolinks(name: str) -> None:
    """Streamlit's Markdown (GFM) links bare URLs and addresses even when escaped; a word joiner stops it."""
    out = text.markdown_text(name)
    resolved = re.sub(r"\\(.)", r"\1", out)  # what Markdown makes of the escapes
    assert "://" not in resolved and "www." not in resolved.lower() and not re.search(r"\w@", resolved)
    assert resolved.replace(text.WORD_JOINER, "") == name  # nothing else changes: the reader sees the name


def test_shipped_config_hides_error_details() -> None:
    """Browser users get a generic message for an uncaught error (the details go to the server log)."""
    import tomllib

    from streamlit.config import ShowErrorDetailsConfigOptions

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert ShowErrorDetailsConfigOptions(config["client"]["showErrorDetails"]) is ShowErrorDetailsConfigOptions.NONE


def test_detokenize_spacing() -> None:
    assert "".join(s + t for s, t in text.detokenize(["Hi", ",", "(", "you", ")", "."])) == "Hi, (you)."


def test_mention_rows(doc: Document) -> None:
    rows = text.mention_rows(doc, [0, 1], ["head", "tail"])
    assert [(r["role"], r["entity"], r["sentence"]) for r in rows] == [("head", 0, 0), ("head", 0, 1), ("tail", 1, 0)]


def test_predicted_matrix(doc: Document) -> None:
    scores = make_scores(doc)
    cells = matrix.view_cells("predicted", doc, scores, NAMES)
    assert len(cells) == 12  # every ordered pair
    cell = next(c for c in cells if (c.head, c.tail) == (0, 1))
    assert cell.category == "country" and "margin +3.00" in cell.hover[0]
    fig = matrix.matrix_figure(doc, cells, selected=(0, 1), title=EVIL)
    heat = fig.data[0]
    assert heat.type == "heatmap" and np.isnan(heat.z[0][0]) and not np.isnan(heat.z[0][1])
    overlay = fig.data[-1]
    assert overlay.type == "scatter" and len(overlay.x) == 12
    assert list(overlay.customdata[0]) == [0, 1]
    labels = list(fig.layout.yaxis.ticktext)
    assert all("<" not in label for label in labels) and "&lt;script&gt;" in labels[2]
    assert "<script" not in fig.layout.title.text
    assert len(fig.layout.shapes) == 1


def test_gold_and_disagreement_views(doc: Document) -> None:
    scores = make_scores(doc)
    gold = matrix.view_cells("gold", doc, scores, NAMES)
    assert {(c.head, c.tail, c.category) for c in gold} == {(0, 1, "country"), (2, 3, "citizenship")}
    dis = matrix.view_cells("disagreement", doc, scores, NAMES)
    assert (0, 1) not in {(c.head, c.tail) for c in dis}  # gold P17 and predicted P17 agree
    unlabelled = Document(doc.title, doc.sents, doc.entities, None)
    assert matrix.view_cells("disagreement", unlabelled, scores, NAMES) == []


def test_potential_view(doc: Document) -> None:
    assert matrix.view_cells("potential", doc, make_scores(doc), NAMES) == []
    cells = matrix.view_cells("potential", doc, make_scores(doc, potential=True), NAMES)
    fig = matrix.matrix_figure(doc, cells)
    assert len(cells) == 12 and fig.data[0].colorscale is not None


def test_potential_colour_bar_lies_under_the_grid(doc: Document) -> None:
    """On the right it covered the last slanted tail labels (seen in a 10-entity document's screenshot)."""
    cells = matrix.view_cells("potential", doc, make_scores(doc, potential=True), NAMES)
    bar = matrix.matrix_figure(doc, cells).data[0].colorbar
    assert bar.orientation == "h" and bar.y < 0 and bar.yanchor == "top"


def test_big_matrix_takes_the_full_width_with_upright_labels() -> None:
    """30 entities slanted at -60 degrees in a side column overlapped (matrix_30_entities.png)."""
    from tests.model_helpers import synthetic_document

    small, big = make_doc(), synthetic_document(30)
    assert not matrix.needs_full_width(small.num_entities) and matrix.needs_full_width(big.num_entities)
    small_fig = matrix.matrix_figure(small, matrix.gold_cells(small, NAMES))
    big_fig = matrix.matrix_figure(big, [])
    assert small_fig.layout.xaxis.tickangle == -60
    assert big_fig.layout.xaxis.tickangle == -90 and big_fig.layout.xaxis.tickfont.size <= 11
    assert big_fig.layout.yaxis.tickfont.size == big_fig.layout.xaxis.tickfont.size


def test_difference_matrix(doc: Document) -> None:
    a, b = make_scores(doc, 0), make_scores(doc, 1)
    cells = [c for c in matrix.difference_cells(a, b, NAMES, "A", "B") if c.category != matrix.SAME]
    assert cells
    for c in cells:
        pa = set(np.nonzero(a.decoded[a.pair(c.head, c.tail)])[0])
        pb = set(np.nonzero(b.decoded[b.pair(c.head, c.tail)])[0])
        assert pa != pb
    assert {c.category for c in matrix.difference_cells(a, a, NAMES)} == {matrix.SAME}
    matrix.matrix_figure(doc, cells)


def test_selected_pair_from_event() -> None:
    assert matrix.selected_pair({"selection": {"points": [{"customdata": [2, 3], "x": 3, "y": 2}]}}) == (2, 3)
    assert matrix.selected_pair({"selection": {"points": [{"x": 1, "y": 0}]}}) == (0, 1)
    assert matrix.selected_pair({"selection": {"points": []}}) is None
    assert matrix.selected_pair(None) is None


def test_logits_and_margins(doc: Document) -> None:
    scores = make_scores(doc)
    row = scores.pair(0, 1)
    rels = pair.chart_relations([(scores, row)], gold={"P27"}, top_k=1)
    assert rels[0] == "P17" and "P27" in rels
    fig = pair.logits_figure(scores, row, rels, NAMES, gold={"P27"}, title=EVIL)
    names = {t.name for t in fig.data}
    assert names == {"predicted", "gold, not predicted"}
    predicted = next(t for t in fig.data if t.name == "predicted")
    assert predicted.x[0] == pytest.approx(3.0) and predicted.base == pytest.approx(1.0)  # from threshold to logit
    assert any(s.type == "line" and s.x0 == pytest.approx(1.0) for s in fig.layout.shapes)
    margins = pair.margins_figure(scores, row, rels, NAMES, gold={"P27"})
    assert next(t for t in margins.data if t.name == "predicted").x[0] == pytest.approx(3.0)


def test_a_pair_the_model_did_not_score_is_a_note_not_bars(doc: Document) -> None:
    """PAEE's restriction leaves a pair's relations uncomputed (the unscored row): its charts say so and name the
    potential, instead of bars at the fill logit, and a side-by-side axis is not stretched to that logit."""
    scores = make_scores(doc, method="paee.v1", potential=True)
    row, scored = scores.pair(1, 0), scores.pair(0, 1)
    scores.logits[row] = [0.0] + [UNSCORED_MARGIN] * len(RELS)
    scores.decoded[row] = False
    rels = pair.chart_relations([(scores, row)], top_k=3)
    for fig in (pair.logits_figure(scores, row, rels, NAMES), pair.margins_figure(scores, row, rels, NAMES)):
        assert not fig.data
        (note,) = fig.layout.annotations
        assert "Relations not scored" in note.text
        assert f"{float(scores.extra('pair_values').values[row]):.3f}" in note.text
    assert pair.logits_figure(scores, scored, rels, NAMES).data  # a scored pair of the same run still has bars
    low, high = pair.shared_logit_range([(scores, row), (scores, scored)], rels)
    assert low > UNSCORED_MARGIN / 2 and high < 5


def test_chart_relations_across_models(doc: Document) -> None:
    a, b = make_scores(doc, 0), make_scores(doc, 1)
    rels = pair.chart_relations([(a, a.pair(1, 0)), (b, b.pair(1, 0))], top_k=1)
    assert 1 <= len(rels) <= 2


def test_mention_grid(doc: Document) -> None:
    scores = make_scores(doc, grids=True)
    row = scores.pair(0, 1)
    grid = scores.extra(MentionGrids).grids[row]
    keys = pair.key_mention_pairs(grid, k=2, min_probability=0.0)
    assert len(keys) == 2 and keys[0][2] >= keys[1][2]
    fig = pair.mention_grid_figure(doc, 0, 1, grid, RELS, NAMES, key_pairs=[(i, j) for i, j, _ in keys])
    assert fig.data[0].z.shape == (2, 1) and len(fig.layout.shapes) == 2
    assert pair.key_mention_pairs(grid, k=3, min_probability=2.0)  # never empty


def test_evaluation_views(doc: Document) -> None:
    scores = make_scores(doc)
    report = evaluate([doc], [[(h, t, r) for h, t, r, _ in scores.predicted_triples()]])
    table = evaluation.metric_table({"m": report})
    assert list(table["model"]) == ["m"] and 0 <= table["F1"][0] <= 100
    long = evaluation.per_relation_table({"m": report}, NAMES)
    assert "P17" in set(long["relation"])
    fig = evaluation.per_relation_figure({"m": report, EVIL: report}, NAMES)
    assert len(fig.data) == 2 and "<script" not in fig.data[1].name
    acc = evaluation.acceptance_figure([{"relation": "P17", "name": "country", "accepted": 2, "corrected": 3,
                                         "rejected": 1}])
    assert [(d.name, list(d.y)) for d in acc.data] == [("accepted", [2]), ("corrected", [3]), ("rejected", [1])]


def test_relations_in_one_matrix_get_distinct_colours_most_frequent_first() -> None:
    """The schema-index palette gave date of birth and place of death near-identical reds in one figure; each
    relation now takes the next colour of a well-separated palette, by frequency in that figure."""
    from plotly.colors import qualitative

    n = 8
    entities = tuple(Entity((Mention(f"E{i}", 0, i, i + 1, "PER"),)) for i in range(n))
    relations = ["P569", "P20", "P710", "P27", "P19", "P570", "P17", "P131", "P495", "P175", "P161", "P50"]
    facts = tuple(Fact(h, t, relations[(h * n + t) % len(relations)], ())
                  for h in range(n) for t in range(n) if h != t and (h + t) % 2)
    doc = Document("many relations", (tuple(f"E{i}" for i in range(n)),), entities, facts)
    cells = matrix.gold_cells(doc, {})
    colour_of = {c.category: c.color for c in cells}
    assert len(colour_of) == len(set(colour_of.values())) > 10
    by_frequency = [r for r, _ in Counter(c.category for c in cells).most_common()]
    assert [colour_of[r] for r in by_frequency] == list(qualitative.Dark24[:len(by_frequency)])


def test_pages_clip_the_user_text_they_draw() -> None:
    """A title stored before the bounds existed (10 MB froze a tab) is drawn clipped, with an ellipsis."""
    from app.components.text import DRAW_CHARS, markdown_text

    drawn = markdown_text("x" * 10_000_000)
    assert len(drawn) == DRAW_CHARS and drawn.endswith("…")
    assert markdown_text("y" * 500, 300) == "y" * 299 + "…"
