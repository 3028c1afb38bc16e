"""Document text with entities highlighted, as HTML where every piece of user text is escaped.

The markup is built here from fixed tags and `html.escape`d tokens only, then shown with `st.html`
(which sanitises again with DOMPurify and never runs scripts): a `<script>` token shows as text."""
from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .colors import KEY_BORDER, entity_type_color

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.data.documents import Document

MentionKey = tuple[int, int]  # (entity index, mention index within the entity)

_NO_SPACE_BEFORE = frozenset({",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'s", "'", "n't", "’s"})
_NO_SPACE_AFTER = frozenset({"(", "[", "{", "$", "#"})
_MARKDOWN_SPECIALS = frozenset("\\`*_[]|:~$&#")
_LEADING_BLOCK = re.compile(r"^\s*(?:[-+=]|\d+[.)])")
WORD_JOINER = "\u2060"  # invisible and never a line break: splits what Markdown would turn into a link
# GFM autolinks bare "http(s)://...", "www...." and e-mail addresses, whatever their backslash escapes (they are
# resolved first); a word joiner after the scheme's colon, inside "www.", and before "@" breaks each of them.
_AUTOLINK_SEAMS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def escape(text: Any) -> str:
    """HTML-escape anything for markup; quotes too, so it is safe inside attributes."""
    return html.escape(str(text), quote=True)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, an ellipsis marking a cut: what a page draws of one piece of user text.
    (engine.errors.clip does the same for messages; components never import the engine, tests/app/test_layers.py.)"""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plotly_text(text: Any, limit: int | None = None) -> str:
    """Text for plotly labels and hovers: plotly reads <b>, <a> and friends as markup, so escape &, <, >
    (plotly decodes exactly those entities back); long text is cut with an ellipsis."""
    value = str(text)
    return html.escape(value if limit is None else clip(value, limit), quote=False)


DRAW_CHARS = 2000  # the most of one piece of user text a page draws (stored text is bounded at validation too)


def markdown_text(text: Any, limit: int = DRAW_CHARS) -> str:
    """Text for st.markdown, st.caption and messages: Markdown, Streamlit directives (`:red[..]`, `$..$`)
    and HTML are neutralised (inline specials backslash-escaped, '<' and '>' as entities, a leading list
    or heading marker escaped, newlines folded), so names like `*x*` or `[a](javascript:..)` show literally;
    bare URLs and e-mail addresses get an invisible word joiner, so they show as text, never as live links."""
    value = " ".join(clip(str(text), limit).splitlines())
    out = []
    for ch in value:
        if ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _MARKDOWN_SPECIALS:
            out.append("\\" + ch)
        else:
            out.append(ch)
    escaped = "".join(out)
    lead = _LEADING_BLOCK.match(escaped)
    if lead:  # "- x", "+ x", "1. x", "#x", "> x" would start a list, heading or quote
        escaped = escaped[: lead.end() - 1] + "\\" + escaped[lead.end() - 1:]
    return _AUTOLINK_SEAMS.sub(WORD_JOINER, escaped)


def detokenize(tokens: Sequence[str]) -> list[tuple[str, str]]:
    """(separator, token) pairs: a space between tokens except around punctuation, as the text read."""
    out: list[tuple[str, str]] = []
    for i, token in enumerate(tokens):
        sep = "" if i == 0 or token in _NO_SPACE_BEFORE or tokens[i - 1] in _NO_SPACE_AFTER else " "
        out.append((sep, token))
    return out


@dataclass(frozen=True)
class _Span:
    key: MentionKey
    start: int
    end: int


def _spans_by_sentence(doc: Document, shown: set[int] | None) -> dict[int, list[_Span]]:
    """Mentions per sentence; nested or overlapping mentions keep the shorter one on shared tokens."""
    spans: dict[int, list[_Span]] = {}
    for e, entity in enumerate(doc.entities):
        if shown is not None and e not in shown:
            continue
        for m, mention in enumerate(entity.mentions):
            spans.setdefault(mention.sent_id, []).append(_Span((e, m), mention.start, mention.end))
    return spans


def _token_owner(length: int, spans: list[_Span], key_mentions: set[MentionKey]) -> list[MentionKey | None]:
    """Per token, the mention that paints it: key mentions first, then the shortest span."""
    owner: list[MentionKey | None] = [None] * length
    rank: list[tuple[int, int]] = [(2, 0)] * length
    for span in spans:
        r = (0 if span.key in key_mentions else 1, span.end - span.start)
        for i in range(max(span.start, 0), min(span.end, length)):
            if r < rank[i]:
                owner[i], rank[i] = span.key, r
    return owner


def highlight_html(doc: Document, *, entity_colors: Mapping[int, str] | None = None,
                   key_mentions: Iterable[MentionKey] = (), sentences: Iterable[int] | None = None,
                   only_colored: bool = False) -> str:
    """The document (or some sentences) as HTML with each mention marked.

    entity_colors: background per entity index (others by entity type, or unmarked with only_colored);
    key_mentions: mentions drawn with a red outline (KMGRE key mentions, a suggestion's mentions)."""
    colors = dict(entity_colors or {})
    keys = set(key_mentions)
    shown = set(colors) if only_colored else None
    spans = _spans_by_sentence(doc, shown)
    wanted = range(len(doc.sents)) if sentences is None else sorted(set(sentences))
    paragraphs = []
    for s in wanted:
        if not 0 <= s < len(doc.sents):
            continue
        tokens = doc.sents[s]
        owner = _token_owner(len(tokens), spans.get(s, []), keys)
        parts = [f'<span style="color:#6b7280;font-size:0.75em">[{s}]</span> ']
        i = 0
        pairs = detokenize(tokens)
        while i < len(tokens):
            key = owner[i]
            j = i + 1
            while j < len(tokens) and key is not None and owner[j] == key:
                j += 1
            sep = pairs[i][0]
            inner = escape(pairs[i][1]) + "".join(escape(p[0]) + escape(p[1]) for p in pairs[i + 1:j])
            parts.append(sep + (inner if key is None else _mark(doc, key, inner, colors, key in keys)))
            i = j
        paragraphs.append('<p style="margin:0 0 0.45em 0;line-height:1.9">' + "".join(parts) + "</p>")
    return '<div class="docre-text">' + "".join(paragraphs) + "</div>"


def _mark(doc: Document, key: MentionKey, inner: str, colors: Mapping[int, str], is_key: bool) -> str:
    e, _ = key
    entity = doc.entities[e]
    color = colors.get(e, entity_type_color(entity.type))
    outline = f";outline:2px solid {KEY_BORDER}" if is_key else ""
    title = escape(f"E{e} {entity.name} ({entity.type})")
    return (f'<mark style="background:{color};padding:0 2px;border-radius:3px{outline}" title="{title}">'
            f'{inner}<sup style="font-size:0.65em;color:#374151">{e}</sup></mark>')


def mention_rows(doc: Document, entities: Sequence[int], roles: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per mention of the given entities, for a table (tables show text literally)."""
    rows = []
    for k, e in enumerate(entities):
        for m, mention in enumerate(doc.entities[e].mentions):
            rows.append({"role": roles[k] if roles else "", "entity": e, "mention": m, "name": mention.name,
                         "type": mention.type, "sentence": mention.sent_id,
                         "tokens": f"{mention.start}-{mention.end}"})
    return rows


def entity_label(doc: Document, e: int, limit: int = 28) -> str:
    """'3 · Paris (LOC)': the plain label of an entity for selects and axes (not escaped)."""
    entity = doc.entities[e]
    name = entity.name if len(entity.name) <= limit else entity.name[: limit - 1] + "…"
    return f"{e} · {name} ({entity.type})"
