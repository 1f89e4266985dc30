"""The admin API under ``/admin/v1``: FastAPI routers, guarded by the admin key."""
