"""Assistant knowledge: files uploaded to an assistant, split into chunks, embedded with its
``embedding_model`` and stored in the router's database; the chunks most relevant to a
question (cosine x 100, at least the assistant's ``context_score``) join the system prompt.

Modules, one job each: ``kinds`` (which files are accepted), ``parse`` (bytes to text),
``chunk`` (text to token-sized pieces), ``embed`` (texts to unit vectors through the provider
layer), ``files`` (the rows), ``ingest`` (the background worker), ``index`` (each assistant's
vectors in memory), ``retrieve`` (the request pipeline's step).
"""
