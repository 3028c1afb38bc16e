"""The RESULTS table of the methods grid, rendered from the ledger alone (no model is loaded).

Each cell is the mean over a method's seeds. Against the baseline, a paired bootstrap over held-out
documents: each draw resamples the documents with replacement, sums every run's per-document counts (tp,
predicted, gold) over the drawn documents, and takes the mean over seeds of the method's micro F1 minus the
mean over seeds of the baseline's. The 95% interval is the 2.5th and 97.5th percentile of 2,000 draws with a
fixed seed, so the table is the same on every machine."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from grid.plan import BASELINE, METHODS, SETTINGS

DRAWS = 2000
BOOTSTRAP_SEED = 0
# What each paper claims and where this table can show it: (row label, the figure to compare, setting).
CLAIMS: dict[str, tuple[str, str, str]] = {
    "ncrl": ("NCRL claims higher F1 than other multi-label losses, ATLOP's included, from margins against the none "
             "class", "f1", "full"),
    "pemscl": ("PEMSCL claims robustness to annotation errors (negative label sampling), so its largest gains under "
               "incomplete labels", "f1", "half"),
    "p3m": ("P3M claims its largest gains under incomplete labels (positive-unlabelled learning)", "f1", "half"),
    "paee": ("PAEE claims higher F1 from restricting extraction to the pairs its pair-aware module predicts", "f1",
             "full"),
    "kmgre": ("KMGRE claims its largest gains on pairs with several mentions", "multi_both", "full"),
}


def f1_of(counts: np.ndarray) -> np.ndarray:
    """Micro F1 of summed [tp, predicted, gold] counts along the last axis."""
    tp, pred, gold = counts[..., 0], counts[..., 1], counts[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(pred + gold > 0, 2 * tp / (pred + gold), 0.0)
    return f1


def bootstrap_contrast(terms: Sequence[tuple[float, Sequence[np.ndarray]]], draws: int = DRAWS,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(point, low, high) of sum_k w_k * (mean-over-seeds micro F1 of runs_k) over documents resampled once for
    every term, so a difference of gains (half-label gain minus full-label gain) is paired like a difference.
    terms: (w_k, runs_k); each run is an (n_documents, 3) array of counts, documents in one order everywhere."""
    n = len(terms[0][1][0])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(draws, n))  # (draws, n_documents)

    def mean_f1(runs: Sequence[np.ndarray]) -> np.ndarray:
        # (draws,): each run's micro F1 on each draw, averaged over runs
        return np.mean([f1_of(run[picks].sum(axis=1)) for run in runs], axis=0)

    diffs = sum(w * mean_f1(runs) for w, runs in terms)
    point = float(sum(w * np.mean([f1_of(r.sum(axis=0)) for r in runs]) for w, runs in terms))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return point, float(low), float(high)


def paired_bootstrap(method: Sequence[np.ndarray], baseline: Sequence[np.ndarray],
                     draws: int = DRAWS, seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(difference, low, high) of mean-over-seeds micro F1, method minus baseline, over resampled documents."""
    return bootstrap_contrast([(1.0, method), (-1.0, baseline)], draws, seed)


def verdict(low: float, high: float) -> str:
    """What a 95% interval says of a claimed gain."""
    return "shown" if low > 0 else "not shown" if high < 0 else "inside the noise"


def _mean(records: Sequence[dict], section: str, key: str) -> float | None:
    values = [r["result"][section].get(key) for r in records]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _counts(record: dict) -> np.ndarray:
    return np.asarray(record["result"]["heldout_documents"]["counts"], dtype=np.int64)


def _check_aligned(records: Sequence[dict]) -> None:
    titles = {tuple(r["result"]["heldout_documents"]["titles"]) for r in records}
    if len(titles) > 1:
        raise ValueError("ledger records were measured on different held-out documents; the bootstrap needs one set")


def render(records: Sequence[dict]) -> str:
    """The Markdown block for bench/RESULTS.md."""
    by_cell: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        by_cell[(record["setting"], record["method"])].append(record)
    _check_aligned(records)
    lines = ["Rendered by `python bench/methods.py --table` from `bench/ledger/methods/` alone. Held-out: the 100 "
             "`heldout` titles, fp32 scoring; percent. Each cell: the mean over the seeds listed; dF1: against "
             f"{BASELINE} continuing under the same budget, paired bootstrap over held-out documents "
             f"({DRAWS} draws), 95% interval in brackets; an interval that holds 0 is inside the noise. "
             "R@miss: revisit false-negative recovery of the model's own margins at K = the number of missing triples. "
             "train s/doc: the trainer's wall seconds per document-step, which pauses and other work inflate; "
             "CPU s/doc: the training processes' user + system seconds per document-step (all threads), which "
             "they do not (recorded since 2026-12-07).",
             ""]
    for setting in SETTINGS:
        methods = [m for m in METHODS if by_cell.get((setting, m))]
        if not methods:
            continue
        base = by_cell.get((setting, BASELINE), [])
        lines += [f"### {setting} labels", "",
                  "| method | seeds | F1 | dF1 vs atlop [95%] | Ign F1 | P | R | intra | inter | multi-both | head | "
                  "mid | tail | P@200 | R@miss | train s/doc | CPU s/doc | peak RSS GB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for method in methods:
            runs = sorted(by_cell[(setting, method)], key=lambda r: r["seed"])
            if method != BASELINE and base:
                d, lo, hi = paired_bootstrap([_counts(r) for r in runs], [_counts(r) for r in base])
                delta = f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]" + ("" if lo > 0 or hi < 0 else " noise")
            else:
                delta = "baseline" if method == BASELINE else "-"
            cost = [r["provenance"].get("train_s_per_doc") for r in runs]
            cost = [c for c in cost if c]
            cpu = [r["provenance"]["cpu_s"] / r["budget"]["document_steps"] for r in runs
                   if r["provenance"].get("cpu_s") and r.get("budget", {}).get("document_steps")]
            rss = [r["provenance"].get("peak_rss_mb") for r in runs]
            rss = [m for m in rss if m]
            lines.append("| " + " | ".join([
                runs[0].get("method_version", method), ",".join(str(r["seed"]) for r in runs),
                _pct(_mean(runs, "heldout", "f1")), delta,
                *(_pct(_mean(runs, "heldout", k)) for k in ("ign_f1", "precision", "recall", "intra", "inter",
                                                              "multi_both", "head", "mid", "tail")),
                _pct(_mean(runs, "revisit", "p@200")), _pct(_mean(runs, "revisit", "r@missing")),
                f"{np.mean(cost):.2f}" if cost else "-", f"{np.mean(cpu):.2f}" if cpu else "-",
                f"{max(rss) / 1024:.1f}" if rss else "-"]) + " |")
        lines.append("")
    lines += _claims(by_cell)
    lines += _provenance(records)
    return "\n".join(lines).rstrip() + "\n"


def _claims(by_cell: dict[tuple[str, str], list[dict]]) -> list[str]:
    """One line per paper: its claim, and whether this table shows it (the method's gain over the baseline on
    the claimed figure, in the claimed setting, compared with its gain elsewhere)."""
    out = ["Each paper's claim against this table:", ""]
    for method, (claim, figure, setting) in CLAIMS.items():
        runs, base = by_cell.get((setting, method)), by_cell.get((setting, BASELINE))
        if not runs or not base:
            out.append(f"- {claim}: not measured yet ({setting} setting missing).")
            continue
        gain = _mean(runs, "heldout", figure) - _mean(base, "heldout", figure)
        text = f"- {claim}: {figure} {100 * gain:+.1f} against {BASELINE} ({setting} labels)"
        counts = [_counts(r) for r in runs], [_counts(r) for r in base]
        if figure == "f1" and setting == "half":
            other, other_base = by_cell.get(("full", method)), by_cell.get(("full", BASELINE))
            if other and other_base:
                # the claim is a larger gain with half the labels: the difference of the two gains, paired
                d, lo, hi = bootstrap_contrast([(1.0, counts[0]), (-1.0, counts[1]),
                                                (-1.0, [_counts(r) for r in other]),
                                                (1.0, [_counts(r) for r in other_base])])
                text += (f"; the gain with half labels minus the gain with full labels {100 * d:+.1f} "
                         f"[{100 * lo:+.1f}, {100 * hi:+.1f}]: {verdict(lo, hi)}")
            else:
                text += " (full setting missing for the contrast)"
        elif figure != "f1":
            # per-document counts exist for overall F1 only, so this figure has no interval
            overall = _mean(runs, "heldout", "f1") - _mean(base, "heldout", "f1")
            text += (f", F1 {100 * overall:+.1f} overall (no interval for {figure}): "
                     f"{'shown' if gain > max(overall, 0) else 'not shown'}")
        else:
            d, lo, hi = paired_bootstrap(*counts)
            text += f" [{100 * lo:+.1f}, {100 * hi:+.1f}]: {verdict(lo, hi)}"
        out.append(text + ".")
    return out + [""]


def _provenance(records: Sequence[dict]) -> list[str]:
    machines: dict[str, int] = defaultdict(int)
    for record in records:
        machines[record["provenance"].get("machine", "?")] += 1
    hours = sum(r["provenance"].get("wall_s") or 0 for r in records) / 3600
    out = [f"{len(records)} runs, {hours:.1f} h of training wall time recorded, on:"]
    out += [f"- {name}: {count} runs" for name, count in sorted(machines.items())]
    return out


def missing_cells(records: Sequence[dict[str, Any]], settings: Sequence[str], methods: Sequence[str],
                  min_seeds: int) -> list[str]:
    """Cells with fewer than `min_seeds` seeds in the ledger."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for record in records:
        seen[(record["setting"], record["method"])] += 1
    return [f"{s}-{m} ({seen[(s, m)]}/{min_seeds})" for s in settings for m in methods if seen[(s, m)] < min_seeds]
