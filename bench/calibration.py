"""Calibration of every shipped model on the held-out titles, the way issue 24 asks for it: the expected
calibration error of the calibrated probabilities the app shows, 15 equal-width bins, over every (pair,
relation) item with calibrated p >= 0.1, cross-fitted (fit on one half of the documents, measured on the
other, and the other way round, so no figure is measured on the documents it was fitted on). Two fits per
model: the model-wide Platt pair, and the same refined by one pair per relation-frequency band (head / mid /
tail of the `train` counts). `--write` then fits the chosen kind on all held-out titles and stores it in each
checkpoint's config.json (the held-out titles are the shipped models' dev documents: they chose the best epoch).

    python bench/calibration.py [--write {global,banded}] [--models atlop paee ...]"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from common import ROOT, command_line, heldout_docs, machine, train_docs

SHOWN = 0.1  # the app's suggestions and pair panel start at this probability (issue 24's ECE population)


def main() -> None:
    import torch

    from engine.cli.scoring import discover_models
    from engine.data.margin_calibration import (
        expected_calibration_error,
        fit_banded_calibration,
        fit_calibration,
        item_probabilities,
        item_relations,
        scored_items,
        sigmoid,
    )
    from engine.data.metrics import frequency_groups, relation_counts
    from engine.model.checkpoint import update_checkpoint_config
    from engine.model.twin import measured_in_place
    from engine.serve.predictor import Predictor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", help="names under assets/models (default: every shipped model)")
    parser.add_argument("--write", choices=("global", "banded"),
                        help="store this calibration, fitted on all held-out titles, in each checkpoint")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"machine: {machine()}\ncommand: {command_line()}\n")
    docs = heldout_docs()
    halves = (docs[0::2], docs[1::2])
    shipped = [ROOT / "assets" / "models" / n for n in args.models] if args.models else discover_models()
    # a model retrained on every document is fitted on its twin's held-out margins (engine.model.twin): its own
    # would be in-sample; --write stores that fit in both
    paths = measured_in_place(shipped)
    print(f"| model | ECE p>={SHOWN:g}, sigmoid(margin) | ECE p>={SHOWN:g}, Platt | ECE p>={SHOWN:g}, Platt per band "
          "| items (Platt / banded) | bands fitted |")
    print("|---|---|---|---|---|---|")
    for path in paths:
        predictor = Predictor.from_checkpoint(path, "cpu")
        scores = predictor.predict(docs)
        relation_ids = scores[0].relation_ids
        groups = frequency_groups(relation_counts(train_docs()), relation_ids)
        by_title = {s.title: s for s in scores}

        def fitted(part, banded: bool):
            part_scores = [by_title[d.title] for d in part]
            margins, labels = scored_items(part, part_scores)
            if banded:
                return fit_banded_calibration(margins, labels, item_relations(part_scores), groups)
            return fit_calibration(margins, labels)

        def crossed(banded: bool) -> tuple[float, int, int]:
            probabilities, gold = [], []
            bands = 0
            for fit_part, test_part in (halves, halves[::-1]):
                calibration = fitted(fit_part, banded)
                bands = max(bands, len(calibration.bands))
                test_scores = [replace(by_title[d.title], calibration=calibration) for d in test_part]
                probabilities.append(item_probabilities(test_scores))
                gold.append(scored_items(test_part, test_scores)[1])
            p, y = np.concatenate(probabilities), np.concatenate(gold)
            shown = p >= SHOWN
            return expected_calibration_error(p[shown], y[shown]), int(shown.sum()), bands

        margins, labels = scored_items(docs, scores)
        raw = sigmoid(margins)
        raw_ece = expected_calibration_error(raw[raw >= SHOWN], labels[raw >= SHOWN])
        (platt, n_platt, _), (banded, n_banded, n_bands) = crossed(False), crossed(True)
        print(f"| {path.name} ({predictor.method}, {predictor.precision}) | {100 * raw_ece:.2f}% | "
              f"{100 * platt:.2f}% | {100 * banded:.2f}% | {n_platt} / {n_banded} | {n_bands} of {len(groups)} |",
              flush=True)
        if args.write:
            calibration = fitted(docs, args.write == "banded").to_json()
            for target in {path, *(s for s, m in zip(shipped, paths) if m == path)}:
                update_checkpoint_config(target, calibration=calibration)


if __name__ == "__main__":
    main()
