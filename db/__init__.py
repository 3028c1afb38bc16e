"""The store: SQLAlchemy models, sessions, migrations, and the query functions in `db.store`.

Nothing here connects at import time; build an engine with `db.session.make_engine()`."""
