"""Configuration as code: a YAML document of providers, workspaces, keys and assistants that
``junction apply`` brings a router to, and ``junction export`` writes from one."""
