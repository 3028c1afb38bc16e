"""engine.model: the relation extractor itself, from token ids to per-pair logits.

Owns the encoder with entity markers and windows (`encoder`), one batch type for every method (`features`),
the ATLOP pair representation (`backbone`), the shared primitives named for what they are (`thresholds`,
`margins`, `grouped_bilinear`), one package per paper under `methods/`, and checkpoints with their weight
codec and int8 kernels. May import `engine.data` and the engine's root modules, nothing above."""
