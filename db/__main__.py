"""`python -m db upgrade | create-user NAME --role annotator|curator | set-password NAME | set-role NAME --role R |
users | datasets | import FILE --dataset NAME [--score] | export --dataset NAME --output FILE | queue --dataset NAME
[--all]`.

Passwords come from DOCRE_NEW_PASSWORD (for scripts) or a prompt typed twice; they are never arguments,
so they stay out of shell history and process lists."""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from engine.errors import DocreError, InputFileError

from .accounts import MIN_PASSWORD_LENGTH, create_user, set_password
from .store import (
    database_url,
    export_json,
    get_dataset,
    init_db,
    list_annotators,
    list_datasets,
    make_engine,
    models,
    session_factory,
    session_scope,
    set_role,
)
from .store.health import DatabaseUnavailableError, check_database, describe
from .workflows.queue_lines import pending_pairs
from .workflows.scoring import score_documents
from .workflows.upload_stream import scan_upload, store_upload_stream

logger = logging.getLogger("db")
PASSWORD_ENV = "DOCRE_NEW_PASSWORD"


def _password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise SystemExit(f"no password: set {PASSWORD_ENV} or run in a terminal to be prompted")
    first = getpass.getpass(f"password (at least {MIN_PASSWORD_LENGTH} characters): ")
    if first != getpass.getpass("again: "):
        raise SystemExit("the two passwords differ; nothing was changed")
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m db", description="DocRE Studio store: schema and accounts")
    parser.add_argument("--url", help="database URL (default: DOCRE_DATABASE_URL, else data/docre.sqlite)")
    commands = parser.add_subparsers(dest="command", required=True)
    upgrade = commands.add_parser("upgrade", help="create or migrate the schema")
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    user = commands.add_parser("create-user", help="add a team-mode account (password from a prompt or "
                                                   f"{PASSWORD_ENV})")
    user.add_argument("name")
    user.add_argument("--role", choices=models.ROLES, required=True)
    password = commands.add_parser("set-password", help="change an account's password")
    password.add_argument("name")
    role = commands.add_parser("set-role", help="make an annotator (local name or account) a curator, or not")
    role.add_argument("name")
    role.add_argument("--role", choices=models.ROLES, required=True)
    commands.add_parser("users", help="list annotators and their roles")
    commands.add_parser("datasets", help="list the datasets: id, name, documents, created (UTC), tab-separated")
    pending = commands.add_parser("queue", help="print the pending review queue as JSON lines, one entity pair per "
                                                "line with its relations and probabilities, best first")
    pending.add_argument("--dataset", required=True, help="dataset name")
    pending.add_argument("--all", action="store_true", help="the long tail too (relations below the dataset's minimum "
                                                            "probability, each marked), each pair once")
    commands.add_parser("check", help="readiness: read the database (schema revision, SQLite integrity); exit 1 "
                                      "with one line saying what is wrong when it cannot be read")
    load = commands.add_parser("import", help="store a DocRED JSON file into a dataset (the Upload page's checks)")
    load.add_argument("file")
    load.add_argument("--dataset", required=True, help="dataset name (created when new)")
    load.add_argument("--score", action="store_true", help="score the new documents with the default model "
                                                           "(DOCRE_MODELS_DIR/DEFAULT) and refresh the review queue")
    dump = commands.add_parser("export", help="write a dataset as DocRED JSON with the review applied (the Export "
                                              "page's file)")
    dump.add_argument("--dataset", required=True)
    dump.add_argument("--output", required=True, help="file to write ('-' for standard output)")
    return parser


def _import(factory, args: argparse.Namespace) -> int:
    """Read, validate (listing every invalid document as the Upload page does), store, optionally score."""
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputFileError(f"{path}: cannot be read: {err.strerror}") from None
    scan = scan_upload(data, path.name)  # streamed: the file's documents are never all in memory at once
    logger.info("%d valid document(s), %d invalid.", scan.valid, len(scan.problems))
    for p in scan.problems:
        logger.warning("invalid, not stored: document %d “%s”, field %s%s: %s", p.doc_index, p.title, p.field,
                       "" if p.index is None else f" [{p.index}]", p.message)
    if not scan.valid:
        logger.error("Nothing was stored: the file holds no valid document.")
        return 2
    dataset, result = store_upload_stream(factory, args.dataset, data, path.name)
    message = f"Stored {len(result.added)} document(s) in “{dataset.name}”."
    if result.skipped:
        message += f" {len(result.skipped)} already stored (same text and entities) were skipped."
    logger.info("%s", message)
    for skipped in result.skipped:
        logger.info("skipped %s", skipped.reason)
    if args.score and result.added:
        from engine.serve.predictor import Predictor  # noqa: PLC0415 - torch only when scoring
        from engine.settings import get_settings  # noqa: PLC0415

        checkpoint = get_settings().default_model
        model = Predictor.from_checkpoint(checkpoint)
        run_ids, n = score_documents(factory, dataset.id, list(result.added), [(str(checkpoint.resolve()), model)])
        logger.info("Scored with %s (run %s); %d suggestion(s) in the review queue.", checkpoint.name,
                    ", ".join(map(str, run_ids)), n)
    return 0


def _export(factory, args: argparse.Namespace) -> int:
    with session_scope(factory) as session:
        dataset = get_dataset(session, args.dataset)
        objects = export_json(session, dataset.id)
    payload = json.dumps(objects, ensure_ascii=False)
    if args.output == "-":
        sys.stdout.write(payload)
    else:
        out = Path(args.output)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, out)
    logger.info("wrote %d document(s) of “%s” to %s", len(objects), dataset.name, args.output)
    return 0


def _queue(factory, args: argparse.Namespace) -> int:
    with session_scope(factory) as session:
        dataset = get_dataset(session, args.dataset)
        n = 0
        for record in pending_pairs(session, dataset.id, include_tail=args.all):
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    logger.info("%d pair(s) pending in “%s”%s", n, dataset.name, " (long tail included)" if args.all else "")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if args.command == "check":
        try:
            sys.stdout.write(check_database(args.url) + "\n")
        except DatabaseUnavailableError as err:
            logger.error("%s", err)
            return 1
        return 0
    engine = make_engine(args.url)
    try:
        if args.command == "upgrade":
            init_db(engine, args.revision)
            logger.info("%s is at %s", database_url(args.url).render_as_string(hide_password=True), args.revision)
            return 0
        init_db(engine)  # accounts need the tables; migrating is idempotent
        factory = session_factory(engine)
        if args.command == "import":
            return _import(factory, args)
        if args.command == "export":
            return _export(factory, args)
        if args.command == "queue":
            return _queue(factory, args)
        with session_scope(factory) as session:
            if args.command == "create-user":
                info = create_user(session, args.name, args.role, _password())
                logger.info("created %s (%s)", info.name, info.role)
            elif args.command == "set-role":
                info = set_role(session, args.name, args.role)
                logger.info("%s is now a %s", info.name, info.role)
            elif args.command == "set-password":
                set_password(session, args.name, _password())
                logger.info("password of %s changed", args.name)
            elif args.command == "datasets":
                for d in list_datasets(session):
                    sys.stdout.write(f"{d.id}\t{d.name}\t{d.n_documents}\t{d.created_at:%Y-%m-%d %H:%M}\n")
            else:
                for info in list_annotators(session):
                    sys.stdout.write(f"{info.name}\t{info.role}\t{'password' if info.has_password else '-'}\n")
        return 0
    except (DocreError, ValueError) as err:
        logger.error("%s", err)
        return 2
    except DBAPIError as err:  # disk full, a corrupt file, a server away: one line, not a traceback
        logger.error("%s", describe(err, args.url))
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
