"""The app's only door to `db` and `engine`: pages call these modules, never the store or torch.

Long-lived objects (session factory, predictors) are `st.cache_resource`; read-only query results are
`st.cache_data` keyed by the database and ids, and the writers clear what they invalidate."""
from __future__ import annotations

from . import (
    adjudication,
    annotation,
    auth,
    controls,
    documents,
    entities,
    evaluation,
    export,
    finetune,
    jobs,
    learning,
    resources,
    review,
    scoring,
    stopping,
    team,
    users,
)
from .resources import available_models, relation_names

__all__ = ["adjudication", "annotation", "auth", "available_models", "controls", "documents", "entities",
           "evaluation", "export", "finetune", "jobs", "learning", "relation_names", "resources", "review", "scoring",
           "stopping", "team", "users"]
