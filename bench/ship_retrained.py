"""Ship a model retrained on all labelled documents (train and held-out) beside its 400-document twin.

The data README allows shipped weights to be retrained on all 500 documents once their schedule is chosen, with
every held-out figure taken from the twin: the same schedule from the same starting weights on the 400 `train`
titles. This script moves the shipped model to runs/twins/NAME (unchanged: it is the twin; outside
assets/models/, whose 100 MB budget holds the models a user runs), stores the retrained run int8 as
assets/models/NAME, and gives it the twin's decoding options (its restriction), the
twin's calibration (fitted on held-out, where the retrained model's own margins are in-sample), the twin's
held-out figures as the ones the model picker shows, and a lineage that names the twin (engine.model.twin).

    python bench/ship_retrained.py --name paee --run runs/paee-500 [--replace]

The twin is not shipped. Before removing it from the tree, commit it once (for example as
assets/models/twins/NAME) and record that commit in the retrained model's lineage as `twin_source` ({"commit",
"path", "files"}): engine.model.twin restores it from there on first use (the paee twin: commit 6fc264f).

It checks the twin relation first: the same method and training schedule (epochs, rates, batch, seed, warm-up),
and a retrained run with more training documents than the twin. Prints what it did.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
from shipping import put_in_place, shipped_on, staging  # noqa: E402


def config_of(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "config.json").read_text(encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, help="the shipped model to retrain (a directory under --models)")
    p.add_argument("--run", required=True, help="the retrained run's checkpoint directory")
    p.add_argument("--training-documents", type=int, required=True, help="documents the run trained on (500)")
    p.add_argument("--twin-documents", type=int, required=True, help="documents the twin trained on (400)")
    p.add_argument("--init-from", required=True, help="what both started from, in words (kept in the lineage)")
    p.add_argument("--models", default=str(ROOT / "assets" / "models"))
    p.add_argument("--twins", default=str(ROOT / "runs" / "twins"))
    p.add_argument("--replace", action="store_true", help="replace a retrained model already shipped beside its twin")
    args = p.parse_args(argv)

    from engine.model.checkpoint import update_checkpoint_config  # noqa: PLC0415
    from engine.model.twin import SCHEDULE_KEYS, schedule_differences  # noqa: PLC0415

    run, shipped, twin = Path(args.run), Path(args.models) / args.name, Path(args.twins) / args.name
    if args.training_documents <= args.twin_documents:
        raise SystemExit("--training-documents must exceed --twin-documents: the retrained model adds held-out ones")
    becoming = twin if twin.exists() else shipped  # the twin, or the shipped model that is to become it
    if not (becoming / "config.json").is_file():
        raise SystemExit(f"{becoming}: no checkpoint there to be the twin")
    if twin.exists() and shipped.exists() and not args.replace:
        raise SystemExit(f"{shipped} exists beside its twin {twin}; pass --replace to ship another retrained run")
    twin_config, run_config = config_of(becoming), config_of(run)
    differ = schedule_differences(twin_config, run_config)
    if differ:  # checked before anything moves
        raise SystemExit(f"{run} is not {becoming}'s twin: " + "; ".join(differ))
    if not twin.exists():
        twin.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(shipped), twin)
        print(f"moved the shipped {args.name} to {twin}: it is the twin")
    with staging(Path(args.models)) as staged:
        out = staged / args.name
        subprocess.run([sys.executable, "-m", "engine", "--quiet", "compress", "--checkpoint", str(run),
                        "--output", str(out), "--save-dtype", "int8"], cwd=ROOT, check=True)
        relative_twin = os.path.relpath(twin.resolve(), shipped.resolve())  # what engine.model.twin resolves
        update_checkpoint_config(
            out, method_config=twin_config["method_config"], calibration=twin_config.get("calibration"),
            metrics={**(twin_config.get("metrics") or {}), "from_twin": str(relative_twin)},
            lineage={"twin": str(relative_twin), "training_documents": args.training_documents,
                     "twin_training_documents": args.twin_documents, "init_from": args.init_from,
                     "schedule": {k: run_config["train_config"].get(k) for k in SCHEDULE_KEYS},
                     "figures": "held-out figures, calibration and decoding options are the twin's",
                     "shipped_on": shipped_on()})
        put_in_place(out, shipped)
    size = (shipped / "model.safetensors").stat().st_size / 1e6
    f1 = (twin_config.get("metrics") or {}).get("dev", {}).get("f1")
    print(f"shipped {shipped}: int8, {size:.1f} MB, trained on {args.training_documents} documents; "
          f"twin {twin} (held-out F1 {100 * f1:.2f})" if f1 is not None else f"shipped {shipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
