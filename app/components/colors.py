"""Colours shared by every view, so an entity type, a role or a relation looks the same everywhere."""
from __future__ import annotations

from plotly.colors import qualitative

ENTITY_TYPE_COLORS: dict[str, str] = {
    "PER": "#dbeafe", "ORG": "#fce7f3", "LOC": "#dcfce7", "TIME": "#fef9c3", "NUM": "#ede9fe", "MISC": "#e5e7eb",
}
HEAD_COLOR = "#fbbf24"  # amber: the head entity of the selected pair
TAIL_COLOR = "#34d399"  # green: the tail entity
KEY_BORDER = "#dc2626"  # red outline: key mentions (KMGRE) or the mentions of a suggestion
NEUTRAL = "#d1d5db"
POSITIVE = "#16a34a"  # predicted / above the threshold
MISSED = "#f97316"  # gold but not predicted
CORRECTED = "#2563eb"  # blue: accepted with another relation than the suggested one, never counted as accepted
NEGATIVE = "#9ca3af"

# Well separated first: a matrix rarely shows more than 24 relations, and by schema index two neighbouring
# reds (date of birth, place of death) could meet in one figure.
_DISTINCT_PALETTE: tuple[str, ...] = tuple(qualitative.Dark24) + tuple(qualitative.Alphabet)


def distinct_colors(categories: list[str]) -> dict[str, str]:
    """One clearly different colour per category, in the order given (most frequent first, say): within one
    figure distinctness matters more than a relation keeping its colour from document to document."""
    return {c: _DISTINCT_PALETTE[i % len(_DISTINCT_PALETTE)] for i, c in enumerate(dict.fromkeys(categories))}


def entity_type_color(entity_type: str) -> str:
    return ENTITY_TYPE_COLORS.get(entity_type, ENTITY_TYPE_COLORS["MISC"])
