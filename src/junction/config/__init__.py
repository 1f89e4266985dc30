"""Configuration as the request path sees it: an immutable snapshot, and the catalog that
loads and replaces it."""
