"""Requests- and tokens-per-minute limits for workspaces and keys (the ``limits`` library).

``store.py`` picks the counters (in-process, or Redis shared by replicas with an in-process
fallback), ``limiter.py`` admits and settles calls, ``headers.py`` writes OpenAI's
``x-ratelimit-*`` headers, ``estimate.py`` guesses a prompt's tokens before it is sent.
"""
