"""Versions: the engine's, and the checkpoint format's (bumped when saved files change shape)."""
ENGINE_VERSION = "0.1.0"
CHECKPOINT_FORMAT = 1
