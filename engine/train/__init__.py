"""engine.train: one training loop for every method.

Owns the trainer (AdamW, warmup, clipping, accumulation, resume), the training state it checkpoints, and
callbacks in the style of transformers' `TrainerCallback`. Evaluates on dev through `engine.serve`, so it
may import `engine.serve`, `engine.model`, `engine.data` and the root; never `engine.curate` or the CLI."""
