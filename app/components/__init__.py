"""Figure builders and text highlighting: they take engine domain objects and return plotly figures or
escaped HTML; no Streamlit calls, no database, no torch."""
