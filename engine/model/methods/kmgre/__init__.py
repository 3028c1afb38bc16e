"""KMGRE (COLING 2022): key mention pairs, trained by EM with a key-instance classifier."""
from engine.model.methods.kmgre import method  # noqa: F401 - registers kmgre.v1 and kmgre.v2
