"""Serving the web UI: a production WSGI server (waitress) with several threads sharing one app, and
so one long-lived search service."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from waitress.server import create_server

DEFAULT_THREADS = 8


def serve(
    app: Any, host: str, port: int, threads: int = DEFAULT_THREADS, announce: Callable[[str], None] = print
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM). Port 0 takes a free port; the address is announced
    once the socket is listening, so a script can read it and connect."""
    server = create_server(app, host=host, port=port, threads=threads, ident="samizdat")
    address = f"http://{host}:{server.effective_port}/"  # type: ignore[union-attr]

    def stop(_signum: int, _frame: object) -> None:
        server.close()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    announce(address)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
