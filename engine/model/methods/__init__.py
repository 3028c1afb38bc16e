"""Every relation extraction method, one package per paper (`atlop/`, `ncrl/`, `pemscl/`, `p3m/`, `paee/`,
`kmgre/`), each registered under a versioned name (`atlop.v1`). A new method adds a package here and plugs
into the trainer, checkpoints, predictor and CLI unchanged (docs/architecture.md has a worked example)."""
from __future__ import annotations

from engine.model.methods import atlop, kmgre, ncrl, p3m, paee, pemscl  # noqa: F401  - registers the built-in methods
from engine.model.methods.base import ClassifierOutput, MethodConfig, MethodSpec, ModelDims, RelationClassifier
from engine.model.methods.registry import get_method, list_methods, register

__all__ = ["ClassifierOutput", "MethodConfig", "RelationClassifier", "MethodSpec", "ModelDims", "get_method",
           "list_methods", "register"]
