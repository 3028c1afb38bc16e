"""engine.cli: `python -m engine train|evaluate|predict|suggest|folds|ingest|compress|methods`.

Each command is a thin layer over the stages below it; helpers every command shares (document loading,
split selection, `--option` parsing, the progress bar) live once in `common`; `predict` and `suggest` stream
their input window by window, resumable and data-parallel, through `corpus_run`. The top of the import order:
it may import every other stage, and nothing imports it."""
from engine.cli.main import main

__all__ = ["main"]
