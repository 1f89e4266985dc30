"""Routing: the in-process catalog of configuration, and turning a request into upstream calls."""
