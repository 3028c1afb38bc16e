"""KMGRE: loss pieces against hand-computed values, the vectorised mention-pair view against loops, the EM
schedule, a key mention pair found after overfitting, overfit-and-reload, and the CLI round trip."""
import json
import math

import numpy as np
import pytest
import torch

from engine.data.documents import Document, Entity, Fact, Mention, write_documents
from engine.data.schema import default_schema
from engine.model.adaptive_thresholding import adaptive_threshold_loss
from engine.model.encoder import EncodedBatch
from engine.model.features import Tokenizer, collate
from engine.model.methods.kmgre.loss import (
    fuse_key_logits,
    key_focal_loss,
    key_pseudo_labels,
    key_threshold,
    split_key_pairs,
    threshold_class_loss,
)
from engine.model.methods.kmgre.mention_pairs import build_mention_pairs, document_matmul, mention_pair_features
from engine.model.methods.kmgre.schedule import Phase

# ---------------------------------------------------------------- loss pieces, hand-computed


def test_pseudo_labels_eq9():
    # entity pair 0 holds relation 1 (of 2); its mention pairs' p(r1) = 0.9, 0.3 -> mean 0.6: only the first is key.
    probs = torch.tensor([[[0.9, 0.1], [0.3, 0.5], [0.0, 0.0]],
                          [[0.9, 0.9], [0.8, 0.8], [0.7, 0.7]]])  # (n_p=2, G=3, R=2)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    labels = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # pair 1 has no relation: no key pair
    assert key_pseudo_labels(probs, labels, mask).tolist() == [[True, False, False], [False, False, False]]


def test_focal_loss_eq10_11():
    logits = torch.tensor([[0.0, math.log(3.0), 5.0]])  # p = 0.5, 0.75, padding
    pseudo = torch.tensor([[True, False, False]])
    mask = torch.tensor([[True, True, False]])
    # key, p_t = 0.5: -0.3 * 0.5^2 * log 0.5; non-key, p_t = 0.25: -0.3 * 0.75^2 * log 0.25; mean of the two
    expected = (0.3 * 0.25 * math.log(2.0) + 0.3 * 0.5625 * math.log(4.0)) / 2
    assert key_focal_loss(logits, pseudo, mask, alpha=0.3, gamma=2.0).item() == pytest.approx(expected, rel=1e-5)


def test_threshold_and_split_eq12_15():
    p = torch.tensor([[0.2, 0.8, 0.5, 0.9]])  # last slot is padding
    mask = torch.tensor([[True, True, True, False]])
    # mean 0.5 + xi 0.1 * (0.8 - 0.2) = 0.56, below tau
    assert key_threshold(p, mask, xi=0.1, tau=0.9).item() == pytest.approx(0.56)
    assert key_threshold(p, mask, xi=0.1, tau=0.3).item() == pytest.approx(0.3)  # capped by tau
    assert split_key_pairs(p, mask, xi=0.1, tau=0.9).tolist() == [[False, True, False, False]]
    assert split_key_pairs(p, mask, xi=0.1, tau=0.3).tolist() == [[False, True, True, False]]
    # threshold min(0.5 + 1.0 * 0.6, 1.0) = 1.0 is above every p: the best mention pair stays key
    assert split_key_pairs(p, mask, xi=1.0, tau=1.0).tolist() == [[False, True, False, False]]
    # tau = 0 (warm-up) keeps every real mention pair
    assert split_key_pairs(p, mask, xi=0.1, tau=0.0).tolist() == [[True, True, True, False]]


def test_fusion_eq16_and_threshold_loss_eq17_19():
    logits = torch.tensor([[[1.0, 2.0], [3.0, 0.0]]])  # (n_p=1, G=2, C=2)
    both = fuse_key_logits(logits, torch.tensor([[True, True]]))
    assert both[0].tolist() == pytest.approx([math.log(math.e + math.e ** 3), math.log(math.e ** 2 + 1.0)])
    assert fuse_key_logits(logits, torch.tensor([[False, True]]))[0].tolist() == pytest.approx([3.0, 0.0])
    fused, labels = torch.tensor([[0.0, 1.0, -1.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    # positive part: -log softmax({TH: 0, r1: 1})[r1]; negative part: -log softmax({TH: 0, r2: -1})[TH]
    expected = 2 * math.log(1.0 + math.exp(-1.0))
    assert threshold_class_loss(fused, labels).item() == pytest.approx(expected, rel=1e-6)
    assert threshold_class_loss(fused, labels).item() == adaptive_threshold_loss(fused, labels).item()


# ---------------------------------------------------------------- the mention-pair view


def _m(name: str, sent: int, start: int, etype: str) -> Mention:
    return Mention(name, sent, start, start + 1, etype)


def _small_doc() -> Document:
    sents = (("Alice", "met", "Bob", "in", "Rome", "."), ("Bob", "left", "Rome", "."), ("Alice", "stayed", "."))
    ents = (Entity((_m("Alice", 0, 0, "PER"), _m("Alice", 2, 0, "PER"))),
            Entity((_m("Bob", 0, 2, "PER"), _m("Bob", 1, 0, "PER"))),
            Entity((_m("Rome", 0, 4, "LOC"), _m("Rome", 1, 2, "LOC"), _m("Rome", 0, 4, "LOC"))))
    return Document("small", sents, ents, (Fact(1, 2, "P551"),))


@pytest.fixture(scope="module")
def tiny_batch(tiny_encoder_dir):
    from transformers import AutoTokenizer

    tok = Tokenizer(AutoTokenizer.from_pretrained(str(tiny_encoder_dir)))
    schema = default_schema()
    feats = [tok.featurize(_small_doc(), schema), tok.featurize(_small_doc(), schema)]
    return collate(feats, tok, max_window=512, overlap=128, num_classes=schema.num_classes, with_labels=True)


def test_mention_pairs_cover_every_grid_cell(tiny_batch):
    index = build_mention_pairs(tiny_batch)
    counts = tiny_batch.entity_mention_mask.sum(1)
    per_pair = counts[tiny_batch.pair_head] * counts[tiny_batch.pair_tail]  # (n_p,)
    assert index.pair.shape[0] == int(per_pair.sum())
    assert index.width == 6 and index.mask.sum(1).tolist() == per_pair.tolist()
    ent = tiny_batch.entity_mentions
    assert torch.equal(index.head_mention, ent[tiny_batch.pair_head[index.pair], index.head_slot])
    assert torch.equal(index.tail_mention, ent[tiny_batch.pair_tail[index.pair], index.tail_slot])
    assert torch.equal(index.doc, tiny_batch.mention_doc[index.head_mention])
    assert bool((index.doc[1:] >= index.doc[:-1]).all())


def test_cap_keeps_the_closest_mention_pairs(tiny_batch):
    index = build_mention_pairs(tiny_batch, max_mention_pairs=2)
    pos = tiny_batch.mention_pos
    for p in range(tiny_batch.pair_head.shape[0]):
        h, t = int(tiny_batch.pair_head[p]), int(tiny_batch.pair_tail[p])
        cells = [(i, j) for i in range(int(tiny_batch.entity_mention_mask[h].sum()))
                 for j in range(int(tiny_batch.entity_mention_mask[t].sum()))]
        dist = [abs(int(pos[tiny_batch.entity_mentions[h, i]]) - int(pos[tiny_batch.entity_mentions[t, j]]))
                for i, j in cells]
        expected = [cells[k] for k in sorted(range(len(cells)), key=lambda k: (dist[k], k))[:2]]
        rows = index.pair == p
        assert list(zip(index.head_slot[rows].tolist(), index.tail_slot[rows].tolist())) == sorted(expected)


def test_features_equal_a_loop(tiny_batch):
    torch.manual_seed(0)
    L, d = int(tiny_batch.doc_length.max()), 8
    states = torch.randn(tiny_batch.num_docs, L, d)
    attention = torch.rand(tiny_batch.mention_doc.shape[0], 3, L)
    from engine.model.backbone import AtlopBackbone

    rep = AtlopBackbone()(EncodedBatch(states, attention), tiny_batch)
    index = build_mention_pairs(tiny_batch)
    x = mention_pair_features(rep, index)
    assert x.shape == (index.pair.shape[0], 3 * d)
    for k in range(0, index.pair.shape[0], 7):
        i, j, doc = int(index.head_mention[k]), int(index.tail_mention[k]), int(index.doc[k])
        per_head = attention[i] * attention[j]
        a = (per_head / (per_head.sum(-1, keepdim=True) + 1e-5)).mean(0)
        mention = states[tiny_batch.mention_doc, tiny_batch.mention_pos]
        expected = torch.cat([mention[i], mention[j], a @ states[doc]])
        assert torch.allclose(x[k], expected, atol=1e-5)
    rows = torch.rand(5, L)
    docs = torch.tensor([0, 0, 1, 1, 1])
    assert torch.allclose(document_matmul(rows, docs, states),
                          torch.stack([rows[r] @ states[docs[r]] for r in range(5)]),
                          atol=1e-5)


def _build(tiny_encoder_dir, **options):
    from engine.config import EncoderConfig
    from engine.model.checkpoint import build_model
    from engine.model.methods import get_method

    config = get_method("kmgre").config_class(**options)
    return build_model("kmgre", config, EncoderConfig(name=str(tiny_encoder_dir), freeze_word_embeddings=False),
                       default_schema())


def test_forward_shapes_and_grids(tiny_encoder_dir, tiny_batch):
    loaded = _build(tiny_encoder_dir, max_mention_pairs=4)
    model = loaded.model.eval()
    with torch.no_grad():
        out = model(tiny_batch)
        grids = model.classifier.collect_extras(out, tiny_batch)["mention_grids"].grids
    n_p = tiny_batch.pair_head.shape[0]
    assert out.logits.shape == (n_p, 97) and out.loss is not None and len(grids) == n_p
    counts = tiny_batch.entity_mention_mask.sum(1)
    for p, grid in enumerate(grids):
        n_h, n_t = int(counts[tiny_batch.pair_head[p]]), int(counts[tiny_batch.pair_tail[p]])
        assert grid.key_probability.shape == (n_h, n_t) and grid.relation_probability.shape == (n_h, n_t, 96)
        assert int((grid.key_probability > 0).sum()) == min(n_h * n_t, 4)  # dropped cells stay 0
        assert ((grid.key_probability >= 0) & (grid.key_probability <= 1)).all()
    probs = model.classifier.probabilities(out)
    assert probs.shape == (n_p, 97) and model.classifier.decode(out).shape == (n_p, 96)


def _grad_owners(model) -> dict[str, bool]:
    head = model.classifier
    encoders = {"encoder": model.encoder, "extractor": head.extractor, "key": head.key_classifier.scorer}
    if head.key_classifier.encoder is not None:
        encoders["key_encoder"] = head.key_classifier.encoder
    return {name: any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in m.parameters())
            for name, m in encoders.items()}


@pytest.mark.parametrize("key_encoder", ["shared", "separate"])
def test_em_schedule_updates_the_right_module(tiny_encoder_dir, tiny_batch, key_encoder):
    loaded = _build(tiny_encoder_dir, key_encoder=key_encoder, warmup_epochs=2, tau_schedule="global_step",
                    tau_decay=0.9)
    model, head = loaded.model.train(), loaded.model.classifier
    expected = {  # phase -> which modules receive gradients
        (0, 0): dict(encoder=True, extractor=True, key=True, key_encoder=True),  # warm-up: both
        (2, 5): dict(encoder=False, extractor=False, key=True, key_encoder=True),  # E-step: omega only
        (3, 6): dict(encoder=True, extractor=True, key=False, key_encoder=False),  # M-step: theta only
    }
    for (epoch, step), owners in expected.items():
        head.on_train_progress(epoch, step)
        model.zero_grad(set_to_none=True)
        model(tiny_batch).loss.backward()
        if key_encoder == "shared":
            owners = {k: v for k, v in owners.items() if k != "key_encoder"}
        assert _grad_owners(model) == owners, (epoch, head.phase)
    assert head.phase is Phase.M_STEP and head.tau.item() == pytest.approx(0.5 * (1 - 0.9 ** 6))
    head.on_train_progress(0, 9)
    assert head.phase is Phase.WARMUP and head.tau.item() == 0.0


def test_shared_key_classifier_never_reaches_the_encoder(tiny_encoder_dir, tiny_batch):
    """In warm-up both losses run; the encoder's gradient equals that of the extractor's loss alone."""
    loaded = _build(tiny_encoder_dir, key_encoder="shared")
    model = loaded.model.eval()  # no dropout, so both passes see the same encoder states
    model.classifier.train()
    model.classifier.on_train_progress(0, 0)
    out = model(tiny_batch)
    out.loss.backward()
    both = [p.grad.clone() for p in model.encoder.parameters() if p.grad is not None]
    model.zero_grad(set_to_none=True)
    threshold_class_loss(model(tiny_batch).logits.float(), tiny_batch.labels.float()).backward()
    theta_only = [p.grad.clone() for p in model.encoder.parameters() if p.grad is not None]
    assert both and len(both) == len(theta_only)
    for a, b in zip(both, theta_only):
        assert torch.allclose(a, b, atol=1e-6)


# ---------------------------------------------------------------- training end to end

FILLER = ("and", "then", "the", "day", "went", "on", "as", "usual", "for", "a", "while", "there")


def _key_pair_doc() -> Document:
    """Alice and Paris share only sentence 0 ("born in"); their other mentions sit in sentences of their own,
    as do the two distractor entities (negative pairs). Filler keeps every sentence in its own encoder window
    (max_window 16), so only the key pair's mentions attend to a common context (Eq. 4): a random tiny BERT
    attends almost uniformly, and without windows its mention-pair contexts would not tell sentences apart."""
    sents = (("Alice", "was", "born", "in", "Paris", ".") + FILLER, ("Carol", "likes", "tea", ".") + FILLER,
             ("Alice", "likes", "tea", ".") + FILLER, ("Rome", "is", "big", ".") + FILLER,
             ("Paris", "is", "big", ".") + FILLER)
    ents = (Entity((_m("Alice", 0, 0, "PER"), _m("Alice", 2, 0, "PER"))),
            Entity((_m("Paris", 0, 4, "LOC"), _m("Paris", 4, 0, "LOC"))),
            Entity((_m("Carol", 1, 0, "PER"),)), Entity((_m("Rome", 3, 0, "LOC"),)))
    return Document("born", sents, ents, (Fact(0, 1, "P19"),))


def test_key_mention_pair_has_the_highest_key_probability(tiny_encoder_dir):
    from engine.config import EncoderConfig, TrainConfig
    from engine.model.checkpoint import build_model
    from engine.model.methods import get_method
    from engine.serve.predictor import Predictor
    from engine.train.trainer import Trainer

    schema, doc = default_schema(), _key_pair_doc()
    config = get_method("kmgre").config_class(warmup_epochs=15, tau_decay=0.9, xi=0.1)
    loaded = build_model("kmgre", config, EncoderConfig(name=str(tiny_encoder_dir), freeze_word_embeddings=False,
                                                        max_window=16, window_overlap=4), schema)
    features = [loaded.tokenizer.featurize(doc, schema)]
    Trainer(loaded, TrainConfig(epochs=50, batch_size=1, lr_encoder=3e-3, lr_classifier=1e-2, warmup_ratio=0.0, seed=1),
            features).train()
    scores = Predictor(loaded, "cpu").predict([doc])[0]
    grid = scores.extra("mention_grids").grids[scores.pair(0, 1)]
    assert grid.key_probability.shape == (2, 2)
    assert np.unravel_index(grid.key_probability.argmax(), (2, 2)) == (0, 0)  # Alice, Paris in "born in"
    p19 = grid.relation_probability[..., list(scores.relation_ids).index("P19")]
    assert np.unravel_index(p19.argmax(), (2, 2)) == (0, 0)
    assert {(h, t, r) for h, t, r, _ in scores.predicted_triples()} == {(0, 1, "P19")}


def test_kmgre_overfits_two_documents_and_reloads(redocred_docs, tiny_encoder_dir, tmp_path):
    from engine.serve.predictor import Predictor
    from tests.model_helpers import assert_reload_identical, gold_triples, overfit, predicted_triples, small_docs

    docs = small_docs(redocred_docs)
    # 50 warm-up epochs, then 15 E-step and 15 M-step epochs (one step each); the loss mixes both phases
    loaded, losses = overfit("kmgre", tiny_encoder_dir, docs, epochs=80, lr=5e-3, options={"warmup_epochs": 50})
    assert sum(losses[-3:]) / 3 < 0.2 * sum(losses[:3]) / 3
    before = Predictor(loaded, "cpu").predict(docs)
    for doc, s in zip(docs, before):
        assert predicted_triples(s) == gold_triples(doc)
    assert_reload_identical(loaded, tmp_path, docs)
    from engine.model.checkpoint import load_checkpoint

    after = Predictor(load_checkpoint(tmp_path / "ckpt"), "cpu").predict(docs)
    for a, b in zip(before, after):
        for ga, gb in zip(a.extra("mention_grids").grids, b.extra("mention_grids").grids):
            np.testing.assert_allclose(ga.key_probability, gb.key_probability, atol=1e-5)
            np.testing.assert_allclose(ga.relation_probability, gb.relation_probability, atol=1e-5)


def test_separate_key_encoder_is_saved_and_reloads(redocred_docs, tiny_encoder_dir, tmp_path):
    """A few warm-up steps move the key encoder away from its initial copy; reload must restore it exactly."""
    from tests.model_helpers import assert_reload_identical, overfit, small_docs

    docs = small_docs(redocred_docs)
    loaded, _ = overfit("kmgre", tiny_encoder_dir, docs, epochs=3, options={"key_encoder": "separate"})
    key_encoder = loaded.model.classifier.key_classifier.encoder
    assert key_encoder is not None and not torch.equal(key_encoder.model.encoder.layer[0].attention.self.query.weight,
                                                       loaded.model.encoder.model.encoder.layer[0].attention.self.query.weight)
    assert_reload_identical(loaded, tmp_path, docs)


def test_cli_train_evaluate_predict_with_mention_grids(redocred_docs, tiny_encoder_dir, tmp_path, capsys):
    from engine.cli.main import main
    from engine.data.pair_scores import PairScores

    docs = [d for d in redocred_docs if len(d.entities) <= 12][:2]
    path, out = tmp_path / "two.json", tmp_path / "model"
    write_documents(docs, path)
    assert main(["--quiet", "train", "--method", "kmgre", "--train", str(path), "--dev", str(path), "--output",
                 str(out),
                 "--encoder", str(tiny_encoder_dir), "--epochs", "1", "--batch-size", "2",
                 "--option", "key_encoder=separate", "--option", "max_mention_pairs=8"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "kmgre.v2" and config["method_config"]["key_encoder"] == "separate"
    capsys.readouterr()
    assert main(["--quiet", "evaluate", "--checkpoint", str(out), "--input", str(path)]) == 0
    assert "overall" in capsys.readouterr().out
    preds, scores_path = tmp_path / "p.json", tmp_path / "s.json"
    assert main(["--quiet", "predict", "--checkpoint", str(out), "--input", str(path), "--output", str(preds),
                 "--scores-output", str(scores_path)]) == 0
    scores = [PairScores.from_json(s) for s in json.loads(scores_path.read_text())]
    for doc, s in zip(docs, scores):
        assert s.method == "kmgre.v2" and len(s.extra("mention_grids").grids) == len(s.heads)
        for h, t, grid in zip(s.heads, s.tails, s.extra("mention_grids").grids):
            n_h, n_t = len(doc.entities[h].mentions), len(doc.entities[t].mentions)
            assert grid.key_probability.shape == (n_h, n_t)
            assert grid.relation_probability.shape == (n_h, n_t, len(s.relation_ids))


def test_warm_start_fills_the_separate_key_encoder_from_the_sources_encoder(tiny_encoder_dir, tmp_path):
    """--init-from atlop must start the key encoder from atlop's trained encoder, as the extractor's (the paper
    initialises both PLMs alike): the grid's kmgre.v2 run copied 100 of 207 tensors and left it bare."""
    from engine.config import EncoderConfig
    from engine.model.checkpoint import build_model, save_checkpoint, warm_start
    from engine.model.methods import get_method

    encoder = EncoderConfig(name=str(tiny_encoder_dir))
    source = build_model("atlop", get_method("atlop").config_class(emb_size=32, block_size=8), encoder,
                         default_schema())
    with torch.no_grad():
        for p in source.model.encoder.parameters():
            if p.requires_grad:
                p.add_(0.25)  # as if trained: differs from the bare encoder a fresh key encoder loads
    save_checkpoint(source, tmp_path / "atlop")
    target = build_model("kmgre", get_method("kmgre").config_class(key_encoder="separate"), encoder, default_schema())
    copied = set(warm_start(target, tmp_path / "atlop"))
    own, src = target.model.state_dict(), source.model.state_dict()
    key_names = [k for k in own if k.startswith("classifier.key_classifier.encoder.")]
    frozen = "classifier.key_classifier.encoder.model.embeddings.word_embeddings.weight"
    assert key_names and frozen in own
    for name in key_names:
        origin = "encoder." + name.removeprefix("classifier.key_classifier.encoder.")
        if name == frozen:  # frozen word embeddings stay the installed ones, as for the main encoder
            assert name not in copied
            continue
        assert name in copied, name
        assert torch.equal(own[name], src[origin].to(own[name].dtype)), name
    shared = build_model("kmgre", get_method("kmgre").config_class(key_encoder="shared"), encoder, default_schema())
    assert not any("key_classifier.encoder" in k for k in warm_start(shared, tmp_path / "atlop"))


def test_training_features_keep_no_per_mention_pair_attention_products(tiny_batch):
    """Eq. 4's (n_mp, heads, L) products are recomputed in backward, not kept: kept, they were the bulk of the
    grid's 10 GB peak (two encoders in warm-up). Gradients are those of the plain computation."""
    from engine.model.backbone import AtlopBackbone

    torch.manual_seed(0)
    L, d, heads = int(tiny_batch.doc_length.max()), 8, 3
    states = torch.randn(tiny_batch.num_docs, L, d, requires_grad=True)
    attention = torch.rand(tiny_batch.mention_doc.shape[0], heads, L, requires_grad=True)
    index = build_mention_pairs(tiny_batch)
    n_mp = index.pair.shape[0]
    rep = AtlopBackbone()(EncodedBatch(states, attention), tiny_batch)
    kept: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        kept.append(t.numel() if t.dim() >= 2 and t.shape[0] == n_mp else 0)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        x = mention_pair_features(rep, index)
    assert sum(kept) < n_mp * heads * L  # not even one (n_mp, heads, L) tensor
    x.square().sum().backward()
    grads = states.grad.clone(), attention.grad.clone()
    states.grad, attention.grad = None, None
    joint = attention[index.head_mention] * attention[index.tail_mention]  # the plain computation
    joint = (joint / (joint.sum(-1, keepdim=True) + 1e-5)).mean(1)
    rep = AtlopBackbone()(EncodedBatch(states, attention), tiny_batch)
    plain = torch.cat([rep.mention[index.head_mention], rep.mention[index.tail_mention],
                       document_matmul(joint, index.doc, states)], dim=-1)
    assert torch.allclose(x, plain, atol=1e-6)
    plain.square().sum().backward()
    assert torch.allclose(grads[0], states.grad, atol=1e-5) and torch.allclose(grads[1], attention.grad, atol=1e-5)
