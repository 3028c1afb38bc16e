"""P3M's decision shift alpha (margin > alpha * log gamma_i, `P3mConfig.decision_shift`), chosen on the inner
dev documents of `bench/budget_check.py --method p3m --warm inner`, never on `heldout`: the inner checkpoint
(trained on 350 `train` titles as the grid trains, from an atlop that never saw the 50 inner dev titles) scores
those titles once per alpha; the best dev F1 wins, ties to the smaller shift. Written to
bench/ledger/budget/full-p3m-shift.json; the grid's DECISION_CHOICES reads it.

--warm shipped reads the check that continued the shipped atlop instead, which had trained on the inner dev
titles: its margins there are those of memorised documents, larger than on unseen ones, so it favours small
shifts (it chose 0.2 on 2026-12-07, inner dev F1 74.1 against held-out 50.5).

    python bench/budget_check.py --method p3m --warm inner && python bench/p3m_shift.py

--apply CHECKPOINT ... puts the recorded choice into shipped checkpoints instead of choosing: their decoding
changes, so their held-out figures (`metrics.dev`, fp32 inference) are measured again and their Platt
calibration is fitted again on `heldout`, as `bench/ship_model.py` does for a new model.

    python bench/p3m_shift.py --apply assets/models/p3m"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATA, ROOT, heldout_docs, machine, train_docs  # noqa: E402
from shipping import calibrate_on_heldout, heldout_f1  # noqa: E402

ALPHAS = tuple(round(0.1 * i, 1) for i in range(11))


def with_shift(checkpoint: Path, alpha: float, into: Path) -> Path:
    """A copy of the checkpoint whose config decodes with this shift (copied: checkpoints refuse linked files)."""
    into.mkdir(parents=True)
    for item in checkpoint.iterdir():
        if item.is_file() and item.name != "config.json":
            shutil.copyfile(item, into / item.name)
    config = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
    config["method_config"]["decision_shift"] = alpha
    (into / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return into


def apply_choice(record_path: Path, checkpoints: list[Path]) -> None:
    """Decode each checkpoint with the recorded shift; re-measure its held-out figures and calibration."""
    from engine.model.checkpoint import update_checkpoint_config

    alpha = json.loads(record_path.read_text(encoding="utf-8"))["chosen_decision_shift"]
    heldout, train = heldout_docs(), train_docs()
    for checkpoint in checkpoints:
        config = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
        if not config["method"].startswith("p3m"):
            raise SystemExit(f"{checkpoint}: a {config['method']} model has no P3M decision shift")
        before = config["method_config"].get("decision_shift", 0.0)
        update_checkpoint_config(checkpoint, method_config={**config["method_config"], "decision_shift": alpha})
        _, figures = heldout_f1(checkpoint, heldout, train)
        update_checkpoint_config(checkpoint, metrics={"dev": figures, "dev_documents": "heldout (100 titles)"})
        calibrate_on_heldout(checkpoint, DATA)
        print(f"{checkpoint}: decision shift {before} -> {alpha}: held-out F1 {100 * figures['f1']:.2f} "
              f"(P {100 * figures['precision']:.1f}, R {100 * figures['recall']:.1f}), calibration fitted again")


def main(argv: list[str] | None = None) -> int:
    from engine.cli.common import select_titles
    from engine.data.documents import read_documents
    from engine.data.metrics import evaluate
    from engine.serve.predictor import Predictor

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warm", choices=("shipped", "inner"), default="inner",
                   help="which check's inner checkpoint to read (bench/budget_check.py --warm)")
    p.add_argument("--runs-dir", help="default: runs/budget/p3m[-inner-warm], where budget_check left it")
    p.add_argument("--out", default=str(ROOT / "bench" / "ledger" / "budget" / "full-p3m-shift.json"))
    p.add_argument("--apply", nargs="+", type=Path, metavar="CHECKPOINT",
                   help="put the choice recorded in --out into these checkpoints (no choosing)")
    args = p.parse_args(argv)
    if args.apply:
        apply_choice(Path(args.out), args.apply)
        return 0
    runs = Path(args.runs_dir or ROOT / "runs" / "budget" / ("p3m" if args.warm == "shipped" else "p3m-inner-warm"))
    docs = read_documents(DATA / "redocred" / "dev_revised.json").documents
    dev = select_titles(docs, f"{runs / 'inner_split.json'}:inner_dev")
    train = select_titles(docs, f"{runs / 'inner_split.json'}:inner_train")
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for alpha in ALPHAS:
            predictor = Predictor.from_checkpoint(with_shift(runs / "inner", alpha, Path(tmp) / f"a{alpha}"), "cpu",
                                                  precision="float32")
            predicted = [sorted({(h, t, r) for h, t, r, _ in s.predicted_triples()}) for s in predictor.predict(dev)]
            o = evaluate(dev, predicted, train).overall
            figures[alpha] = {"f1": round(100 * o.f1, 2), "precision": round(100 * o.precision, 2),
                              "recall": round(100 * o.recall, 2)}
            print(f"alpha {alpha:.1f}: inner dev F1 {figures[alpha]['f1']:.1f} (P {figures[alpha]['precision']:.1f}, "
                  f"R {figures[alpha]['recall']:.1f})", flush=True)
    best = max(ALPHAS, key=lambda a: (figures[a]["f1"], -a))
    record = {"method": "p3m", "setting": "full", "chosen_decision_shift": best, "inner_dev_documents": len(dev),
              "warm_start": "assets/models/atlop (trained on all 400 train titles, the inner dev ones included)"
              if args.warm == "shipped" else "atlop built on the inner-train titles only (bench/budget_check.py "
              "--warm inner)",
              "by_alpha": {str(a): f for a, f in figures.items()}, "machine": machine()}
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
