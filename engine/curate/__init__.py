"""engine.curate: suspected false negatives for the review queue.

One job per module: candidate triples and their features (`candidate_features`), the queue built from them
(`queue`), the learned ranker and its files (`ranker`, `calibration`), its training rows (`ranker_data`),
decisions and learning from them (`decisions`, `feedback`), yield and stopping estimates
(`yield_estimates`), the ranked suggestions with their support (`suggestions`, `support`, the formula fallback),
relation logic and statistics (`relation_logic`, `relation_stats`, `type_stats`) and out-of-fold splits
(`folds`). Reads `PairScores`, so it may import `engine.serve`, `engine.model`, `engine.data` and the root;
never `engine.train` or the CLI.

For the app (plain domain objects in, no I/O):
- `suggestions.suggest(documents, scores_by_model, ranker=..., decisions=...)` -> ranked `Suggestion`s;
- `feedback.learn_from_decisions(documents, scores_by_model, decisions, ranker=...)` -> a refitted `Ranker`;
- `queue.build_queue(...)` once, then `queue.rank_pending(queue, ranker, decisions)` for fast re-ranks;
- `decisions.decisions_from_json(rows)`; `yield_estimates.estimate_queue(probabilities)`."""
