"""The rules a DocRED JSON document must satisfy, checked on the raw JSON before any dataclass is built.

Kept apart from `documents.py` so the rules read as one list. A fault is located the way the
`DocumentProblem` prints it: `field[index]` is the JSON path of the value at fault. `index` is set
when that value is an element of a list (a sentence, entity, mention, label); when it is a key of an
object, `field` ends with the key and `index` is None (e.g. `vertexSet[3][0].pos`, `labels[5].h`)."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from engine.data.json_input import OversizedInt
from engine.data.schema import RelationSchema
from engine.data.text_rules import TextLimits, text_problem, value_problems

REQUIRED_KEYS: tuple[str, ...] = ("title", "sents", "vertexSet")


class Fault(Exception):
    """One rule broken, with the location inside the document; the caller adds file, index and title."""

    def __init__(self, field: str, index: int | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.index = index
        self.message = message


def json_kind(value: Any) -> str:
    """JSON's name for a Python value, so messages speak the file's language."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, OversizedInt):
        return repr(value)
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_document(obj: Any, *, schema: RelationSchema, entity_types: Collection[str],
                   limits: TextLimits | None = None) -> None:
    """Raise `Fault` at the first broken rule, so a bad document never becomes a `Document`. Every string is
    bounded (`limits`, from the settings by default) and free of NUL characters."""
    limits = limits or TextLimits.from_settings()
    if not isinstance(obj, dict):
        raise Fault("document", None, f"expected a JSON object with title, sents and vertexSet, got {json_kind(obj)}")
    for key in REQUIRED_KEYS:
        if key not in obj:
            raise Fault(key, None, f"missing key {key!r}; a DocRED document needs {', '.join(REQUIRED_KEYS)}")
    if not isinstance(obj["title"], str):
        raise Fault("title", None, f"expected a string (it may be empty), got {json_kind(obj['title'])}")
    _check_text(obj["title"], "title", None, "title", limits)
    sent_lengths = _check_sents(obj["sents"], limits)
    num_entities = _check_vertex_set(obj["vertexSet"], sent_lengths, entity_types)
    if "labels" in obj:
        _check_labels(obj["labels"], num_entities, len(sent_lengths), schema)
    rest = {key: value for key, value in obj.items() if key not in ("title", "sents")}  # checked above
    for where, problem in value_problems(rest, "", limits):  # mention names, extra keys: every other string
        raise Fault(where, None, problem)


def _check_text(value: str, field: str, index: int | None, kind: str, limits: TextLimits) -> None:
    problem = text_problem(value, kind, limits)
    if problem is not None:
        raise Fault(field, index, problem)


def _check_sents(sents: Any, limits: TextLimits) -> list[int]:
    """Sentences are lists of string tokens and the text is not empty; returns each sentence's length."""
    if not isinstance(sents, list):
        raise Fault("sents", None, f"expected a list of sentences (lists of tokens), got {json_kind(sents)}")
    for i, sent in enumerate(sents):
        if not isinstance(sent, list):
            raise Fault("sents", i, f"expected a sentence as a list of string tokens, got {json_kind(sent)}")
        for j, token in enumerate(sent):
            if not isinstance(token, str):
                raise Fault(f"sents[{i}]", j, f"expected a token string, got {json_kind(token)}")
            _check_text(token, f"sents[{i}]", j, "token", limits)
    if not any(sents):
        raise Fault("sents", None, "the document has no text: no sentences, or only empty ones")
    return [len(s) for s in sents]


def _check_vertex_set(vertex_set: Any, sent_lengths: list[int], entity_types: Collection[str]) -> int:
    """Every entity has mentions; every mention lies inside a real sentence and has a known type."""
    if not isinstance(vertex_set, list):
        raise Fault("vertexSet", None, f"expected a list of entities (lists of mentions), got {json_kind(vertex_set)}")
    for i, entity in enumerate(vertex_set):
        if not isinstance(entity, list):
            raise Fault("vertexSet", i, f"expected an entity as a list of mentions, got {json_kind(entity)}")
        if not entity:
            raise Fault("vertexSet", i, "entity has no mention; every entity needs at least one, or remove it")
        for j, mention in enumerate(entity):
            _check_mention(mention, f"vertexSet[{i}]", j, sent_lengths, entity_types)
    return len(vertex_set)


def _check_mention(
    mention: Any, where: str, j: int, sent_lengths: list[int], entity_types: Collection[str]
) -> None:
    if not isinstance(mention, dict):
        raise Fault(where, j, f"expected a mention object with name, sent_id, pos, type, got {json_kind(mention)}")
    path = f"{where}[{j}]"
    for key in ("name", "sent_id", "pos", "type"):
        if key not in mention:
            raise Fault(path, None, f"mention is missing key {key!r}; a mention needs name, sent_id, pos and type")
    if not isinstance(mention["name"], str):
        raise Fault(f"{path}.name", None, f"expected a string, got {json_kind(mention['name'])}")
    if mention["type"] not in entity_types:
        raise Fault(
            f"{path}.type", None, f"unknown entity type {mention['type']!r}; use one of {', '.join(entity_types)}"
        )
    sent_id = mention["sent_id"]
    if not _is_int(sent_id) or not 0 <= sent_id < len(sent_lengths):
        raise Fault(
            f"{path}.sent_id", None,
            f"sent_id {sent_id!r} is not a sentence of this document "
            f"(it has {len(sent_lengths)}: 0..{len(sent_lengths) - 1})",
        )
    pos = mention["pos"]
    if not (isinstance(pos, list) and len(pos) == 2 and all(_is_int(p) for p in pos)):
        raise Fault(f"{path}.pos", None, f"expected [start, end] token offsets (two integers), got {pos!r}")
    start, end = pos
    length = sent_lengths[sent_id]
    if not 0 <= start < end <= length:
        raise Fault(
            f"{path}.pos", None,
            f"span {pos!r} is outside sentence {sent_id}, which has {length} tokens; "
            f"need 0 <= start < end <= {length} (end exclusive)",
        )


def _check_labels(labels: Any, num_entities: int, num_sents: int, schema: RelationSchema) -> None:
    """Labels point at two different entities, name a known relation, cite real sentences, and occur once."""
    if not isinstance(labels, list):
        raise Fault("labels", None, f"expected a list of labels, got {json_kind(labels)}")
    seen: dict[tuple[int, int, str], int] = {}
    for k, label in enumerate(labels):
        if not isinstance(label, dict):
            raise Fault("labels", k, f"expected a label object with h, t, r, evidence, got {json_kind(label)}")
        for key in ("h", "t", "r"):
            if key not in label:
                raise Fault("labels", k, f"label is missing key {key!r}; a label needs h, t and r")
        for key in ("h", "t"):
            value = label[key]
            if not _is_int(value) or not 0 <= value < num_entities:
                raise Fault(
                    f"labels[{k}].{key}", None,
                    f"{value!r} is not an entity of this document (vertexSet has {num_entities} entities: "
                    f"0..{num_entities - 1})",
                )
        h, t, r = label["h"], label["t"], label["r"]
        if h == t:
            raise Fault("labels", k, f"head and tail are the same entity ({h}); DocRED relates two different entities")
        if not isinstance(r, str) or r not in schema:
            raise Fault(
                f"labels[{k}].r", None,
                f"unknown relation id {r!r}; the schema has {schema.num_relations} ids "
                f"like {', '.join(schema.relation_ids[:3])}",
            )
        evidence = label.get("evidence", [])
        if not isinstance(evidence, list):
            raise Fault(f"labels[{k}].evidence", None, f"expected a list of sentence ids, got {json_kind(evidence)}")
        for e, sent_id in enumerate(evidence):
            if not _is_int(sent_id) or not 0 <= sent_id < num_sents:
                raise Fault(
                    f"labels[{k}].evidence", e,
                    f"{sent_id!r} is not a sentence of this document (it has {num_sents}: 0..{num_sents - 1})",
                )
        if (h, t, r) in seen:
            raise Fault(
                "labels", k, f"duplicate label (h={h}, t={t}, r={r!r}), first at labels[{seen[h, t, r]}]; remove one"
            )
        seen[h, t, r] = k


def _name_key(text: str) -> str:
    """How a mention's name is compared with its tokens: case-folded, with all whitespace removed. DocRED's
    names are the original text and its tokens are split on punctuation ("February 26, 2009" against
    "February 26 , 2009", "Rougon-Macquart" against "Rougon - Macquart"): Re-DocRED's dev_revised.json has
    284 of 13,189 mentions that differ exactly and 268 with case and runs of spaces ignored, all of them such
    splits; with every space removed 3 remain, each a real fault (a list number glued on: '7.\\n100 years')."""
    return "".join(text.casefold().split())


def mention_name_faults(obj: dict[str, Any]) -> list[Fault]:
    """One Fault per mention whose `name` is not the text of its tokens sents[sent_id][pos[0]:pos[1]]. These
    are warnings, not rejections: the model reads the tokens, but a reviewer reads the name, so a name that
    says something else is a labelling error worth showing. Call on a document check_document accepted."""
    faults = []
    for i, entity in enumerate(obj["vertexSet"]):
        for j, mention in enumerate(entity):
            start, end = mention["pos"]
            span = " ".join(obj["sents"][mention["sent_id"]][start:end])
            if _name_key(mention["name"]) != _name_key(span):
                faults.append(Fault(f"vertexSet[{i}]", j, f"entity {i}, mention {j}: name {mention['name']!r} differs "
                                                           f"from its tokens {span!r} (sentence {mention['sent_id']}, "
                                                           f"pos {[start, end]}); the tokens are what the model reads"))
    return faults
