"""Chain documents whose truth the tests choose, and a small ranker trained on them: shared by the ranker tests and
the store's refit tests."""
from __future__ import annotations

import numpy as np

from engine.curate.candidate_features import Pool, feature_names
from engine.curate.queue import build_queue
from engine.curate.ranker import Ranker, RankerConfig, TrainingData, fit_ranker
from engine.curate.ranker_data import queue_labels
from engine.data.documents import Document, Fact
from tests.engine.curate.synthetic import line_document, scores

FAST = RankerConfig(n_estimators=40, num_leaves=7, min_child_samples=5, n_models=1)
N_E = 6
POOL = Pool(band=3.0, top_k=0)


def corpus(n_docs: int, prefix: str) -> tuple[list[Document], dict[str, list]]:
    """Documents whose chain pairs (i, i + 1) carry P17 and P131 at the same margin, from -2 to 3."""
    docs, paee = [], []
    rng = np.random.default_rng(len(prefix) + n_docs)
    for d in range(n_docs):
        margins = {}
        for i in range(N_E - 1):
            m = float(rng.uniform(-2.0, 3.0))
            margins[(i, i + 1, "P17")] = margins[(i, i + 1, "P131")] = m
        docs.append(line_document(f"{prefix}{d}", N_E, ()))
        paee.append(scores(f"{prefix}{d}", N_E, margins, "paee.v1"))
    return docs, {"paee": paee}


def complete(docs: list[Document], scores_: dict[str, list], rule) -> list[Document]:
    """The documents with every chain-pair triple that `rule(margin, relation)` calls true as gold."""
    out = []
    for doc, ps in zip(docs, scores_["paee"]):
        facts = [Fact(h, t, r) for h, t, r in ((i, i + 1, r) for i in range(N_E - 1) for r in ("P17", "P131"))
                 if rule(float(ps.margins[ps.pair(h, t), ps.relation_ids.index(r)]), r)]
        out.append(Document(doc.title, doc.sents, doc.entities, tuple(facts)))
    return out


def base_ranker() -> Ranker:
    """Trained where truth is margin > 0.5 whatever the relation: P17 and P131 look alike to it."""
    docs, sc = corpus(40, "base")
    queue = build_queue(docs, sc, pool=POOL)
    y = queue_labels(queue, complete(docs, sc, lambda m, r: m > 0.5))
    groups = np.array([queue.documents[i].title for i, *_ in queue.keys()])
    data = TrainingData(queue.features().astype(np.float32), y, np.ones(len(y), np.float32), groups,
                        feature_names(queue.slots))
    return fit_ranker(data, slots=queue.slots, pool=POOL, missing_rates={}, config=FAST)
