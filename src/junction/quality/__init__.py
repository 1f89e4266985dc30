"""The quality gate: a 0-100 score for an answer (``scorer``), an optional LLM judge
(``judge``), and the glue the data plane calls (``gate``). See the README's "Quality gate"."""
