"""Secrets: API key generation and hashing, encryption of stored credentials."""
