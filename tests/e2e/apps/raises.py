"""A script that fails with its own file path in the message: served with the project's .streamlit/config.toml,
the browser must get a generic message, never the path, the exception type or a traceback."""
from pathlib import Path

import streamlit as st

st.title("About to fail")
raise RuntimeError(f"cannot read {Path(__file__).resolve()}")
