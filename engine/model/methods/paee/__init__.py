"""PAEE: pair-aware and entity-enhanced representations (pair potentials, entity role matching)."""
from engine.model.methods.paee import method  # noqa: F401 - registers paee.v1
