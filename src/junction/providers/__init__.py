"""Upstream model servers. Each kind is one module defining one ``Provider`` subclass.

A module in this package that subclasses ``Provider`` with a ``kind`` is found by
``registry.provider_class``: adding a kind touches no other file.
"""
