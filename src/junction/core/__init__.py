"""The types every layer shares: the exchange that carries one data-plane request
(``call.Call``), the JSON alias, and turning errors into responses (``responses``)."""
