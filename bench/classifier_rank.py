"""How much of ATLOP's grouped bilinear a low-rank stand-in keeps, without retraining: held-out F1 when each
64 x 64 block W_rk is replaced by a rank-q Tucker-2 form A_k C_rk B_k^T (projections shared by the 97
relations, so a pair costs 12 q^2 97 multiply-adds instead of 12 * 4096 * 97).

Why: the classifier is 1.78 G of a held-out document's 5.4 G multiply-adds and bounds predict's speed against
the bare encoder (bench/RESULTS.md, issue 17). This measures whether a cheaper classifier could stand in for
the trained one at inference, or would have to be trained in.

Two ways to choose the projections, both fitted on `train` documents (never on the held-out ones scored):
- `moments`: the top-q eigenvectors of each side's second moment E[z z^T] (what the inputs occupy);
- `weighted`: the rank-q map that keeps most of the logits' expected square, given the other side's
  second moment and the weights (an SVD of G^1/2 C^1/2, G = sum_r W_r C_other W_r^T), head side then tail.

    python bench/classifier_rank.py [--checkpoint DIR] [--ranks 16 24 32 40] [--calibration-docs 60]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import command_line, heldout_docs, machine, train_docs


def _sqrt_psd(matrix, inverse: bool = False):
    import torch

    values, vectors = torch.linalg.eigh(matrix)
    values = values.clamp_min(1e-10)
    return (vectors * values.pow(-0.5 if inverse else 0.5)) @ vectors.T


def _weighted_side(weight, moment_x, moment_y, q: int):
    """(D, W'): x -> D^T x (q values) and the weight seen from the projected side; weight is (r, x, y)."""
    import torch

    gram = torch.einsum("rij,jl,rml->im", weight, moment_y, weight)
    gram_half, gram_inv_half = _sqrt_psd(gram), _sqrt_psd(gram, inverse=True)
    u = torch.linalg.svd(gram_half @ _sqrt_psd(moment_x))[0][:, :q]
    return gram_half @ u, torch.einsum("iq,rij->rqj", gram_inv_half @ u, weight)


def compress(weight, heads, tails, q: int, weighted: bool):
    """(A, B, C): per-block projections (k, bs, q) and the core (R, k * q * q) from the (R, k, bs, bs) weight
    and calibration inputs (n, k, bs)."""
    import torch

    a, b, core = [], [], []
    for block in range(weight.shape[1]):
        h, t, w = heads[:, block], tails[:, block], weight[:, block]
        moment_h, moment_t = h.T @ h / len(h), t.T @ t / len(t)
        if weighted:
            d_h, w_h = _weighted_side(w, moment_h, moment_t, q)
            projected = h @ d_h
            d_t, w_ht = _weighted_side(w_h.transpose(1, 2), moment_t, projected.T @ projected / len(h), q)
            a.append(d_h), b.append(d_t), core.append(w_ht.transpose(1, 2))
        else:
            u_h, u_t = torch.linalg.eigh(moment_h)[1][:, -q:], torch.linalg.eigh(moment_t)[1][:, -q:]
            a.append(u_h), b.append(u_t), core.append(torch.einsum("ia,rij,jb->rab", u_h, w, u_t))
    return (torch.stack(a).float(), torch.stack(b).float(),
            torch.stack(core, 1).reshape(weight.shape[0], -1).float())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="default: the shipped default model")
    p.add_argument("--ranks", type=int, nargs="+", default=[16, 24, 32, 40])
    p.add_argument("--calibration-docs", type=int, default=60, help="train documents the projections are fitted on")
    args = p.parse_args()

    import torch
    import torch.nn.functional as F

    from engine.data.metrics import evaluate
    from engine.model.grouped_bilinear import GroupedBilinear
    from engine.serve.predictor import Predictor

    predictor = Predictor.from_checkpoint(args.checkpoint, precision="float32")
    bilinear = next((m for m in predictor.loaded.model.modules() if isinstance(m, GroupedBilinear)), None)
    if bilinear is None:
        print(f"{predictor.method} has no grouped bilinear classifier")
        return 1
    exact = GroupedBilinear.chunked_logits
    captured = []

    def capture(self, z_head, z_tail, chunk=128):
        captured.append((z_head.detach().double(), z_tail.detach().double()))
        return exact(self, z_head, z_tail, chunk)

    GroupedBilinear.chunked_logits = capture
    predictor.predict(train_docs()[:args.calibration_docs])
    GroupedBilinear.chunked_logits = exact
    groups, size = bilinear.emb_size // bilinear.block_size, bilinear.block_size
    heads = torch.cat([h for h, _ in captured]).view(-1, groups, size)
    tails = torch.cat([t for _, t in captured]).view(-1, groups, size)
    weight = bilinear.classifier.weight.detach().double().view(-1, groups, size, size)
    held = heldout_docs()

    def held_out_f1() -> float:
        scores = predictor.predict(held)
        report = evaluate(held, [[(h, t, r) for h, t, r, _ in s.predicted_triples()] for s in scores], None)
        return 100 * report.overall.f1

    print(f"machine: {machine()}")
    print(f"command: {command_line()}")
    print(f"model: {predictor.method}, {len(heads)} calibration pairs from {args.calibration_docs} train documents, "
          f"{len(held)} held-out documents, fp32")
    full = groups * size * size * weight.shape[0]
    print("| rank q | projections | classifier multiply-adds per pair | held-out F1 | vs exact | seconds |")
    print("|---|---|---|---|---|---|")
    base = held_out_f1()
    print(f"| exact | - | {full / 1e6:.2f} M | {base:.2f} | - | - |", flush=True)
    for q in args.ranks:
        for weighted in (True, False):
            start = time.perf_counter()
            a, b, core = compress(weight, heads, tails, q, weighted)

            def low_rank(self, z_head, z_tail, chunk=128, a=a, b=b, core=core):
                hp = torch.einsum("nki,kiq->nkq", z_head.view(-1, groups, size), a)
                tp = torch.einsum("nkj,kjq->nkq", z_tail.view(-1, groups, size), b)
                return F.linear((hp.unsqueeze(-1) * tp.unsqueeze(-2)).reshape(len(z_head), -1), core,
                                self.classifier.bias)

            GroupedBilinear.chunked_logits = low_rank
            try:
                f1 = held_out_f1()
            finally:
                GroupedBilinear.chunked_logits = exact
            cost = groups * q * q * weight.shape[0] + 2 * groups * size * q
            print(f"| {q} | {'weighted' if weighted else 'moments'} | {cost / 1e6:.2f} M | {f1:.2f} | "
                  f"{f1 - base:+.2f} | {time.perf_counter() - start:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
