"""The admin web UI at ``/ui``: server-rendered pages over the admin API (see ``routes``)."""
