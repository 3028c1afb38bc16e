"""Calibration of every shipped model: ECE of sigmoid(margin) against Platt-scaled probabilities on the
held-out titles, the calibration cross-fitted (fit on one half of the documents, measured on the other, and
the other way round), so no figure is measured on the documents it was fitted on. `--write` then fits on
all held-out titles and stores the result in each shipped checkpoint's config.json (the held-out titles
are the shipped models' dev documents: they chose the best epoch).

    python bench/calibration.py [--write] [--models atlop paee ...]"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from common import ROOT, command_line, heldout_docs, machine


def main() -> None:
    from engine.data.margin_calibration import expected_calibration_error, fit_calibration, scored_items, sigmoid
    from engine.serve.checkpoint_calibration import calibrate_checkpoint
    from engine.serve.predictor import Predictor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["paee", "atlop", "ncrl", "kmgre"])
    parser.add_argument("--write", action="store_true", help="store the all-held-out calibration in each checkpoint")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    print(f"machine: {machine()}\ncommand: {command_line()}\n")
    docs = heldout_docs()
    halves = (docs[0::2], docs[1::2])
    # Nearly all (pair, relation) items sit near probability 0, which makes the ECE over all of them tiny; the
    # second pair of columns measures it where a reviewer looks: the items whose raw sigmoid(margin) >= 5%.
    print("| model | ECE all, sigmoid(margin) | ECE all, calibrated | ECE p>=5%, sigmoid(margin) | ECE p>=5%, "
          "calibrated | slope | intercept |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        path = ROOT / "assets" / "models" / name
        predictor = Predictor.from_checkpoint(path, "cpu")
        scores = predictor.predict(docs)
        by_title = {s.title: s for s in scores}
        margins, labels = scored_items(docs, scores)
        raw = expected_calibration_error(sigmoid(margins), labels)
        crossed_p, crossed_y, crossed_raw = [], [], []
        for fit_part, test_part in (halves, halves[::-1]):
            cal = fit_calibration(*scored_items(fit_part, [by_title[d.title] for d in fit_part]))
            test_scores = [replace(by_title[d.title], calibration=cal) for d in test_part]
            crossed_p.append(np.concatenate([s.calibrated_probabilities().ravel() for s in test_scores]))
            test_margins, test_labels = scored_items(test_part, test_scores)
            crossed_y.append(test_labels)
            crossed_raw.append(sigmoid(test_margins))
        p_cal, y, p_raw = np.concatenate(crossed_p), np.concatenate(crossed_y), np.concatenate(crossed_raw)
        crossed = expected_calibration_error(p_cal, y)
        seen = p_raw >= 0.05
        raw_seen = expected_calibration_error(p_raw[seen], y[seen])
        cal_seen = expected_calibration_error(p_cal[seen], y[seen])
        full = fit_calibration(margins, labels)
        if args.write:
            calibrate_checkpoint(path, docs, scores)
        print(f"| {name} ({predictor.method}, {predictor.precision}) | {100 * raw:.3f}% | {100 * crossed:.3f}% | "
              f"{100 * raw_seen:.1f}% | {100 * cal_seen:.1f}% (n={int(seen.sum())}) | {full.slope:.3f} | "
              f"{full.intercept:.3f} |")


if __name__ == "__main__":
    main()
