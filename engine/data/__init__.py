"""engine.data: what a document is and what is said about it, with no model in sight.

Owns the frozen `Document` dataclasses and DocRED JSON reading/writing (`documents`), the DocRED rules that
name file, document, field and index at fault (`docred_rules`), the relation schema (`schema`), raw text ->
`Document` with spaCy (`ingest`, imported lazily), per-pair model scores (`pair_scores`) and evaluation
metrics (`metrics`). May import only the engine's root modules (`errors`, `settings`, `config`, `version`)."""
