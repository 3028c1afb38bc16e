"""`python -m db upgrade | create-user NAME --role annotator|curator | set-password NAME | set-role NAME --role R | users`.

Passwords come from DOCRE_NEW_PASSWORD (for scripts) or a prompt typed twice; they are never arguments,
so they stay out of shell history and process lists."""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys

from . import models
from .auth import create_user, set_password
from .passwords import MIN_PASSWORD_LENGTH
from .errors import StoreError
from .session import database_url, init_db, make_engine, session_factory, session_scope
from .store_annotators import list_annotators, set_role

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
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    engine = make_engine(args.url)
    try:
        if args.command == "upgrade":
            init_db(engine, args.revision)
            logger.info("%s is at %s", database_url(args.url).render_as_string(hide_password=True), args.revision)
            return 0
        init_db(engine)  # accounts need the tables; migrating is idempotent
        factory = session_factory(engine)
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
            else:
                for info in list_annotators(session):
                    sys.stdout.write(f"{info.name}\t{info.role}\t{'password' if info.has_password else '-'}\n")
        return 0
    except (StoreError, ValueError) as err:
        logger.error("%s", err)
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
