"""The ``junction`` command line."""
