"""Junction: a self-hosted, OpenAI-compatible router for teams that run their own models."""

__version__ = "0.1.0"
