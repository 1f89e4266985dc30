"""Key lifecycle beyond the admin API: ``last_used_at`` bookkeeping and the admin key."""
