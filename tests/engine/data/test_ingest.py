"""engine.data.ingest: spaCy text -> Document, type mapping, clustering rules, file decoding errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

spacy = pytest.importorskip("spacy")

from engine.data.documents import Document, Mention  # noqa: E402
from engine.data.ingest import (  # noqa: E402
    _nlp,
    _sentences_and_mentions,
    cluster_mentions,
    ingest_bytes,
    ingest_text,
    map_entity_type,
    normalise_name,
)
from engine.errors import InputFileError  # noqa: E402
from tests.paths import ROOT  # noqa: E402


def groups(doc: Document) -> list[list[str]]:
    """Mention names per entity, in entity order: what the clustering assertions compare."""
    return [[m.name for m in e.mentions] for e in doc.entities]


def entity_of(doc: Document, name: str, sent_id: int) -> int:
    """Index of the entity holding the mention `name` in sentence `sent_id`."""
    for i, e in enumerate(doc.entities):
        if any(m.name == name and m.sent_id == sent_id for m in e.mentions):
            return i
    raise AssertionError(f"no mention {name!r} in sentence {sent_id}: {groups(doc)}")


def mention(name: str, etype: str, sent_id: int = 0) -> Mention:
    return Mention(name=name, sent_id=sent_id, start=0, end=len(name.split()), type=etype)


# ---------------------------------------------------------------- module shape

def test_module_imports_without_spacy() -> None:
    code = ("import sys; sys.modules['spacy'] = None; import engine.data.ingest; "
            "assert 'spacy' not in dir(engine.data.ingest)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_sentences_tokens_and_spans() -> None:
    doc = ingest_text("Tom Hanks visited Berlin.  It was cold.\n\n\n  Hanks left in 2019.\n", title="t")
    assert doc.title == "t" and doc.facts is None
    assert doc.sents[0] == ("Tom", "Hanks", "visited", "Berlin", ".")
    assert len(doc.sents) == 3
    assert all(tok.strip() for sent in doc.sents for tok in sent)  # no whitespace tokens
    for e in doc.entities:
        for m in e.mentions:
            assert " ".join(doc.sents[m.sent_id][m.start:m.end]) == m.name


# ---------------------------------------------------------------- type mapping

@pytest.mark.parametrize(
    ("label", "expected"),
    [("PERSON", "PER"), ("ORG", "ORG"), ("NORP", "MISC"), ("GPE", "LOC"), ("LOC", "LOC"), ("FAC", "LOC"),
     ("DATE", "TIME"), ("TIME", "TIME"), ("CARDINAL", "NUM"), ("QUANTITY", "NUM"), ("MONEY", "NUM"),
     ("PERCENT", "NUM"), ("ORDINAL", "NUM"), ("EVENT", "MISC"), ("WORK_OF_ART", "MISC"), ("LAW", "MISC"),
     ("SOMETHING_NEW", "MISC")],
)
def test_map_entity_type(label: str, expected: str) -> None:
    assert map_entity_type(label) == expected


def test_types_in_ingested_text() -> None:
    doc = ingest_text("Tom Hanks joined Microsoft on Monday. It cost 20 dollars. Germans in Berlin cheered.")
    types = {e.name: e.type for e in doc.entities}
    assert types == {"Tom Hanks": "PER", "Microsoft": "ORG", "Monday": "TIME", "20 dollars": "NUM",
                     "Germans": "MISC", "Berlin": "LOC"}


# ---------------------------------------------------------------- clustering rules

def test_rule_same_name_normalised() -> None:
    doc = ingest_text(
        "The United Nations met in Geneva. Officials of the United Nations' agencies spoke. "
        "United  Nations staff left. Microsoft hired engineers. Microsoft's revenue grew. MICROSOFT shares rose."
    )
    assert groups(doc) == [
        ["The United Nations", "the United Nations'", "United  Nations"],
        ["Geneva"],
        ["Microsoft", "Microsoft", "MICROSOFT"],
    ]


def test_normalise_name() -> None:
    assert normalise_name("The  U.S.'s") == "us"
    assert normalise_name("the Beatles'") == "beatles"
    assert normalise_name("Theodore") == "theodore"  # only the word "the" is dropped


def test_rule_name_part_surname_and_first_name() -> None:
    doc = ingest_text("Tom Hanks visited Ohio. Hanks spoke at length. Hilary Clinton visited Ohio. "
                      "Clinton spoke at length. Tom agreed.")
    assert entity_of(doc, "Clinton", 3) == entity_of(doc, "Hilary Clinton", 2)
    assert entity_of(doc, "Tom", 4) == entity_of(doc, "Tom Hanks", 0)
    assert entity_of(doc, "Ohio", 0) == entity_of(doc, "Ohio", 2)


def test_rule_name_part_needs_one_earlier_full_name() -> None:
    ambiguous = ingest_text("Jordan Lee met Sam Jordan in Jordan. Jordan was hot.")
    assert groups(ambiguous) == [["Jordan Lee"], ["Sam Jordan"], ["Jordan"], ["Jordan"]]
    later = ingest_text("Kennedy spoke in Boston. John Kennedy was president.")
    assert entity_of(later, "Kennedy", 0) != entity_of(later, "John Kennedy", 1)


def test_rule_acronym_either_order() -> None:
    after = ingest_text("The National Aeronautics and Space Administration launched a rocket in Florida. "
                        "NASA said the launch went well.")
    assert groups(after)[0] == ["The National Aeronautics and Space Administration", "NASA"]
    before = ingest_text("NASA launched a rocket in Florida. "
                         "The National Aeronautics and Space Administration said it went well.")
    assert groups(before)[0] == ["NASA", "The National Aeronautics and Space Administration"]


def test_rule_acronym_unambiguous_only() -> None:
    entities = cluster_mentions([mention("Bank of America", "ORG"), mention("British Airways", "ORG"),
                                 mention("BA", "ORG")])
    assert [[m.name for m in e.mentions] for e in entities] == [["Bank of America"], ["British Airways"], ["BA"]]


def test_rule_compatible_types() -> None:
    doc = ingest_text("Jordan Peterson visited Jordan. Jordan welcomed Jordan Peterson.")
    assert entity_of(doc, "Jordan", 0) != entity_of(doc, "Jordan Peterson", 0)  # LOC never joins PER
    names = [mention("Washington", "PER"), mention("Washington", "LOC"), mention("UN", "LOC"),
             mention("United Nations", "ORG"), mention("1990", "TIME"), mention("1990", "NUM")]
    assert [[m.name for m in e.mentions] for e in cluster_mentions(names)] == [
        ["Washington"], ["Washington"], ["UN", "United Nations"], ["1990"], ["1990"]]


def test_entity_type_is_majority_first_wins_ties() -> None:
    majority, tie = cluster_mentions([mention("Apple", "ORG"), mention("Apple", "MISC"), mention("Apple", "MISC"),
                                      mention("Nile", "LOC"), mention("Nile", "MISC")])
    assert majority.type == "MISC" and {m.type for m in majority.mentions} == {"MISC"}
    assert tie.type == "LOC" and {m.type for m in tie.mentions} == {"LOC"}


def test_entities_in_order_of_first_appearance() -> None:
    doc = ingest_text("Ohio welcomed Hilary Clinton. Clinton spoke in Ohio.")
    assert groups(doc) == [["Ohio", "Ohio"], ["Hilary Clinton", "Clinton"]]


# ---------------------------------------------------------------- sentence boundaries and length

def test_entity_across_sentences_is_clipped_to_its_larger_part() -> None:
    from spacy.tokens import Doc

    words = ["He", "met", "New", "York", "Times", "staff", "."]
    doc = Doc(_nlp().vocab, words=words, sent_starts=[True, False, False, True, False, False, False],
              ents=["O", "O", "B-ORG", "I-ORG", "I-ORG", "O", "O"])
    sents, mentions = _sentences_and_mentions(iter([doc]))
    assert sents == [("He", "met", "New"), ("York", "Times", "staff", ".")]
    assert mentions == [Mention(name="York Times", sent_id=1, start=0, end=2, type="ORG")]


def test_long_text_keeps_every_sentence() -> None:
    paragraph = ("Marie Curie was born in Warsaw in 1867. She studied physics in Paris with great care. "
                 "Curie won two Nobel Prizes for her work on radioactivity. Her husband Pierre Curie shared "
                 "the first prize with her. The University of Paris later gave her a chair. ")
    one = ingest_text(paragraph)
    copies = 3000 // len(paragraph.split()) + 1
    doc = ingest_text("\n\n".join([paragraph] * copies))
    assert doc.num_tokens > 3000
    assert len(doc.sents) == copies * len(one.sents)
    assert doc.sents == one.sents * copies
    assert len(doc.entities) == len(one.entities)  # repeats merge by name


def test_paragraph_longer_than_max_length(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_nlp(), "max_length", 500)
    doc = ingest_text("Tom Hanks visited Berlin. " * 40)
    assert len(doc.sents) == 40


# ---------------------------------------------------------------- bytes and errors

def test_ingest_bytes_utf8_with_bom_title_is_stem() -> None:
    doc = ingest_bytes("\ufeffCafé Müller opened in Berlin.".encode("utf-8"), filename="uploads/cafe.txt")
    assert doc.title == "cafe"
    assert doc.sents[0][0] == "Café"


def test_ingest_bytes_rejects_latin1_naming_the_file() -> None:
    with pytest.raises(InputFileError) as info:
        ingest_bytes("Café in Paris.".encode("latin-1"), filename="notes.txt")
    message = str(info.value)
    assert "notes.txt" in message and "UTF-8" in message and "byte 3" in message


@pytest.mark.parametrize("data", [b"", b"  \n\t\n", "\ufeff".encode("utf-8")])
def test_ingest_bytes_rejects_empty(data: bytes) -> None:
    with pytest.raises(InputFileError, match="empty.txt"):
        ingest_bytes(data, filename="empty.txt")


def test_ingest_text_rejects_empty() -> None:
    with pytest.raises(InputFileError, match="no text"):
        ingest_text(" \n ", title="blank")


def test_alias_linking_surname_of_any_type_joins_the_full_name() -> None:
    names = [mention("Marie Curie", "PER"), mention("Paris", "LOC"), mention("Curie", "ORG")]
    linked = cluster_mentions(names)
    assert [[m.name for m in e.mentions] for e in linked] == [["Marie Curie", "Curie"], ["Paris"]]
    assert linked[0].type == "PER"  # the first mention wins the tie
    assert len(cluster_mentions(names, alias_linking=False)) == 3
    two = [mention("Marie Curie", "PER"), mention("Pierre Curie", "PER"), mention("Curie", "ORG")]
    assert len(cluster_mentions(two)) == 3  # ambiguous: left alone


def test_alias_linking_repeated_head_joins_the_longer_name() -> None:
    names = [mention("Yorkshire Ripper", "MISC"), mention("Ripper", "ORG"), mention("Yorkshire", "LOC")]
    assert [[m.name for m in e.mentions] for e in cluster_mentions(names)] == [
        ["Yorkshire Ripper", "Ripper"], ["Yorkshire"]]
    assert len(cluster_mentions(names, alias_linking=False)) == 3
