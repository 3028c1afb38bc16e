"""The Document page's keys (issue 25): the Add a relation panel's widgets carry the labels the keyboard script
finds them by, in its Tab order, inside the container that scopes the keys; the page installs the script and its
caption names the keys. (The keys themselves run in Chromium: tests/e2e/test_keyboard_triple.py.)"""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from app import services  # noqa: E402
from app.components import keyboard  # noqa: E402
from app.panels import annotate  # noqa: E402
from app.state import Keys  # noqa: E402
from tests.app.page_support import app, seed_ids, texts  # noqa: E402


def _keyed_block(node, key: str):
    """The innermost container whose proto names `key` (st.container(key=...)), searched depth first."""
    for child in getattr(node, "children", {}).values():
        found = _keyed_block(child, key)
        if found is not None:
            return found
    proto = getattr(node, "proto", None)
    return node if getattr(node, "children", None) is not None and proto is not None and key in str(proto) else None


def test_the_panel_holds_the_fields_the_keys_step_through_in_their_order(seeded: Path) -> None:
    dataset_id, doc_ids = seed_ids()
    services.review.ensure_annotator("ada")
    at = app("document", **{"docre.annotator": "ada", "docre.dataset_id": dataset_id,
                            "docre.document_id": doc_ids[0], "docre.pair": (0, 1), Keys.HEAD: 0, Keys.TAIL: 1})
    panel = _keyed_block(at.main, Keys.TRIPLE_PANEL)
    assert panel is not None, "the Add a relation panel sits in the container the keys are scoped to"
    labels = ([w.label for w in panel.selectbox] + [w.label for w in panel.multiselect]
              + [w.label for w in panel.text_input] + [w.label for w in panel.button])
    assert labels == list(annotate.FIELDS)  # every field of the panel is one the keys step through, in order
    assert "Keys: " + keyboard.help_text(keyboard.DOCUMENT_KEYS) in texts(at)
    script = keyboard.page_script(keyboard.document_keyset(Keys.TRIPLE_PANEL, annotate.FIELDS))
    assert script in [getattr(getattr(n, "proto", None), "srcdoc", None) for n in at.main]  # the keys' frame
