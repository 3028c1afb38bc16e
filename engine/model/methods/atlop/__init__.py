"""ATLOP (Zhou et al., AAAI 2021): adaptive thresholding over the grouped bilinear classifier; the baseline
every other method builds on."""
from engine.model.methods.atlop import method  # noqa: F401 - registers atlop.v1
