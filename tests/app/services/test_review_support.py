"""The review service reads each source's typed support: a suggestion whose stored support is partial (only
sentences, as hand-made imports have it) or missing still gives the Evidence panel its votes, rules and
sentences instead of failing."""
from __future__ import annotations

from app.services import review
from db.store.domain import SourceView, SuggestionView
from engine.data.support import ModelVote, Support


def _view(*supports: Support | None) -> SuggestionView:
    sources = tuple(SourceView(i + 1, "atlop.v1", "runs/atlop", 0.5, sp) for i, sp in enumerate(supports))
    return SuggestionView(1, 1, 1, "doc", 0, 1, "Ann", "Paris", "P19", 0.5, "pending", None, (), sources)


def test_partial_and_missing_supports_give_the_evidence_panel_what_they_hold() -> None:
    view = _view(Support.from_json({"sentences": [2]}), None,
                 Support({"ncrl.v1#3": ModelVote(0.5, 0.6)}, 1, (0,), True, ("P17 from P131",)))
    assert review.evidence_sentences(view) == [0, 2]
    assert review.evidence_summary(view) == {"type_fit": None, "rules": ["P17 from P131"], "agreeing_models": 1}
    assert review.model_votes(view) == [{"model": "ncrl.v1#3", "margin": 0.5, "probability": 0.6}]
    assert review.key_mention_pairs(view) == [] and list(_view(None).supports) == []
