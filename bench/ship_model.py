"""Ship a methods-grid run as a model of the app and the CLI: stored int8 where that costs under 0.3 held-out
F1 against fp32 storage (else fp16), its Platt calibration fitted on `heldout` (as every shipped model's),
its held-out figures as the `metrics.dev` the model picker shows, and its lineage (the ledger record) in
config.json. Prints the figures it decided on; writes ASSETS/NAME (refuses to overwrite without --replace).

    python bench/ship_model.py --run full-pemscl-s0 --name pemscl [--replace]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, redocred_part  # noqa: E402
from grid.ledger import read_record  # noqa: E402
from shipping import calibrate_on_heldout, heldout_f1, put_in_place, shipped_on, staging  # noqa: E402

INT8_MAX_COST = 0.003  # F1 (fraction) that int8 storage may cost against fp32 storage


def _engine(engine, argv: list[str]) -> None:
    if engine(argv) != 0:
        raise SystemExit(f"python -m engine {' '.join(argv)} failed")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a ledger key, e.g. full-pemscl-s0")
    p.add_argument("--name", required=True, help="the model's directory name under --assets")
    p.add_argument("--runs-dir", default=str(ROOT / "runs" / "grid"))
    p.add_argument("--ledger", default=str(ROOT / "bench" / "ledger" / "methods"))
    p.add_argument("--assets", default=str(ROOT / "assets" / "models"))
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--replace", action="store_true", help="overwrite an existing model of that name")
    args = p.parse_args(argv)

    from engine.cli.main import main as engine  # noqa: PLC0415
    from engine.model.checkpoint import update_checkpoint_config  # noqa: PLC0415

    record = read_record(Path(args.ledger) / f"{args.run}.json")
    if record is None:
        raise SystemExit(f"no ledger record {args.run} in {args.ledger}: run bench/methods.py first")
    setting, method, seed = record["setting"], record["method"], record["seed"]
    source = Path(args.runs_dir) / setting / f"{method}-s{seed}"
    target = Path(args.assets) / args.name
    if target.exists() and not args.replace:
        raise SystemExit(f"{target} exists; pass --replace to overwrite it")
    data = Path(args.data)
    heldout, train = redocred_part("heldout", data), redocred_part("train", data)
    with staging(Path(args.assets)) as staged:
        fp32_f1, _ = heldout_f1(source, heldout, train)
        chosen = None
        for dtype in ("int8", "float16"):
            out = staged / dtype
            _engine(engine, ["--quiet", "compress", "--checkpoint", str(source), "--output", str(out),
                             "--save-dtype", dtype])
            f1, figures = heldout_f1(out, heldout, train)
            print(f"{args.run} stored {dtype}: held-out F1 {100 * f1:.2f} (fp32 storage {100 * fp32_f1:.2f})")
            if fp32_f1 - f1 < INT8_MAX_COST or dtype == "float16":
                chosen, chosen_figures = out, figures
                break
        calibrate_on_heldout(chosen, data)
        update_checkpoint_config(chosen, metrics={"dev": chosen_figures, "dev_documents": "heldout (100 titles)"},
                                 lineage={"ledger": args.run, "git_commit": record["provenance"]["git_commit"],
                                          "warm_start": record["warm_start"], "budget": record["budget"],
                                          "shipped_on": shipped_on()})
        put_in_place(chosen, target)
    size = (target / "model.safetensors").stat().st_size / 1e6
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    print(f"shipped {target}: {config['save_dtype']}, {size:.1f} MB, held-out F1 {100 * chosen_figures['f1']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
