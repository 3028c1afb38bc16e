"""PEMSCL (Guo et al., EACL 2023): pairwise moving threshold, entropy minimisation, supervised contrastive
learning and negative label sampling."""
from engine.model.methods.pemscl import method  # noqa: F401 - registers pemscl.v1
