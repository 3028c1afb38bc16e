"""`python -m engine predict`: relations for a corpus of any size, streamed in windows (engine.cli.corpus_run).

Output by suffix: `.jsonl` gets one line per document, {"title", "predictions": [{h_idx, t_idx, h_name, t_name,
r, score}]}, written as windows finish (so `--resume` can continue it); `.json` gets the DocRED result list
(each row also naming its head and tail: the entity's first mention, as DocRED names it), written once every
document is scored. Under `accelerate launch` each process scores
every N-th window and rank 0 merges the parts in input order."""
from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.cli.background_ingest import TextIngestion
from engine.cli.common import PRECISION_HELP, check_output_file, stream_documents
from engine.cli.corpus_run import DEFAULT_WINDOW, check_window, merged_lines, remove_parts, score_corpus, work_path
from engine.data.documents import Document
from engine.data.pair_scores import PairScores
from engine.errors import DocumentTooLargeError
from engine.serve.native_memory import bound_kernel_caches
from engine.serve.shards import current_shard
from engine.settings import PRECISIONS

log = logging.getLogger("engine")


def prediction_line(scores: PairScores, doc: Document) -> str:
    """One document's decoded triples with their margins (rounded as the DocRED result format has them), each
    naming its head and tail, so a record reads without the document beside it."""
    names = [entity.name for entity in doc.entities]
    preds = [{"h_idx": h, "t_idx": t, "h_name": names[h], "t_name": names[t], "r": r, "score": round(m, 4)}
             for h, t, r, m in scores.predicted_triples()]
    return json.dumps({"title": scores.title, "predictions": preds}, ensure_ascii=False)


def result_rows(lines: Iterable[str]) -> Iterator[dict]:
    """The DocRED result rows {title, h_idx, t_idx, r, score} of prediction lines, in order."""
    for line in lines:
        doc = json.loads(line)
        for pred in doc["predictions"]:
            yield {"title": doc["title"], **pred}


def write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Write beside `path` and rename, so a crash never leaves a half-written final output."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(chunk)
    os.replace(tmp, path)


def result_list_text(rows: Iterable[dict]) -> Iterator[str]:
    """`json.dumps(rows, indent=1, ensure_ascii=False)` one row at a time (the .json format predict always wrote)."""
    first = True
    for row in rows:
        body = json.dumps(row, indent=1, ensure_ascii=False).replace("\n", "\n ")
        yield ("[\n " if first else ",\n ") + body
        first = False
    yield "[]" if first else "\n]"


def json_array_text(lines: Iterable[str]) -> Iterator[str]:
    """`json.dumps(list)` of already encoded elements (the --scores-output .json format)."""
    yield "["
    for k, line in enumerate(lines):
        yield (", " if k else "") + line
    yield "]"


def finish_output(target: Path, world: int, window: int, predictions: bool) -> int:
    """Rank 0: the parts merged into `target` in its format, the parts removed; the number of relations."""
    count = 0

    def counted(lines: Iterable[str]) -> Iterator[str]:
        nonlocal count
        for line in lines:
            count += len(json.loads(line)["predictions"]) if predictions else 0
            yield line

    lines = counted(merged_lines(target, world, window))
    if target.suffix.lower() == ".jsonl":
        write_atomically(target, (line + "\n" for line in lines))
    elif predictions:
        write_atomically(target, result_list_text(result_rows(lines)))
    else:
        write_atomically(target, json_array_text(lines))
    remove_parts(target, world)
    return count


def relations_in(path: Path) -> int:
    with path.open(encoding="utf-8") as fh:
        return sum(len(json.loads(line)["predictions"]) for line in fh if line.strip())


def cmd_predict(args: argparse.Namespace) -> int:
    check_output_file(args.output)
    check_output_file(args.scores_output, "--scores-output")
    check_window(args.window)
    text_input = Path(args.input).suffix.lower() == ".txt"
    # spaCy's start-up overlaps torch's and the model's (engine.cli.background_ingest): fork before torch loads
    ingestion = TextIngestion(args.input).start() if text_input else None
    from engine.serve.ensemble import load_predictor  # noqa: PLC0415 - torch only when a model runs

    bound_kernel_caches()  # before the first matmul: memory flat over a corpus (engine.serve.native_memory)
    shard = current_shard()
    predictor = load_predictor(args.checkpoint, shard.device(args.device), precision=args.precision,
                               allow_download=args.allow_download)
    targets = [Path(args.output)] + ([Path(args.scores_output)] if args.scores_output else [])
    ingested: list[Document] = ingestion.documents() if ingestion is not None else []
    documents = ingested or stream_documents(args.input, None, predictor.schema)

    def score(idx: list[int], docs: list[Document]) -> list[list[str]]:
        try:
            scores = predictor.predict(docs)
        except DocumentTooLargeError as exc:  # its index counts within the window
            raise DocumentTooLargeError(f"{args.input}, window of documents {idx[0]}..{idx[-1]}: {exc}") from None
        lines = [[prediction_line(s, d) for s, d in zip(scores, docs, strict=True)]]
        if args.scores_output:
            lines.append([json.dumps(s.to_json()) for s in scores])
        return lines

    if not score_corpus(documents, shard, [work_path(t, shard) for t in targets], score, window=args.window,
                        resume=args.resume, quiet=args.quiet):
        return 0
    merged = [t for t in targets if work_path(t, shard) != t]
    counts = {t: finish_output(t, shard.world, args.window, t == targets[0]) for t in merged}
    relations = counts[targets[0]] if targets[0] in counts else relations_in(targets[0])
    if text_input:
        from engine.data.documents import write_documents  # noqa: PLC0415

        side = Path(args.output).with_suffix(".docs.json")
        write_documents(ingested, side)
        log.info("the ingested documents (sentences, entities and mentions the indices refer to) -> %s", side)
    log.info("%d relations predicted -> %s", relations, args.output)
    return 0


def add_predict_command(subparsers: argparse._SubParsersAction) -> None:
    """Add `predict` to the engine's subcommands."""
    p = subparsers.add_parser("predict", help="relations for DocRED JSON, JSON Lines or a .txt file")
    p.add_argument("--input", required=True, help="DocRED JSON or .jsonl (labels optional, read one document at a "
                                                  "time) or UTF-8 .txt")
    p.add_argument("--output", required=True, help="predictions: .json, the DocRED result list; .jsonl, one line "
                                                   "per document ({title, predictions}) written as it goes")
    p.add_argument("--checkpoint", nargs="+", help="checkpoint directory (default: the shipped model); several: "
                   "their ensemble (mean calibrated probability against the members' thresholds)")
    p.add_argument("--scores-output", help="also write every pair's logits, threshold, margins and probabilities "
                                           "(.json list or .jsonl lines)")
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW,
                   help=f"documents read, scored longest first and written at a time (default {DEFAULT_WINDOW}); "
                        "bounds memory whatever the corpus size")
    p.add_argument("--resume", action="store_true",
                   help="keep the documents an interrupted run already wrote (same input, --window and number of "
                        "processes) and score the rest")
    p.add_argument("--device")
    p.add_argument("--precision", choices=PRECISIONS, help=PRECISION_HELP)
    p.set_defaults(func=cmd_predict)
