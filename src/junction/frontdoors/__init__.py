"""Front doors: the wire formats other than OpenAI's chat completions that clients speak to the
router, each translated into the internal chat-completions form the providers share and back.

- ``messages_wire``: Anthropic's Messages API — request in, answer out, errors.
- ``messages_stream``: chat chunks re-told as the Messages API's stream events.
"""
