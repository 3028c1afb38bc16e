"""Windows over long documents: no mention is dropped, and one window equals the plain encoder."""
import torch

from engine.config import EncoderConfig
from engine.data.documents import Document, Entity, Fact, Mention
from engine.data.schema import default_schema
from engine.model.encoder import DocumentEncoder, load_hf
from engine.model.features import Tokenizer, collate, window_starts


def _encoder(path, **kw):
    tok, model = load_hf(str(path))
    model.eval()
    return Tokenizer(tok), DocumentEncoder(model, EncoderConfig(name=str(path), **kw))


def _long_document(n_sents: int = 160) -> Document:
    words = "the quick brown fox jumps over a lazy dog near the river bank today".split()
    sents = tuple(tuple(words) for _ in range(n_sents))
    last = n_sents - 1
    return Document("long", sents, (
        Entity((Mention("fox", 0, 3, 4, "MISC"), Mention("fox", last, 3, 4, "MISC"))),
        Entity((Mention("dog", last, 8, 9, "MISC"),)),
        Entity((Mention("river", 1, 11, 12, "LOC"),)),
    ), (Fact(0, 1, "P17"),))


def test_window_starts_cover_everything():
    assert window_starts(100, 510, 128) == [0]
    starts = window_starts(2000, 510, 128)
    assert starts[0] == 0 and starts[-1] == 2000 - 510
    covered = set()
    for s in starts:
        covered.update(range(s, s + 510))
    assert covered == set(range(2000))
    assert all(b - a <= 510 - 128 for a, b in zip(starts, starts[1:]))


def test_one_window_equals_plain_encoder(redocred_docs, tiny_encoder_dir):
    tok, enc = _encoder(tiny_encoder_dir)
    feats = [tok.featurize(redocred_docs[0], default_schema())]
    batch = collate(feats, tok, max_window=512, overlap=128, num_classes=97, with_labels=False)
    assert batch.window_ids.shape[0] == 1
    with torch.no_grad():
        encoded = enc(batch)  # fused attention + recomputed marker rows
        enc.model.config._attn_implementation = "eager"  # the reference: every attention map, computed plainly
        plain = enc.model(input_ids=batch.window_ids, attention_mask=batch.window_mask.long(), output_attentions=True)
    n = feats[0].length + 2
    assert torch.allclose(encoded.states[0, :n], plain.last_hidden_state[0, :n], atol=1e-6)
    m = 0
    att = plain.attentions[-1][0, :, feats[0].mention_pos[m], :n]
    assert torch.allclose(encoded.mention_attention[m, :, :n], att, atol=1e-6)
    assert enc.fast_attention_rows  # the fast path was the one tested


def test_long_document_keeps_mentions_near_its_end(tiny_encoder_dir):
    doc = _long_document()
    tok, enc = _encoder(tiny_encoder_dir)
    feats = tok.featurize(doc, default_schema())
    assert feats.length > 2000
    assert feats.mention_pos[1] > 2000  # the second "fox" mention sits near the end
    batch = collate([feats], tok, max_window=512, overlap=128, num_classes=97, with_labels=True)
    assert batch.window_ids.shape[0] >= 5
    assert sorted(set(batch.query_mention.tolist())) == list(range(4))  # every mention found its window
    with torch.no_grad():
        encoded = enc(batch)
    for m, pos in enumerate(feats.mention_pos):
        state = encoded.states[0, pos]
        assert state.abs().sum() > 0, f"mention {m} at {pos} was zeroed"
        row = encoded.mention_attention[m]  # (heads, L)
        assert torch.allclose(row.sum(-1), torch.ones(row.shape[0]), atol=1e-4)  # a real distribution
    # the late mention's state equals encoding the last window alone (it lies outside any overlap)
    last_start = window_starts(feats.length, 510, 128)[-1]
    pos = feats.mention_pos[1]
    assert pos - last_start > 128
    ids = [tok.cls_id] + list(feats.input_ids[last_start:last_start + 510]) + [tok.sep_id]
    with torch.no_grad():
        alone = enc.model(input_ids=torch.tensor([ids])).last_hidden_state[0, pos - last_start]
    assert torch.allclose(encoded.states[0, pos], alone, atol=1e-5)
    assert batch.labels is not None and batch.labels[:, 0].sum() == batch.labels.shape[0] - 1


def test_slots_within_groups_rank_each_element_in_its_group():
    from engine.model.encoder import slots_within_groups

    slot, width = slots_within_groups(torch.tensor([2, 0, 2, 2, 0, 1]), 4)
    assert slot.tolist() == [0, 0, 1, 2, 1, 0]
    assert width == 3
    empty, width = slots_within_groups(torch.zeros(0, dtype=torch.long), 2)
    assert empty.numel() == 0 and width == 1


def test_fast_attention_rows_equal_eager_attention_across_windows_and_documents(redocred_docs, tiny_encoder_dir):
    """Every (mention, window) query's recomputed row, in a batch of several documents and windows."""
    tok, enc = _encoder(tiny_encoder_dir)
    feats = [tok.featurize(_long_document(40), default_schema()), tok.featurize(redocred_docs[0], default_schema())]
    batch = collate(feats, tok, max_window=128, overlap=32, num_classes=97, with_labels=False)
    assert batch.window_ids.shape[0] > 3 and len(set(batch.query_window.tolist())) > 3
    with torch.no_grad():
        out = enc.model(input_ids=batch.window_ids, attention_mask=batch.window_mask.long(), output_hidden_states=True)
        fast = enc._attention_rows(out.hidden_states[-2], batch)  # (n_queries, heads, win_len)
        enc.model.config._attn_implementation = "eager"
        plain = enc.model(input_ids=batch.window_ids, attention_mask=batch.window_mask.long(), output_attentions=True)
    reference = plain.attentions[-1][batch.query_window, :, batch.query_local, :]
    valid = batch.window_mask[batch.query_window][:, None, :].expand_as(reference)
    assert torch.allclose(fast[valid], reference[valid], atol=1e-6)
