"""P3M (Wang et al., AAAI 2024): positive-unlabeled metric learning for incompletely labelled DocRE."""
from engine.model.methods.p3m import method  # noqa: F401 - registers p3m.v1
