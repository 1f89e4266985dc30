"""Running as many processes: keeping every process's in-process caches in step."""
