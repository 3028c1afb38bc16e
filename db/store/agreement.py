"""Inter-annotator agreement: Cohen's kappa over two annotators' labels on the same items."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def cohen_kappa(labels_a: Sequence[str], labels_b: Sequence[str]) -> float:
    """kappa = (p_o - p_e) / (1 - p_e): observed agreement corrected for the agreement the two annotators'
    label frequencies give by chance. When chance agreement is certain (both always gave the same single
    label) there is nothing to correct for and the answer is 1.0."""
    if len(labels_a) != len(labels_b):
        raise ValueError(f"cohen_kappa: expected two label lists of one length, "
                         f"got {len(labels_a)} and {len(labels_b)}")
    n = len(labels_a)
    if n == 0:
        raise ValueError("cohen_kappa: expected at least one item both annotators labelled, got none")
    observed = sum(a == b for a, b in zip(labels_a, labels_b, strict=True)) / n
    count_a, count_b = Counter(labels_a), Counter(labels_b)
    expected = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if expected == 1.0:
        return 1.0
    return (observed - expected) / (1.0 - expected)
