"""Prompt token counting (tiktoken ``cl100k_base``, offline) and the context window."""
