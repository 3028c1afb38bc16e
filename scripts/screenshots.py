"""Take the README's screenshots of the real app: `python scripts/screenshots.py [--out docs/screenshots]`.

Builds a fresh SQLite store in a temporary directory (team accounts: a curator and two annotators), stores the
shipped sample documents plus one held-out Re-DocRED document with about 30 entities, scores them with shipped
models (assets/models) as one scoring job, lets the two annotators disagree on one suggestion, starts the app
in team mode on that store and saves 1400x1000 PNGs of every page (and the Upload page's Text tab, and the
Document page's add-a-relation and entity-edit panels) from Chromium, launched as the browser tests launch it.
Reuses the test helpers (tests/server_support.py, tests/e2e/browser_support.py), so it needs the dev
requirements and Chromium; about a minute on CPU."""
from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python scripts/screenshots.py` puts scripts/ on the path, not the project root
    sys.path.insert(0, str(ROOT))

from db import accounts, store  # noqa: E402
from db.store.session import init_db, make_engine, session_factory, session_scope  # noqa: E402
from db.workflows.scoring import run_job  # noqa: E402
from db.workflows.uploads import store_upload  # noqa: E402
from engine.data.documents import Document, read_documents  # noqa: E402
from tests.e2e.browser_support import chromium, idle, log_in, new_page  # noqa: E402
from tests.paths import SHARED_DATA  # noqa: E402
from tests.server_support import app_server  # noqa: E402

log = logging.getLogger("screenshots")
MODELS = ROOT / "assets" / "models"
SAMPLES = ROOT / "assets" / "samples" / "redocred_heldout_sample.json"
SAMPLE_TEXT = ROOT / "assets" / "samples" / "sample.txt"  # the Text tab's example (entities found by spaCy)
# a held-out title of split.json (no shipped model trained on it): 29 entities in 6 sentences
MATRIX_TITLE = "Willi Schneider (skeleton racer)"
SCORING_MODELS = ("paee", "atlop", "kmgre", "pemscl", "p3m")  # paee is the DEFAULT; kmgre adds key mention pairs
CURATOR, ANNOTATORS, PASSWORD = "carol", ("ann", "bob"), "screenshots only, a long passphrase"
WIDTH, HEIGHT = 1400, 1000


def documents() -> list[Document]:
    """The shipped samples, then the ~30-entity document read from the shared Re-DocRED dev file."""
    samples = list(read_documents(SAMPLES).documents)
    dev = read_documents(SHARED_DATA / "redocred" / "dev_revised.json").documents
    return [*samples, next(d for d in dev if d.title == MATRIX_TITLE)]


def build_store(url: str) -> None:
    """Accounts, the documents scored by the shipped models, and one conflict for the Adjudicate page."""
    from engine.serve.predictor import Predictor  # noqa: PLC0415 - torch only once the store exists

    engine = make_engine(url)
    init_db(engine)
    factory = session_factory(engine)
    with session_scope(factory) as s:
        accounts.create_user(s, CURATOR, "curator", PASSWORD)
        for name in ANNOTATORS:
            accounts.create_user(s, name, "annotator", PASSWORD)
    dataset, result = store_upload(factory, "Re-DocRED held-out", documents())
    log.info("scoring %d documents with %s", len(result.added), ", ".join(SCORING_MODELS))
    with session_scope(factory) as s:  # the Upload page's path: a scoring job in the store, run by a worker
        job_id = store.enqueue_job(s, dataset.id, list(result.added), [str(MODELS / n) for n in SCORING_MODELS],
                                   CURATOR)
        job = store.claim_job(s, job_id, "screenshots")
    run_job(factory, job, "screenshots", lambda path: Predictor.from_checkpoint(path, "cpu"))
    with session_scope(factory) as s:
        items = store.list_suggestions(s, dataset.id, limit=6).items
        disputed, *decided = items[1:]  # items[0] stays pending: the Review page opens on it
        store.record_review(s, disputed.id, ANNOTATORS[0], "accept", relation=disputed.relation,
                            note="the text says so")
        store.record_review(s, disputed.id, ANNOTATORS[1], "reject", note="not stated in the text")
        for k, item in enumerate(decided):
            store.record_review(s, item.id, ANNOTATORS[k % 2], "accept" if k % 2 else "reject",
                                relation=item.relation if k % 2 else None)
    engine.dispose()


def _open(page: Any, name: str, heading: str | None = None) -> None:
    """A page through the sidebar (the logged-in session lives in this tab)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    page.get_by_role("heading", name=heading or name, exact=True).wait_for()
    idle(page)


def _to_top(locator: Any) -> None:
    """Scroll the page so this element is at the top of the shot."""
    locator.evaluate("element => element.scrollIntoView({block: 'start'})")


def _pick(page: Any, label: str, option_text: str | re.Pattern) -> None:
    """Choose the option of a Streamlit selectbox whose label contains `option_text`."""
    page.get_by_label(label).click()
    page.get_by_role("option").filter(has_text=option_text).first.click()
    idle(page)


ONLY: set[str] = set()  # --only: the shots to save (all when empty)


def _shoot(page: Any, out: Path, name: str, top: Any = None) -> None:
    """Save the viewport once the page has settled, scrolled so `top` (a locator) starts the shot if given."""
    if ONLY and name not in ONLY:
        return
    page.mouse.move(0, HEIGHT - 1)  # no hover toolbar or tooltip in the shot
    idle(page)
    page.wait_for_timeout(1500)  # plotly draws after the script run ends
    if top is not None:  # scrolled last: a late layout change would move it again
        _to_top(top)
        page.wait_for_timeout(300)
    page.screenshot(path=str(out / name))
    log.info("saved %s", out / name)


def capture(base_url: str, out: Path) -> None:
    """Log in as the curator and save each page's screenshot."""
    with chromium() as browser:
        page = new_page(browser, WIDTH, HEIGHT)
        log_in(page, base_url, "review", CURATOR, PASSWORD)
        page.get_by_role("button", name="Accept").wait_for()
        _shoot(page, out, "review.png")

        _open(page, "Upload", "Upload documents")  # after a page that chose the dataset: its jobs table shows
        page.get_by_role("heading", name="Scoring jobs").wait_for()
        _shoot(page, out, "upload.png")
        page.get_by_text("Score stored documents").click()
        picker = page.get_by_role("combobox", name="Score with")
        picker.click()  # the model picker, open: each model's label and figures
        page.keyboard.press("ArrowDown")
        page.get_by_role("option").first.wait_for()
        _shoot(page, out, "upload_models.png")
        page.keyboard.press("Escape")
        page.get_by_role("tab", name="Text").click()
        page.get_by_role("textbox", name="…or paste text").fill(SAMPLE_TEXT.read_text(encoding="utf-8"))
        page.get_by_role("button", name="Find entities").click()
        page.get_by_text("Entities found: fix them before scoring").wait_for()
        _shoot(page, out, "upload_text.png", top=page.get_by_text("…or paste text"))  # text above its entities

        _open(page, "Document")
        page.get_by_text("Matrix view").wait_for()
        _shoot(page, out, "document.png", top=page.get_by_text("Entities are coloured by type"))  # matrix, logits
        page.get_by_role("tab", name="Add mention").click()  # the span preview, beside the add-a-relation form
        page.get_by_text("Selected:").wait_for()
        _shoot(page, out, "document_annotate.png", top=page.get_by_role("heading", name="Add a relation"))

        _open(page, "Compare", "Compare models")
        page.get_by_text("ordered pairs are decoded differently").wait_for()
        _shoot(page, out, "compare.png")
        _pick(page, "Model A", "pemscl")
        _pick(page, "Model B", "p3m")
        page.get_by_text("ordered pairs are decoded differently").wait_for()
        _shoot(page, out, "compare_pemscl_p3m.png")

        _open(page, "Users")
        page.get_by_role("heading", name="Account changes").wait_for()
        _shoot(page, out, "users.png")

        _open(page, "Adjudicate")
        page.get_by_role("button", name="Resolve: accept").wait_for()
        _shoot(page, out, "adjudicate.png")

        _open(page, "Document")
        page.get_by_test_id("stSidebar").get_by_role("textbox", name="Filter titles").fill("Willi Schneider")
        page.keyboard.press("Enter")
        page.get_by_role("heading", name=MATRIX_TITLE).wait_for()
        idle(page)
        matrix = page.get_by_test_id("stPlotlyChart").first
        matrix.wait_for()
        _shoot(page, out, "matrix_30_entities.png", top=matrix)

        _open(page, "Evaluate")
        page.get_by_role("heading", name="Models on the gold labels").wait_for()
        _shoot(page, out, "evaluate.png")

        _open(page, "Export")
        page.get_by_role("button", name="Download DocRED JSON").wait_for()
        _shoot(page, out, "export.png")

        if not ONLY or ONLY & {"evaluate_finetune.png", "compare_finetuned.png"}:  # minutes of training
            capture_finetune(page, out)


def capture_finetune(page: Any, out: Path) -> None:
    """Evaluate's fine-tune of the default model (one epoch on the four documents' labels) with the new model's
    lineage, and Compare with the new model's rescoring run picked against the base model's."""
    _open(page, "Evaluate")
    page.get_by_role("heading", name="Fine-tune on this dataset").wait_for()
    base = page.get_by_label("Base model")
    base.click()
    page.keyboard.type("paee (paee")
    page.keyboard.press("Enter")
    idle(page)
    page.get_by_label("Epochs").fill("1")
    page.get_by_role("button", name="Fine-tune on this dataset").click()
    rescore = page.get_by_role("button", name=re.compile(r"^Rescore the pending queue with "))
    rescore.wait_for(timeout=900_000)  # training on a loaded 2-core CPU
    idle(page)
    _shoot(page, out, "evaluate_finetune.png", top=page.get_by_role("heading", name="Fine-tune on this dataset"))
    model = rescore.inner_text().removeprefix("Rescore the pending queue with ").strip()
    rescore.click()
    idle(page)

    for _ in range(90):  # the rescoring job stores the new model's run when it is done
        _open(page, "Compare", "Compare models")
        page.get_by_label("Model A").click()
        if page.get_by_role("option").filter(has_text=model).count():
            break
        page.keyboard.press("Escape")
        page.wait_for_timeout(10_000)
    page.keyboard.press("Escape")
    _pick(page, "Model A", model)
    _pick(page, "Model B", re.compile(r"· paee$"))
    page.get_by_text("ordered pairs are decoded differently").wait_for()
    _shoot(page, out, "compare_finetuned.png")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    parser.add_argument("--only", nargs="*", default=[], help="save only these shots (e.g. document_annotate.png)")
    args = parser.parse_args(argv)
    ONLY.update(args.only)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="docre-shots-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'screenshots.sqlite'}"
        build_store(url)
        with app_server(url, Path(tmp), team_mode=True, extra_env={"DOCRE_MODELS_DIR": str(MODELS)},
                        timeout_s=300) as base:
            capture(base, args.out)


if __name__ == "__main__":
    main()
