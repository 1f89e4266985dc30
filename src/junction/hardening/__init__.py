"""Limits on what a client may send: size and shape of bodies, headers, and time to send them."""
