"""`python -m engine train|evaluate|predict|suggest|folds|ingest|compress|methods`: the command line over the engine
(predict in engine.cli.predict, suggest and folds in engine.cli.suggest)."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from engine.cli.common import PRECISION_HELP, at_least_one, check_output_file, load_docs, parse_options, progress_bar
from engine.cli.predict import add_predict_command
from engine.cli.ranker import add_ranker_command
from engine.cli.suggest import add_suggest_command
from engine.config import DEFAULT_ENCODER, SAVE_DTYPES, EncoderConfig, TrainConfig
from engine.data.schema import default_schema
from engine.errors import ConfigError, DocreError, InputFileError
from engine.settings import PRECISIONS, TRAIN_PRECISIONS, get_settings

log = logging.getLogger("engine")

def cmd_methods(args: argparse.Namespace) -> int:
    from engine.model.methods import list_methods  # noqa: PLC0415

    for spec in list_methods():
        print(f"{spec.name:12s} {spec.description}")
        if args.verbose:
            defaults = spec.config_class().to_json()
            for name, help_text in spec.config_class.help().items():
                print(f"    {name} = {defaults[name]!r}: {help_text}")
            for key, kind, meaning in spec.extras:
                print(f"    extra {key} ({kind.kind}): {meaning}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from engine.model.checkpoint import build_model  # noqa: PLC0415 - torch only for commands that need it
    from engine.model.methods import get_method  # noqa: PLC0415
    from engine.settings import pick_device  # noqa: PLC0415
    from engine.train.callbacks import ProgressBar  # noqa: PLC0415
    from engine.train.evaluation import DevEvaluator  # noqa: PLC0415
    from engine.train.run_directory import RunDirectory  # noqa: PLC0415
    from engine.train.trainer import Trainer, data_hash, seed_everything  # noqa: PLC0415

    at_least_one(args.max_train_docs, "--max-train-docs")
    if args.method is None:
        if not args.init_from:
            raise ConfigError("train needs --method (a new model), or --init-from CHECKPOINT alone to fine-tune that "
                              "checkpoint as it is")
        return _finetune(args)
    spec = get_method(args.method)
    try:  # before reading data: a malformed --option fails in a second, with its name
        method_config = spec.config_class.from_json({**spec.config_class().to_json(), **parse_options(args.option)})
    except ConfigError as exc:
        raise ConfigError(f"--option for {spec.name}: {exc}") from None
    schema = default_schema()
    train_docs = load_docs(args.train, args.train_split, schema)
    dev_docs = load_docs(args.dev, args.dev_split, schema) if args.dev else None
    if args.max_train_docs:
        train_docs = train_docs[:args.max_train_docs]
    train_config = TrainConfig(**_train_options(args))
    train_config.validate()
    if spec.prepare is not None:
        method_config = spec.prepare(method_config, train_docs, schema, train_config.drop_labels)
    run = RunDirectory(Path(args.output), data_hash(train_docs),
                       {**train_config.to_json(), "init_from": args.init_from},
                       train_config.save_dtype)
    last = None if args.no_resume else run.resumable(force=args.force_resume)
    if last is not None:
        from engine.model.checkpoint import load_checkpoint  # noqa: PLC0415

        loaded = load_checkpoint(last, expect_schema=schema, allow_download=args.allow_download)
        if loaded.method != spec.name:
            raise InputFileError(f"{last} holds a {loaded.method} run; use another --output or --no-resume")
    else:
        seed_everything(train_config.seed)
        loaded = build_model(spec.name, method_config, EncoderConfig(name=args.encoder), schema,
                             allow_download=args.allow_download)
        if args.init_from:
            from engine.model.checkpoint import warm_start  # noqa: PLC0415

            warm_start(loaded, args.init_from, allow_download=args.allow_download)
    device = pick_device(args.device)
    features = [loaded.tokenizer.featurize(d, schema) for d in train_docs]
    log.info("training %s on %d documents (%s), dev %s, device %s", spec.name, len(features), args.train,
             len(dev_docs) if dev_docs else "none", device)
    trainer = Trainer(loaded, train_config, features, device=device, resume_dir=last,
                      callbacks=[ProgressBar(disable=args.quiet)],
                      evaluator=DevEvaluator(dev_docs, train_docs) if dev_docs else None, run_directory=run)
    _report_done(trainer.train(), run.output, dev_docs, device)
    return 0


def _train_options(args: argparse.Namespace) -> dict:
    """The TrainConfig settings given on the command line (the others keep their defaults)."""
    return {k: v for k, v in {
        "epochs": args.epochs, "batch_size": args.batch_size, "grad_accumulation": args.grad_accumulation,
        "lr_encoder": args.lr_encoder, "lr_classifier": args.lr_classifier, "warmup_ratio": args.warmup_ratio,
        "max_grad_norm": args.max_grad_norm, "seed": args.seed, "drop_labels": args.drop_labels,
        "label_seed": args.label_seed, "deterministic": False if args.nondeterministic else None,
        "save_dtype": args.save_dtype, "precision": args.precision}.items() if v is not None}


def _report_done(state, output: Path, dev_docs, device: str) -> None:  # noqa: ANN001 - TrainState, documents
    """Calibrate the run's checkpoint on --dev (when given) and log the outcome."""
    if dev_docs:
        from engine.serve.checkpoint_calibration import calibrate_checkpoint  # noqa: PLC0415
        from engine.serve.predictor import Predictor  # noqa: PLC0415

        calibration = calibrate_checkpoint(output, dev_docs, Predictor.from_checkpoint(output, device)
                                           .predict(dev_docs))
        log.info("done: best dev F1 %.4f at epoch %d; calibration on dev: slope %.3f, intercept %.3f; checkpoint in %s",
                 state.best_score, state.best_epoch, calibration.slope, calibration.intercept, output)
    else:
        log.info("done: %d epochs (no --dev: the last epoch is the checkpoint) in %s", state.epoch, output)


def _finetune(args: argparse.Namespace) -> int:
    """`train --init-from CHECKPOINT` without --method: continue that checkpoint as it is (engine.train.finetune)
    on the labelled documents of --train, e.g. a `python -m db export` of a reviewed dataset. Settings not given
    come from the checkpoint's own training (learning rates, batch) and a short budget of epochs."""
    from engine.data.schema import RelationSchema  # noqa: PLC0415
    from engine.model.checkpoint import check_checkpoint  # noqa: PLC0415
    from engine.settings import pick_device  # noqa: PLC0415
    from engine.train.callbacks import ProgressBar  # noqa: PLC0415
    from engine.train.evaluation import DevEvaluator  # noqa: PLC0415
    from engine.train.finetune import base_train_config, finetune  # noqa: PLC0415

    if args.option or args.encoder != DEFAULT_ENCODER:
        raise ConfigError("--option and --encoder build a new model; fine-tuning (--init-from without --method) keeps "
                          "the checkpoint's own, so leave them out or give --method to warm-start a new model")
    schema = RelationSchema.from_json(check_checkpoint(args.init_from)["schema"])  # the labels it can learn
    train_docs = load_docs(args.train, args.train_split, schema)
    if args.max_train_docs:
        train_docs = train_docs[:args.max_train_docs]
    dev_docs = load_docs(args.dev, args.dev_split, schema) if args.dev else None
    config = base_train_config(args.init_from, **_train_options(args))
    device = pick_device(args.device)
    result = finetune(args.init_from, train_docs, args.output, config, device=device,
                      callbacks=[ProgressBar(disable=args.quiet)], resume=not args.no_resume,
                      force_resume=args.force_resume, allow_download=args.allow_download,
                      evaluator=DevEvaluator(dev_docs, train_docs) if dev_docs else None,
                      lineage={"train": str(args.train)}, source=args.train)
    _report_done(result.state, result.output, dev_docs, device)
    return 0


def warn_of_twins(checkpoints: Sequence[str] | None) -> None:
    """A model retrained on every document (engine.model.twin) has seen the held-out titles: say which twin gives
    its honest figures before any are printed, so an in-sample F1 is never read as a held-out one."""
    from engine.errors import CheckpointError  # noqa: PLC0415
    from engine.model.checkpoint import read_checkpoint_config  # noqa: PLC0415
    from engine.model.twin import named_twin, twin_path  # noqa: PLC0415

    for directory in checkpoints or [str(get_settings().default_model)]:
        lineage = read_checkpoint_config(directory).get("lineage")
        twin = named_twin(directory, lineage)
        if twin is not None:
            try:
                twin_path(directory, lineage)  # restored from git history where missing, so the command named runs
            except CheckpointError:
                pass  # named whether or not it can be had: the warning is what matters here
            log.warning("%s was trained on all labelled documents, the held-out titles included: figures on those "
                        "are in-sample; its held-out figures come from its twin, evaluate --checkpoint %s",
                        directory, twin)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from engine.data.metrics import evaluate, format_report  # noqa: PLC0415
    from engine.serve.checkpoint_calibration import calibration_report  # noqa: PLC0415
    from engine.serve.ensemble import load_predictor  # noqa: PLC0415

    check_output_file(args.output)
    warn_of_twins(args.checkpoint)
    predictor = load_predictor(args.checkpoint, args.device, precision=args.precision,
                               allow_download=args.allow_download)
    gold = [d for d in load_docs(args.input, args.split, predictor.schema) if d.has_labels]
    if not gold:
        raise InputFileError(f"{args.input}: no document has labels to evaluate against")
    train = load_docs(args.train, args.train_split, predictor.schema) if args.train else None
    scores = predictor.predict(gold, progress_bar("scoring", args.quiet))
    report = evaluate(gold, [[(h, t, r) for h, t, r, _ in s.predicted_triples()] for s in scores], train)
    print(format_report(report, predictor.schema.names))
    calibration = calibration_report(gold, scores)
    calibrated = ("no calibration stored" if calibration.ece_calibrated is None
                  else f"calibrated {100 * calibration.ece_calibrated:.3f}%")
    print(f"calibration: ECE of sigmoid(margin) {100 * calibration.ece_uncalibrated:.3f}%, {calibrated} "
          f"({calibration.n_items} pair-relation items)")
    if args.output:
        Path(args.output).write_text(json.dumps({**report.to_json(), "calibration": calibration.to_json()}, indent=1),
                                     encoding="utf-8")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the checkpoint's margin calibration on labelled documents and store it in its config.json."""
    from engine.serve.checkpoint_calibration import calibrate_checkpoint, calibration_report  # noqa: PLC0415
    from engine.serve.predictor import Predictor  # noqa: PLC0415

    predictor = Predictor.from_checkpoint(args.checkpoint, args.device, precision=args.precision)
    gold = [d for d in load_docs(args.input, args.split, predictor.schema) if d.has_labels]
    if not gold:
        raise InputFileError(f"{args.input}: no document has labels to calibrate on")
    scores = predictor.predict(gold, progress_bar("scoring", args.quiet))
    before = calibration_report(gold, scores).ece_uncalibrated
    calibration = calibrate_checkpoint(args.checkpoint, gold, scores)
    after = calibration_report(gold, [replace(s, calibration=calibration) for s in scores]).ece_calibrated
    print(f"{args.checkpoint}: slope {calibration.slope:.4f}, intercept {calibration.intercept:.4f} on "
          f"{calibration.n_fitted} items; ECE {100 * before:.3f}% -> {100 * after:.3f}% (on the fitting documents)")
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    """Rewrite a checkpoint's weights in another storage dtype; config, metrics and history are kept."""
    from engine.model.checkpoint import WEIGHTS_FILE, load_checkpoint, save_checkpoint  # noqa: PLC0415

    if Path(args.output).resolve() == Path(args.checkpoint).resolve():
        raise InputFileError("compress: --output must differ from --checkpoint (the input is read while writing)")
    loaded = load_checkpoint(args.checkpoint, allow_download=args.allow_download)
    info = loaded.info
    kept = {k: v for k, v in info.items() if k in ("epoch", "history")}
    save_checkpoint(loaded, args.output, metrics=info.get("metrics"), data_hash=info.get("data_hash"),
                    train_config=info.get("train_config"), save_dtype=args.save_dtype, extra=kept)
    size = (Path(args.output) / WEIGHTS_FILE).stat().st_size / 1e6
    log.info("%s -> %s (%s, %.1f MB)", args.checkpoint, args.output, args.save_dtype, size)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from engine.data.documents import write_documents  # noqa: PLC0415

    check_output_file(args.output)
    docs = load_docs(args.input)
    write_documents(docs, args.output)
    log.info("%s: %d sentences, %d entities -> %s", args.input, len(docs[0].sents), len(docs[0].entities), args.output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="DocRE Studio engine")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("-v", "--verbose-log", action="store_true", help="debug logging")
    parser.add_argument("--allow-download", action="store_const", const=True, default=None,
                        help="let a checkpoint's or --encoder's encoder name be fetched from the Hugging Face hub "
                             "(default: offline, local directories and the cache only; or DOCRE_ALLOW_DOWNLOAD=1)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("methods", help="list the registered methods")
    p.add_argument("--verbose", action="store_true", help="also list each method's options with defaults and help")
    p.set_defaults(func=cmd_methods)

    help_ = TrainConfig.help()
    p = sub.add_parser("train", help="train a method; resumes from OUTPUT/last when present")
    p.add_argument("--method", help="a registered method, e.g. atlop or atlop.v1 (see `methods`); leave it out with "
                                     "--init-from to fine-tune that checkpoint as it is (method, options, encoder)")
    p.add_argument("--train", required=True, help="DocRED JSON with labels")
    p.add_argument("--train-split", help="FILE.json:PART keeps only the titles listed there (e.g. split.json:train)")
    p.add_argument("--dev", help="DocRED JSON for per-epoch evaluation; the best epoch is kept")
    p.add_argument("--dev-split", help="FILE.json:PART for --dev")
    p.add_argument("--output", required=True, help="checkpoint directory")
    p.add_argument("--encoder", default=DEFAULT_ENCODER, help="Hugging Face encoder name or local path")
    for name in ("epochs", "batch_size", "grad_accumulation", "seed", "label_seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, help=help_[name])
    for name in ("lr_encoder", "lr_classifier", "warmup_ratio", "max_grad_norm", "drop_labels"):
        p.add_argument("--" + name.replace("_", "-"), type=float, help=help_[name])
    # the old name of --lr-classifier
    p.add_argument("--lr-head", dest="lr_classifier", type=float, help=argparse.SUPPRESS)
    p.add_argument("--save-dtype", choices=SAVE_DTYPES, help=help_["save_dtype"])
    p.add_argument("--precision", choices=TRAIN_PRECISIONS, help=help_["precision"])
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a method option (see `methods --verbose`)")
    p.add_argument("--max-train-docs", type=int, help="use only the first N training documents (quick runs)")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if OUTPUT/last exists")
    p.add_argument("--nondeterministic", action="store_true",
                   help="on CPU, allow kernels whose result varies from run to run (TrainConfig.deterministic)")
    p.add_argument("--force-resume", action="store_true",
                   help="resume OUTPUT/last even though its data or settings differ from this command's")
    p.add_argument("--init-from", help="checkpoint directory whose same-named weights (the encoder, shared head parts) "
                                       "start the model (ignored when resuming)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: DOCRE_DEVICE, else CUDA when present)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="F1, Ign F1, P, R and breakdowns of a checkpoint on labelled documents")
    p.add_argument("--checkpoint", nargs="+", help="checkpoint directory (default: the shipped model); several: "
                   "their ensemble (mean calibrated probability against the members' thresholds)")
    p.add_argument("--input", required=True, help="DocRED JSON with labels")
    p.add_argument("--split", help="FILE.json:PART for --input")
    p.add_argument("--train", help="training DocRED JSON, for Ign F1 and head/mid/tail groups")
    p.add_argument("--train-split", help="FILE.json:PART for --train")
    p.add_argument("--output", help="write the metrics as JSON here")
    p.add_argument("--device")
    p.add_argument("--precision", choices=PRECISIONS, help=PRECISION_HELP)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("calibrate", help="fit a checkpoint's margin calibration on labelled documents (stored in "
                                         "its config.json; train does this on --dev)")
    p.add_argument("--checkpoint", required=True, help="checkpoint directory (its config.json is updated)")
    p.add_argument("--input", required=True, help="DocRED JSON with labels (the checkpoint's dev documents)")
    p.add_argument("--split", help="FILE.json:PART for --input")
    p.add_argument("--device")
    p.add_argument("--precision", choices=PRECISIONS, help=PRECISION_HELP)
    p.set_defaults(func=cmd_calibrate)

    add_predict_command(sub)

    p = sub.add_parser("compress", help="rewrite a checkpoint's weights as float16, bfloat16 or int8 (smaller files)")
    p.add_argument("--checkpoint", required=True, help="checkpoint directory to read")
    p.add_argument("--output", required=True, help="checkpoint directory to write (may not be the input)")
    p.add_argument("--save-dtype", choices=SAVE_DTYPES, default="int8", help=help_["save_dtype"])
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("ingest", help="UTF-8 text -> DocRED JSON with entities found by spaCy")
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(func=cmd_ingest)
    add_suggest_command(sub)
    add_ranker_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose_log else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("transformers", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        if getattr(args, "device", None):
            from engine.settings import pick_device  # noqa: PLC0415 - imports torch

            pick_device(args.device)  # a device this machine lacks is refused before any work
        return args.func(args)
    except DocreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
