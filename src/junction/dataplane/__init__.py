"""The data plane: OpenAI's wire format for workspace keys, as plain Starlette routes.

FastAPI's per-route machinery costs about 30 % of throughput on this path
(measured on the build machine), so these handlers parse the body once with orjson and touch
only the fields the router needs. Their OpenAPI entries are added by ``openapi.py``.
"""
