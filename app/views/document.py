"""Document: side by side, the text with entities highlighted, the entity-pair matrix (predicted, gold,
disagreement, PAEE pair potential) and, for the selected pair, every relation's logit against the learned threshold,
the margins, and KMGRE's key mention pairs (also outlined in the text). Below: add a relation on the selected pair
(or flag its gold label), and edit the entities (app/panels)."""
from __future__ import annotations

import streamlit as st

from app import panels, services, state, ui
from app.components import colors, keyboard, matrix, matrix_window, pair
from app.components.text import highlight_html, markdown_text
from app.state import Keys

ui.page_title("Document")
dataset_id, doc_id, doc, runs = ui.document_header()
names = services.relation_names()
# T, Tab through the Add a relation panel, Escape, "?": the same listener as Review's (app/components/keyboard.py)
ui.install_keys(keyboard.page_script(keyboard.document_keyset(Keys.TRIPLE_PANEL, panels.annotate.FIELDS)))
st.caption(f"{len(doc.sents)} sentences · {doc.num_entities} entities · "
           + (f"{len(doc.facts)} gold triples" if doc.has_labels else "no gold labels")
           + f" · scored by {len(runs)} model run(s)")

unfinished = services.jobs.unfinished_job_for(dataset_id, doc_id)
if unfinished is not None:
    st.info(f"Scoring job {unfinished.id} for this document is {services.jobs.status_label(unfinished)} "
            f"({unfinished.done}/{unfinished.total} steps"
            + (f", {services.jobs.elapsed(unfinished)} elapsed" if unfinished.started_at else "")
            + (f"; {markdown_text(unfinished.error)}" if unfinished.error else "")
            + "): its model runs show here once it is done.")
elif not runs:
    st.info("No model has scored this document yet: score it on the Upload page. The gold view still works.")
run = ui.run_picker("Model run", runs, Keys.RUN, default=services.scoring.default_run_index(runs))
scores = services.scoring.pair_scores(run.id, doc_id) if run is not None else None

chart_key = f"{Keys.MATRIX}.{doc_id}.{run.id if run is not None else 0}"  # a selection never leaks across documents
clicked = state.take_new_chart_pair(chart_key)  # a click on the matrix, read before anything is drawn
if clicked is not None and max(clicked) < doc.num_entities:
    state.set_selected_pair(clicked)
if doc.num_entities >= 2 and (state.selected_pair() is None or max(state.selected_pair()) >= doc.num_entities):
    state.set_selected_pair((0, 1))
selected = state.selected_pair()
grid = None
grids = scores.extra("mention_grids") if scores is not None else None
if grids is not None and selected is not None:
    grid = grids.grids[scores.pair(*selected)]
key_cells = pair.key_mention_pairs(grid) if grid is not None else []

# text, matrix and pair panel side by side, so the pair a click opens is read next to its cell and its text; a
# matrix too big for a third of the page gets the text above it instead, and keeps the panel beside it
wide = matrix.needs_full_width(doc.num_entities)
text_column, left, right = ((st.container(), *st.columns([3, 2], gap="medium")) if wide
                            else st.columns([2, 3, 2], gap="medium"))
with text_column:
    with st.container(height=min(320 if wide else 640, 60 + 34 * len(doc.sents)), border=True):
        entity_colors = {selected[0]: colors.HEAD_COLOR, selected[1]: colors.TAIL_COLOR} if selected else {}
        keys = ({(selected[0], i) for i, _, _ in key_cells} | {(selected[1], j) for _, j, _ in key_cells}
                if selected else set())
        st.html(highlight_html(doc, entity_colors=entity_colors, key_mentions=keys))
    st.caption("Entities are coloured by type; the selected head is amber, the tail green; key mentions (KMGRE) "
               "are outlined in red. Hover a mention for its entity.")

with left:
    modes = [m for m in matrix.MATRIX_MODES if scores is not None or m == "gold"]
    mode = st.segmented_control("Matrix view", modes, format_func=matrix.MATRIX_MODES.get, default=modes[0],
                                key=f"{Keys.MATRIX_MODE}.{len(modes)}") or modes[0]  # the key follows the choices
    with st.expander(f"Entities shown ({doc.num_entities} in the document)", expanded=doc.num_entities > 20):
        types = sorted({e.type for e in doc.entities})
        chosen_types = st.multiselect("Entity types", types, default=[], placeholder="all types",
                                      key=f"{Keys.MATRIX_TYPES}.{doc_id}")
        active_only = st.checkbox("Only entities in a coloured cell (e.g. with a prediction)", value=False,
                                  key=f"{Keys.MATRIX_ACTIVE}.{doc_id}")
    # a long document's matrix is paged (matrix_window): its cells are built for the page's pairs only
    paged = matrix_window.is_paged(doc.num_entities)
    if paged:
        order = matrix_window.candidates(doc, scores, chosen_types, active_only)
        if len(order) < 2:
            st.info("Fewer than two entities pass the filter; the pages run over every entity.")
            order = matrix_window.candidates(doc, scores)
        pages = matrix_window.page_count(order)
        page = st.number_input(f"Page of the matrix (1 to {pages})", min_value=1, max_value=pages, value=1,
                               key=f"{Keys.MATRIX_PAGE}.{doc_id}.{len(order)}") if pages > 1 else 1
        window = matrix_window.matrix_window(doc, scores, order, page - 1, selected)
        shown_scores = matrix_window.window_scores(scores, window.entities) if scores is not None else None
    else:
        shown_scores = scores
    if mode == "gold":
        cells = matrix.gold_cells(doc, names)
        if not doc.has_labels:
            st.info("This document has no gold labels.")
    else:
        cells = matrix.view_cells(mode, doc, shown_scores, names)
        if mode == "potential" and scores.extra("pair_values") is None:
            st.info("This run has no per-pair values (PAEE's pair potential); its method is "
                    f"{markdown_text(scores.method)}.")
        if mode == "disagreement" and not doc.has_labels:
            st.info("Disagreement needs gold labels; this document has none.")
    if paged:
        shown = window.entities
        st.caption(f"{doc.num_entities} entities: the matrix shows {matrix_window.PAGE_SIZE} at a time, first the "
                   f"{window.predicted} with a prediction or a gold triple, then the rest; page {window.page + 1} of "
                   f"{window.pages}" + (" (with the selected pair)" if len(shown) > matrix_window.PAGE_SIZE else "")
                   + ".")
    else:
        shown = matrix.entities_shown(doc, cells, chosen_types, active_only)
        if len(shown) < 2:
            st.info("Fewer than two entities pass the filter; showing every entity.")
            shown = list(range(doc.num_entities))
    fig = matrix.matrix_figure(doc, cells, selected=selected, entities=shown)
    st.plotly_chart(fig, on_select="rerun", selection_mode="points", key=chart_key, config={"displayModeBar": False})
    st.caption("Rows are heads, columns tails. Click a cell to open the pair. "
               + matrix.INTENSITY_HELP.get(mode, "")
               + (f" Showing {len(shown)} of {doc.num_entities} entities." if len(shown) < doc.num_entities else ""))

with right:
    chosen = ui.pair_picker(doc)
    if chosen is not None:
        h, t = chosen
        gold = sorted(services.documents.gold_relations(doc, h, t))
        st.markdown(f"**{markdown_text(doc.entities[h].name)}** → **{markdown_text(doc.entities[t].name)}**")
        st.caption("Gold: " + (", ".join(markdown_text(f"{names.get(r, r)} ({r})") for r in gold) or "none")
                   if doc.has_labels else "Gold: unlabelled document")
        evidence = services.documents.pair_sentences(doc, h, t)
        st.caption("Sentences naming both: " + (" ".join(f"[{i}]" for i in evidence.shared) or "none (an "
                   "inter-sentence pair): the head in " + " ".join(f"[{i}]" for i in evidence.head) + ", the tail in "
                   + " ".join(f"[{i}]" for i in evidence.tail))
                   + (" · gold evidence: " + " ".join(f"[{i}]" for i in evidence.gold) if evidence.gold else ""))
        if evidence.shown:
            st.html(highlight_html(doc, entity_colors={h: colors.HEAD_COLOR, t: colors.TAIL_COLOR},
                                   sentences=evidence.shown, only_colored=True))
        if scores is None:
            st.info("Score the document to see logits.")
        else:
            row = scores.pair(h, t)
            top_k = st.slider("Top relations", 3, 30, 10, key=Keys.TOP_K)
            rels = pair.chart_relations([(scores, row)], gold, top_k)
            tabs = st.tabs(["Logits vs threshold", "Margins", "Key mention pairs"])
            with tabs[0]:
                st.plotly_chart(pair.logits_figure(scores, row, rels, names, gold), key=Keys.LOGITS)
                st.caption("Bars run from the learned “no relation” threshold (dashed red) to each relation's "
                           "logit; right of the line is predicted. ★ = gold.")
            with tabs[1]:
                st.plotly_chart(pair.margins_figure(scores, row, rels, names, gold), key=Keys.MARGINS)
            with tabs[2]:
                if grid is None:
                    st.info("Key mention pairs come from KMGRE models; this run's method is "
                            f"{markdown_text(scores.method)}.")
                    kmgre = services.scoring.kmgre_run(runs)
                    if kmgre is not None:
                        st.button(f"Open the KMGRE run ({services.scoring.run_label(kmgre)})", key=Keys.OPEN_KMGRE,
                                  on_click=state.choose_run, args=(Keys.RUN, kmgre.id))
                else:
                    st.plotly_chart(pair.mention_grid_figure(doc, h, t, grid, scores.relation_ids, names,
                                                             [(i, j) for i, j, _ in key_cells]), key=Keys.GRID)

annotate_column, entity_column = st.columns(2, gap="large")  # annotation where the model is wrong
with annotate_column:
    with st.container(key=Keys.TRIPLE_PANEL):  # the keys' scope: the fields are found by label in it
        panels.annotate.add_triple(doc_id, doc, names)
    st.caption("Keys: " + keyboard.help_text(keyboard.DOCUMENT_KEYS))
    panels.annotate.flag_gold(doc_id, doc, names)
with entity_column:
    panels.entity_edit.panel(doc_id, doc)
