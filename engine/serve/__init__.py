"""engine.serve: running trained models on documents.

Owns `Predictor` (checkpoint -> `PairScores`, length-bucketed under inference mode), ensembles of several
checkpoints, and the numeric precision choice (fp32, bf16, int8) for inference. Names no method: method
extras flow through the slot each method declares. May import `engine.model`, `engine.data` and the root."""
