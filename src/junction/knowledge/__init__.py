"""Assistant knowledge: files uploaded to an assistant, split into chunks, embedded with its
``embedding_model`` and stored in the router's database; the chunks most relevant to a
question (cosine x 100, at least the assistant's ``context_score``) join the system prompt.

Modules, one job each: ``kinds`` (which files are accepted), ``parse`` (bytes to text),
``chunk`` (text to token-sized pieces), ``calls`` (the embedding calls, routed, metered and
logged like ``/v1/embeddings``), ``embed`` (an answer to unit vectors), ``files`` (the rows),
``ingest`` (the background worker: it claims a file), ``ingest_work`` (processing one),
``index`` (each assistant's vectors in memory), ``ann`` (the approximate index of large
assistants), ``retrieve`` (the request pipeline's step).
"""
