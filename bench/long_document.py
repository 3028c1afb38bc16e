"""One long document scored by the CLI and by the app's job path, each in a fresh process: peak RSS (the
child's ru_maxrss from os.wait4) and wall time; and the Document page's matrix drawn for it (issue 25 point 5).

The document: bench/memory.py's synthetic text ("X met Y ." plus filler words), by default 540 entities and
about 6,500 words, the size of the issue's Wikipedia text. The CLI child runs `python -m engine predict` on it;
the app child runs `python -m app.worker --once` on a SQLite store holding it and a queued scoring job (the
same db.workflows.scoring path as the app's in-process worker: scores stored, suggestions ranked). While the
worker runs, the parent reads the job's row twice a second and reports how often its progress moved. The
matrix child loads the stored scores and times the Document page's matrix (the entity window, its cells, the
plotly figure and its JSON, what Streamlit sends), without a browser. Prints tables; no pass/fail.

    python bench/long_document.py [--entities 540] [--words 6500] [--checkpoint DIR] [--workdir DIR]

Compares with: issue 25's 8.5 GB for the app against 1.1 GB for the CLI on a 540-entity text, about 18 minutes
to score in the app, "queued (0/2)" shown for 10 minutes, and a matrix that took 71 s to draw.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, command_line, machine  # noqa: E402  - bench scripts run as files
from memory import synthetic_document  # noqa: E402

WORDS_PER_ENTITY_PAIR = 4  # "X met Y ." without filler


def build_document(n_entities: int, words: int, path: Path) -> dict:
    """The long document as DocRED JSON at `path`; its size."""
    from engine.data.documents import write_documents  # noqa: PLC0415

    sentences = (n_entities + 1) // 2
    filler = max(0, round(words / sentences) - WORDS_PER_ENTITY_PAIR)
    doc = synthetic_document(n_entities, f"long text, {n_entities} entities", filler=filler)
    write_documents([doc], path)
    return {"entities": doc.num_entities, "words": sum(len(s) for s in doc.sents), "sentences": len(doc.sents)}


def run_measured(argv: list[str], env: dict[str, str], root: Path, poll=None) -> dict:
    """Run a child to its end, calling poll(elapsed) meanwhile: its wall seconds and peak RSS (MB), reaped with
    os.wait4 so that ru_maxrss is this child's alone."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, cwd=root, env=env, stdout=out, stderr=err, text=True)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if poll is not None:
                poll(time.perf_counter() - start)
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "returncode": proc.returncode,
                "stdout": out.read(), "stderr": err.read()}


def prepare_store(db_url: str, doc_path: Path, checkpoint: str) -> int:
    """A store holding the document in a dataset and a queued scoring job for it (what the Upload page does)."""
    from db import store  # noqa: PLC0415
    from db.store.session import session_scope  # noqa: PLC0415
    from db.workflows.worker import open_factory  # noqa: PLC0415
    from engine.data.documents import read_documents  # noqa: PLC0415

    factory = open_factory(db_url)
    with session_scope(factory) as s:
        dataset = store.create_dataset(s, "long document")
        doc_ids = list(store.add_documents(s, dataset.id, read_documents(doc_path).documents).added)
        return store.enqueue_job(s, dataset.id, doc_ids, [checkpoint], "bench")


class JobWatch:
    """The job's progress as the parent reads it while the worker runs: each change of (done, total)."""

    def __init__(self, db_url: str, job_id: int) -> None:
        from db.workflows.worker import open_factory  # noqa: PLC0415

        self.factory, self.job_id, self.seen = open_factory(db_url), job_id, []

    def __call__(self, elapsed: float) -> None:
        from db import store  # noqa: PLC0415
        from db.store.session import session_scope  # noqa: PLC0415

        with session_scope(self.factory) as s:
            job = store.get_job(s, self.job_id)
        if not self.seen or self.seen[-1][1:] != (job.status, job.done, job.total):
            self.seen.append((elapsed, job.status, job.done, job.total))


def matrix_child(db_url: str) -> None:
    """Load the stored scores and time the Document page's matrix for them, as the page builds it."""
    from app.components import matrix, matrix_window  # noqa: PLC0415
    from db import store  # noqa: PLC0415
    from db.store.session import session_scope  # noqa: PLC0415
    from db.workflows.worker import open_factory  # noqa: PLC0415

    factory = open_factory(db_url)
    with session_scope(factory) as s:
        (run,) = store.list_runs(s, store.list_datasets(s)[0].id)
        (doc_id,) = store.scored_document_ids(s, run.id)
        doc = store.load_documents(s, [doc_id])[doc_id]
        start = time.perf_counter()
        scores = store.load_pair_scores(s, run.id, doc_id)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    window = matrix_window.opening_window(doc, scores, selected=(0, 1))
    shown = matrix_window.window_scores(scores, window.entities)
    cells = matrix.view_cells("predicted", doc, shown, {})
    fig = matrix.matrix_figure(doc, cells, selected=(0, 1), entities=window.entities)
    payload = fig.to_json()
    draw_s = time.perf_counter() - start
    print(json.dumps({"load_s": load_s, "draw_s": draw_s, "shown": len(window.entities), "pages": window.pages,
                      "predicted_entities": window.predicted, "figure_kb": len(payload) / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=540)
    parser.add_argument("--words", type=int, default=6500)
    parser.add_argument("--checkpoint", help="checkpoint directory (default: the shipped default model)")
    parser.add_argument("--workdir", help="where the document, store and outputs go (default: a temporary one)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose CLI and worker run (default: this one; another for a before/after)")
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--child", choices=["matrix"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "matrix":
        matrix_child(args.db)
        return
    from engine.settings import get_settings  # noqa: PLC0415

    checkpoint = str(Path(args.checkpoint or get_settings().default_model).resolve())
    work = Path(args.workdir or tempfile.mkdtemp(prefix="long_document_"))
    work.mkdir(parents=True, exist_ok=True)
    doc_path, db_url = work / "long.json", f"sqlite:///{work / 'store.sqlite'}"
    (work / "store.sqlite").unlink(missing_ok=True)
    size = build_document(args.entities, args.words, doc_path)
    env = {**os.environ, "DOCRE_MAX_ENTITIES": str(max(1000, args.entities))}
    print(machine())
    print(command_line())
    print(f"load average {os.getloadavg()[0]:.1f} at the start; model {checkpoint}; code {args.root}")
    print(f"document: {size['entities']} entities, {size['words']:,} words, {size['sentences']} sentences, "
          f"{size['entities'] * (size['entities'] - 1):,} ordered pairs\n")
    rows = []
    cli = run_measured([sys.executable, "-m", "engine", "--quiet", "predict", "--input", str(doc_path), "--output",
                        str(work / "predictions.jsonl"), "--checkpoint", checkpoint], env, args.root)
    rows.append(("CLI: python -m engine predict", cli))
    job_id = prepare_store(db_url, doc_path, checkpoint)
    watch = JobWatch(db_url, job_id)
    app = run_measured([sys.executable, "-m", "app.worker", "--once", "--database", db_url], env, args.root,
                       poll=watch)
    rows.append(("app: scoring job (python -m app.worker --once)", app))
    print("| path | peak RSS (MB) | wall s (model load included) |")
    print("|---|---|---|")
    for name, r in rows:
        failed = "" if r["returncode"] == 0 else f" (failed: {(r['stderr'].strip().splitlines() or ['?'])[-1]})"
        print(f"| {name}{failed} | {r['peak_mb']:,.0f} | {r['seconds']:.1f} |")
    print(f"\napp / CLI peak: {app['peak_mb'] / cli['peak_mb']:.2f}x; load average {os.getloadavg()[0]:.1f} now")
    moves = [f"{t:.0f}s {status} {done}/{total}" for t, status, done, total in watch.seen]
    print(f"job progress as read every 0.5 s ({len(moves)} changes): " + ", ".join(moves))
    if app["returncode"] == 0 and not args.skip_matrix:
        done = subprocess.run([sys.executable, __file__, "--child", "matrix", "--db", db_url], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode:
            print(f"matrix: failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
        else:
            m = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"\nmatrix: {m['shown']} of {size['entities']} entities shown on the opening page "
                  f"({m['predicted_entities']} hold a prediction; {m['pages']} pages), drawn in {m['draw_s']:.2f} s "
                  f"(cells, figure and its {m['figure_kb']:,.0f} KB of JSON); loading the stored scores "
                  f"{m['load_s']:.2f} s")


if __name__ == "__main__":
    main()
