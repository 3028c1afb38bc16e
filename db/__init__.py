"""The database side, by layer (imports run one way: store <- accounts, store <- workflows):

- `db.store`: persistence only (ORM rows, domain types, sessions, query functions, Alembic migrations);
- `db.accounts`: team-mode sign-in, passwords, the login audit and throttle;
- `db.workflows`: the use cases the app, the worker and `python -m db` share (upload, scoring jobs, refit,
  control items, the worker loop). No Streamlit anywhere here.

Nothing connects at import time; build an engine with `db.store.make_engine()`."""
