"""Peak memory of storing a DocRED JSON upload, the way the Upload page and `python -m db import` did before
issue 27 (whole-file parse, twice, then one add_documents call) and as they do now
(db.workflows.upload_stream: scanned, then stored as a stream in batches of BATCH_DOCS in one transaction).

Each (size, path) runs in a fresh process (peak RSS only grows within one) on a fresh SQLite file; the upload
is built from Re-DocRED's dev_revised.json documents repeated with distinct titles until it reaches the size.
Reports peak RSS (ru_maxrss), the RSS before reading (imports done, the bytes in memory) and the peak's multiple
of the upload's size. Prints a table; no pass/fail.

    python bench/upload_memory.py [--mb 10 40]

Compares with: issue 27's 1.47 GB parsing and 2.25 GB storing a 44 MB file (whole-file path).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import command_line, run_child  # noqa: E402  - bench scripts run as files

SOURCE = ROOT.parent / "shared" / "data" / "redocred" / "dev_revised.json"
PATHS = ("whole-file", "streamed")


def build_upload(mb: int) -> bytes:
    """Real documents repeated with distinct titles (so none is a duplicate) up to `mb` MB of JSON."""
    docs = json.loads(SOURCE.read_text(encoding="utf-8"))
    out, size, k = [], 2, 0
    while size < mb * 1024 * 1024:
        doc = dict(docs[k % len(docs)], title=f"{docs[k % len(docs)]['title']} (copy {k})")
        text = json.dumps(doc, ensure_ascii=False)
        out.append(text)
        size += len(text.encode("utf-8")) + 2
        k += 1
    return ("[" + ", ".join(out) + "]").encode("utf-8")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(path: str, upload: str, db: str) -> None:
    os.environ["DOCRE_MAX_UPLOAD_MB"] = "1000"
    from db.store.session import init_db, make_engine, session_factory  # noqa: PLC0415
    from db.workflows import upload_stream, uploads  # noqa: PLC0415

    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    factory = session_factory(engine)
    data = Path(upload).read_bytes()
    before = _rss_mb()
    start = time.perf_counter()
    if path == "whole-file":
        parsed = uploads.parse_upload(data, "upload.json")
        _, result = uploads.store_upload(factory, "bench", parsed.documents, sources=parsed.sources)
    else:
        upload_stream.scan_upload(data, "upload.json")
        _, result = upload_stream.store_upload_stream(factory, "bench", data, "upload.json")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"before_mb": before, "peak_mb": peak, "docs": len(result.added), "seconds": seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"# {command_line()}")
    with open("/proc/cpuinfo") as fh:
        print("# CPU:", next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?"),
              f"({os.cpu_count()} CPUs)")
    print("| upload | documents | path | RSS before (MB) | peak RSS (MB) | peak / upload size | seconds |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mb in args.mb:
            upload = Path(tmp) / f"upload{mb}.json"
            data = build_upload(mb)
            upload.write_bytes(data)
            size_mb = len(data) / 2**20
            del data
            for path in PATHS:
                db = Path(tmp) / f"{mb}-{path}.sqlite"
                got = run_child([sys.executable, __file__, "--child", path, str(upload), str(db)])
                if isinstance(got, str):
                    print(f"| {size_mb:.1f} MB | | {path} | | {got} | | |")
                    continue
                print(f"| {size_mb:.1f} MB | {got['docs']:,} | {path} | {got['before_mb']:.0f} | {got['peak_mb']:.0f} "
                      f"| {got['peak_mb'] / size_mb:.1f}x | {got['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
