"""Streamlit panels that pages embed in one line each: free relation annotation (add a triple, move a suggestion,
flag a gold label, the curators' flags) and entity editing. Like app.ui they read and write app.state, call
app.services and escape every user string; they sit above ui (views -> panels -> ui -> services -> components)."""
from __future__ import annotations

from . import annotate, entity_edit

__all__ = ["annotate", "entity_edit"]
