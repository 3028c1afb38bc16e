"""Prediction and training speed on this machine, next to the bare encoder's own forward pass.

Prints a table: documents/s and p50/p95 ms per document for `predict` with a checkpoint at the default
precision (`auto`: bf16 with an int8 classifier, or bf16, where the hardware runs them natively), next to
bf16 and fp32; peak memory; the bare default encoder's forward pass over the same documents (entity
markers included, longest-first batches, fused attention) in fp32 and at the best precision the hardware
runs natively (bf16 with AVX512-BF16, AMX or CUDA): the limit for any model on it; training documents/s in
fp32 and bf16 autocast, paired round by round on the same documents; a single ~200-word document's p95. Throughputs are
medians over rounds that each time every precision and then the bare encoder, and each ratio is the median of per-round
ratios. With `--device cuda` the same figures come from the GPU (bf16).

    python bench/speed.py [--checkpoint DIR] [--threads 2] [--train-docs 40] [--device cuda]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import command_line, heldout_docs, machine

# The default precision next to those it improves on: fp32 always, bf16 where int8 was picked.
COMPARED_WITH = {"int8": ["bfloat16", "float32"], "bfloat16": ["float32"], "float32": []}


def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_encoder_timer(predictor, docs, precision: str) -> Callable[[], float]:
    """A function timing one pass of the encoder alone (fused attention, no attentions returned) over the
    same windows and batches as predict, in documents/s, at `precision` (float32 or bfloat16 autocast)."""
    import torch

    from engine.model.encoder import load_hf
    from engine.model.features import collate
    from engine.serve.predictor import length_batches

    _, model = load_hf(predictor.loaded.encoder_config.name)
    model.config._attn_implementation = "sdpa"
    device = predictor.device
    model.to(device).eval()
    feats = predictor.featurize(docs)
    enc = predictor.loaded.encoder_config
    batches = [collate([feats[i] for i in idx], predictor.loaded.tokenizer, max_window=enc.max_window,
                       overlap=enc.window_overlap, num_classes=predictor.loaded.schema.num_classes, with_labels=False)
               for idx in length_batches([f.length + 2 for f in feats], predictor.token_budget, predictor.max_docs)]

    def one_pass() -> float:
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
        with torch.inference_mode(), autocast:
            synchronize(device)
            start = time.perf_counter()
            for b in batches:
                b = b.to(device)
                model(input_ids=b.window_ids, attention_mask=b.window_mask.long())
            synchronize(device)
        return len(docs) / (time.perf_counter() - start)

    one_pass()  # warm-up
    return one_pass


def multiply_adds_per_document(predictor, docs) -> tuple[float, float]:
    """Mean multiply-adds per document, in G: the encoder's (dense layers plus attention, a document as one
    window) and every grouped bilinear classifier's (one (n_pairs, emb * block) x (emb * block, classes)
    matmul). Why predict cannot reach the bare encoder's speed: for ATLOP's classifier on DocRED-sized
    documents the second is about 0.56 of the first, so even at int8's twice-bf16 rate it adds over a quarter."""
    from engine.model.grouped_bilinear import GroupedBilinear

    config = predictor.loaded.model.encoder.model.config
    d, ff, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    bilinears = [m for m in predictor.loaded.model.modules() if isinstance(m, GroupedBilinear)]
    per_pair = sum(b.emb_size * b.block_size * b.classifier.out_features for b in bilinears)
    scored = scored_pairs(predictor, docs)
    encoder = classifier = 0
    for f, n_pairs in zip(predictor.featurize(docs), scored):
        n = f.length + 2
        encoder += layers * (n * (4 * d * d + 2 * d * ff) + 2 * n * n * d)
        classifier += n_pairs * per_pair
    return encoder / len(docs) / 1e9, classifier / len(docs) / 1e9


def scored_pairs(predictor, docs) -> list[int]:
    """Pairs per document whose relations the classifier computes: every ordered pair, or under PAEE's
    restriction (restrict_decode) only those the predict call leaves scored."""
    if getattr(predictor.loaded.model.classifier, "restriction", None) is None:
        return [d.num_entities * (d.num_entities - 1) for d in docs]
    return [int(s.scored_rows().sum()) for s in predictor.predict(docs)]


def predict_docs_per_s(predictor, docs) -> float:
    start = time.perf_counter()
    predictor.predict(docs)
    return len(docs) / (time.perf_counter() - start)


def latency_ms(predictor, docs) -> dict:
    """p50 and p95 of predicting one document at a time."""
    per_doc = []
    for doc in docs[:100]:
        t0 = time.perf_counter()
        predictor.predict([doc])
        per_doc.append((time.perf_counter() - t0) * 1000)
    per_doc.sort()
    return {"p50_ms": statistics.median(per_doc), "p95_ms": per_doc[int(0.95 * (len(per_doc) - 1))]}


def single_200_word_p95(predictor, docs) -> float:
    doc = min(docs, key=lambda d: abs(d.num_tokens - 230))  # ~200 words plus punctuation
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        predictor.predict([doc])
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[int(0.95 * (len(times) - 1))]


def training_docs_per_s(method: str, docs, n: int, device: str, precision: str) -> float:
    """One epoch over `n` documents from a fresh model (same seed each time), in documents/s."""
    from engine.config import EncoderConfig, TrainConfig
    from engine.data.schema import default_schema
    from engine.model.checkpoint import build_model
    from engine.train.trainer import Trainer, seed_everything

    seed_everything(66)
    schema = default_schema()
    loaded = build_model(method, None, EncoderConfig(), schema)
    feats = [loaded.tokenizer.featurize(d, schema) for d in docs[:n]]
    trainer = Trainer(loaded, TrainConfig(epochs=1, batch_size=4, precision=precision), feats, device=device)
    start = time.perf_counter()
    trainer.train()
    return len(feats) / (time.perf_counter() - start)


def main() -> None:
    import torch

    from engine.serve.numeric_precision import resolve_training_precision
    from engine.serve.predictor import Predictor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="default: the shipped default model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-docs", type=int, default=40, help="documents for the training-speed figure (0 = skip)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeat", type=int, default=1,
                        help="score the held-out documents this many times (GPU: more)")
    parser.add_argument("--docs", type=int, default=100, help="use the first N held-out documents (quick checks)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of predict-then-bare-encoder timing (medians)")
    parser.add_argument("--train-rounds", type=int, default=2, help="rounds of fp32-then-bf16 training timing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    docs = heldout_docs()[:args.docs] * args.repeat
    predictor = Predictor.from_checkpoint(args.checkpoint, args.device)
    predictor.predict(docs[:4])  # warm-up
    predictor.predict(docs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # loading and predicting, default precision
    others = COMPARED_WITH[predictor.precision]
    predictors = {predictor.precision: predictor,
                  **{p: Predictor(predictor.loaded, args.device, precision=p) for p in others}}
    best = resolve_training_precision("auto", predictor.device)  # the best float precision computed natively
    bare_passes = {p: bare_encoder_timer(predictor, docs, p) for p in dict.fromkeys(["float32", best])}
    # Rounds, each timing every precision and then the bare encoder: a ratio within one round holds while a
    # shared machine's speed drifts, where one long run of each would not. Medians are reported.
    speeds: dict[str, list[float]] = {p: [] for p in predictors}
    bare_speeds: dict[str, list[float]] = {p: [] for p in bare_passes}
    for _ in range(args.rounds):
        for p, pred in predictors.items():
            speeds[p].append(predict_docs_per_s(pred, docs))
        for p, one_pass in bare_passes.items():
            bare_speeds[p].append(one_pass())
    ratios = {p: statistics.median(v / b for v, b in zip(vs, bare_speeds[best])) for p, vs in speeds.items()}
    latency = latency_ms(predictor, docs)
    encoder_gmac, classifier_gmac = multiply_adds_per_document(predictor, docs)
    p95_single = single_200_word_p95(predictor, docs)
    train: dict[str, list[float]] = {p: [] for p in dict.fromkeys(["float32", best])}
    for _ in range(args.train_rounds if args.train_docs else 0):
        for p in train:
            train[p].append(training_docs_per_s(predictor.method, docs, args.train_docs, args.device, p))
    print(f"machine: {machine(args.threads)}")
    print(f"command: {command_line()}")
    print(f"model: {predictor.method} ({args.checkpoint or 'shipped default'}), {len(docs)} held-out documents, "
          f"device {args.device}, predict precision {predictor.precision}, medians of {args.rounds} rounds")
    print(f"{'figure':48s} {'value':>10s}")
    rows = [*((f"predict documents/s ({p})", statistics.median(vs)) for p, vs in speeds.items()),
            *((f"bare encoder forward documents/s ({p})", statistics.median(v)) for p, v in bare_speeds.items()),
            *((f"predict ({p}) / bare encoder ({best}, the limit)", r) for p, r in ratios.items()),
            ("encoder multiply-adds per document (G)", encoder_gmac),
            ("classifier multiply-adds per document (G)", classifier_gmac),
            (f"predict p50 ms/document ({predictor.precision})", latency["p50_ms"]),
            (f"predict p95 ms/document ({predictor.precision})", latency["p95_ms"]),
            ("single ~200-word document p95 ms", p95_single), ("peak memory MB (load + predict)", peak_mb),
            *((f"training documents/s ({args.train_docs} docs, batch 4, {p})",
               statistics.median(v) if v else float("nan"))
              for p, v in train.items())]
    if len(train) == 2 and all(train.values()):
        rows.append((f"training {best} / float32 (median of per-round ratios)",
                     statistics.median(b / f for f, b in zip(train["float32"], train[best]))))
    for name, value in rows:
        print(f"{name:48s} {value:10.2f}")


if __name__ == "__main__":
    main()
