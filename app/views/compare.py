"""Compare: one document under two model runs: the matrix of pairs where they decode differently, and the
selected pair's logits against each model's own threshold, side by side."""
from __future__ import annotations

import streamlit as st

from app import services, state, ui
from app.components import colors, matrix, pair
from app.components.text import highlight_html, markdown_text
from app.state import Keys

ui.page_title("Compare models")
_, doc_id, doc, runs = ui.document_header()
names = services.relation_names()
if len(runs) < 2:
    st.info("Comparing needs two model runs on this document: score it with a second model on the Upload page "
            f"(it has {len(runs)}).")
    st.stop()

col_a, col_b = st.columns(2)
with col_a:
    run_a = ui.run_picker("Model A", runs, Keys.RUN_A, default=0)
with col_b:
    run_b = ui.run_picker("Model B", runs, Keys.RUN_B, default=1)
a = services.scoring.pair_scores(run_a.id, doc_id)
b = services.scoring.pair_scores(run_b.id, doc_id)
label_a, label_b = f"A #{run_a.id}", f"B #{run_b.id}"

chart_key = f"{Keys.DIFF_MATRIX}.{doc_id}.{run_a.id}.{run_b.id}"
clicked = state.take_new_chart_pair(chart_key)
if clicked is not None and max(clicked) < doc.num_entities:
    state.set_selected_pair(clicked)
if doc.num_entities >= 2 and (state.selected_pair() is None or max(state.selected_pair()) >= doc.num_entities):
    state.set_selected_pair((0, 1))

cells = matrix.difference_cells(a, b, names, label_a, label_b)
n_diff = sum(c.category != matrix.SAME for c in cells)
st.markdown(f"**{n_diff}** of {len(a.heads)} ordered pairs are decoded differently by the two models.")
st.plotly_chart(matrix.matrix_figure(doc, cells, selected=state.selected_pair(),
                                     title=f"Where {label_a} and {label_b} differ"),
                on_select="rerun", selection_mode="points", key=chart_key, config={"displayModeBar": False})
st.caption("Green: only A predicts a relation there; orange: only B; purple: both, but different relations; grey: "
           "the same decision. Stronger colour = larger gap between their best margins. Click a cell to compare.")

chosen = ui.pair_picker(doc)
if chosen is not None:
    h, t = chosen
    gold = sorted(services.documents.gold_relations(doc, h, t))
    ra, rb = a.pair(h, t), b.pair(h, t)
    rels = pair.chart_relations([(a, ra), (b, rb)], gold, top_k=8)
    st.markdown(f"**{markdown_text(doc.entities[h].name)}** → **{markdown_text(doc.entities[t].name)}**")
    st.caption("Gold: " + (", ".join(markdown_text(f"{names.get(r, r)} ({r})") for r in gold) or "none")
               if doc.has_labels else "Gold: unlabelled document")
    with st.container(height=min(260, 60 + 34 * len(doc.sents)), border=True):
        evidence = services.documents.pair_sentences(doc, h, t)
        st.html(highlight_html(doc, entity_colors={h: colors.HEAD_COLOR, t: colors.TAIL_COLOR},
                               key_mentions={(h, i) for i, m in enumerate(doc.entities[h].mentions)
                                             if m.sent_id in evidence.shared}))
    st.caption("The document, head in amber and tail in green (outlined where a sentence names both).")
    x_range = pair.shared_logit_range([(a, ra), (b, rb)], rels)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(pair.logits_figure(a, ra, rels, names, gold, title=f"{label_a}: {a.method}", x_range=x_range),
                        key=Keys.CMP_A)
    with right:
        st.plotly_chart(pair.logits_figure(b, rb, rels, names, gold, title=f"{label_b}: {b.method}", x_range=x_range),
                        key=Keys.CMP_B)
    st.caption("Both charts share one logit axis. Each model's bars start at its own learned threshold (dashed): "
               "the same relation can pass one model's threshold and not the other's. ★ = gold.")
