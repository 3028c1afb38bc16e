"""The vectorised backbone equals a plain per-entity, per-pair loop on random inputs."""
import torch

from engine.data.schema import default_schema
from engine.model.backbone import AtlopBackbone
from engine.model.encoder import EncodedBatch
from engine.model.features import Tokenizer, collate


def _naive(states, mention_att, batch):
    """ATLOP written the slow, obvious way."""
    out_entity, out_context = [], []
    n_docs = batch.num_docs
    ent_offset = 0
    for d in range(n_docs):
        ents = [e for e in range(batch.entity_doc.shape[0]) if int(batch.entity_doc[e]) == d]
        emb, att = {}, {}
        for e in ents:
            ms = [int(m) for m, ok in zip(batch.entity_mentions[e], batch.entity_mention_mask[e]) if ok]
            vecs = torch.stack([states[d, int(batch.mention_pos[m])] for m in ms])
            emb[e] = torch.logsumexp(vecs, dim=0)
            att[e] = torch.stack([mention_att[m] for m in ms]).mean(0)
            out_entity.append(emb[e])
        for h in ents:
            for t in ents:
                if h == t:
                    continue
                q = (att[h] * att[t]).mean(0)
                q = q / (q.sum() + 1e-5)
                out_context.append(q @ states[d])
        ent_offset += len(ents)
    return torch.stack(out_entity), torch.stack(out_context)


def test_vectorised_backbone_equals_loop(redocred_docs, tiny_encoder_dir):
    from transformers import AutoTokenizer

    tok = Tokenizer(AutoTokenizer.from_pretrained(str(tiny_encoder_dir)))
    schema = default_schema()
    feats = [tok.featurize(d, schema) for d in redocred_docs[:3]]
    batch = collate(feats, tok, max_window=512, overlap=128, num_classes=schema.num_classes, with_labels=False)
    torch.manual_seed(0)
    L = int(batch.doc_length.max())
    states = torch.randn(batch.num_docs, L, 16)
    mention_att = torch.rand(batch.mention_doc.shape[0], 3, L)
    rep = AtlopBackbone()(EncodedBatch(states, mention_att), batch)
    entity, context = _naive(states, mention_att, batch)
    assert torch.allclose(rep.entity, entity, atol=1e-5)
    assert torch.allclose(rep.context, context, atol=1e-5)
    assert torch.equal(rep.head, rep.entity[batch.pair_head])
    assert rep.context.shape == (sum(f.num_entities * (f.num_entities - 1) for f in feats), 16)


def test_chunked_bilinear_logits_equal_full_outer_product():
    """Inference computes logits chunk by chunk without the whole outer product; training keeps it."""
    from engine.model.grouped_bilinear import GroupedBilinear

    torch.manual_seed(0)
    bilinear = GroupedBilinear(emb_size=8, block_size=4, num_classes=5)
    z_head, z_tail = torch.randn(150, 8), torch.randn(150, 8)  # more pairs than one chunk of 64
    full = bilinear.classifier(bilinear.outer(z_head, z_tail))
    with torch.no_grad():
        out = bilinear(z_head, z_tail)
        kept = bilinear(z_head, z_tail, keep_pair=True)
        empty = bilinear(z_head[:0], z_tail[:0])
    assert out.pair_embedding is None and kept.pair_embedding is not None
    assert torch.allclose(out.logits, full, atol=1e-5)
    assert torch.allclose(kept.logits, full, atol=1e-5)
    assert empty.logits.shape == (0, 5)
    assert bilinear(z_head, z_tail).pair_embedding is not None  # training path materialises it for contrastive losses
    assert torch.equal(bilinear.broadcast_outer(z_head, z_tail), bilinear.outer(z_head, z_tail))


def test_mean_head_product_equals_gather_and_mean_with_gradients():
    from engine.model.backbone import mean_head_product

    torch.manual_seed(0)
    attention = torch.rand(6, 4, 9, requires_grad=True)  # (n_e, heads, L)
    head, tail = torch.tensor([0, 1, 2, 5, 3]), torch.tensor([1, 0, 5, 2, 4])
    expected = (attention[head] * attention[tail]).mean(1)
    (expected_grad,) = torch.autograd.grad(expected.square().sum(), attention)
    got = mean_head_product(attention, head, tail)
    (got_grad,) = torch.autograd.grad(got.square().sum(), attention)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.allclose(got_grad, expected_grad, atol=1e-6)
