"""The use cases shared by the app, the worker and `python -m db`: upload (`uploads`), scoring jobs (`scoring`,
one mechanism: job rows in the store that a worker runs and pages poll), the worker loop (`worker`), the
review ranker's refit (`refit`) and control items (`controls`). These may run models (torch, LightGBM); they
build on `db.store` and never on Streamlit."""
