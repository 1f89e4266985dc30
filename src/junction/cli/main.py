"""The ``junction`` command's entry point: ``junction serve`` loads only ``cli/serve.py``.

``app`` keeps the name the installed ``junction`` script calls.
"""

from __future__ import annotations

import sys


def app() -> None:
    if sys.argv[1:2] == ["serve"]:
        from junction.cli.serve import serve_only

        serve_only()
    else:
        from junction.cli.commands import whole

        whole()
