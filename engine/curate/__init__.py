"""engine.curate: suspected false negatives for the review queue.

Owns candidate triples and their ranking (`suggestions`), the relation logic between triples
(`relation_logic`) and entity-type statistics (`type_stats`). Reads `PairScores`, so it may import
`engine.serve`, `engine.model`, `engine.data` and the root; never `engine.train` or the CLI."""
