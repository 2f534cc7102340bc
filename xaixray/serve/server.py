"""Running the app: Werkzeug's threaded WSGI server, in the foreground or in a thread."""

from __future__ import annotations

import errno
import os
import socket
import threading
from typing import Any


class BackgroundServer:
    """A threaded WSGI server running ``app`` in a daemon thread (tests, scripts, benchmarks).

    Parameters
    ----------
    app
        Any WSGI application, e.g. from :func:`~xaixray.serve.create_app`.
    host, port
        Where to listen; port 0 picks a free one. Loopback by default.

    Examples
    --------
    >>> with BackgroundServer(create_app(clf)) as server:                # doctest: +SKIP
    ...     urllib.request.urlopen(server.url + "api/health").read()
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(app, host, port)
        self.host, self.port = host, int(self._server.server_port)
        self.url = f"http://{host}:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="xaixray-serve", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(app: Any, host: str = "127.0.0.1", port: int = 8000) -> Any:
    """Werkzeug's threaded server for ``app`` (one thread per request), bound but not started.

    Raises
    ------
    OSError
        If the address cannot be used (port taken, no permission).
    """
    from werkzeug.serving import make_server as werkzeug_server

    if int(port):
        _check_free(host, int(port))
    try:
        return werkzeug_server(host, int(port), app, threaded=True)
    except SystemExit:  # Werkzeug prints the reason and exits when the address is taken
        raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE)) from None


def _check_free(host: str, port: int) -> None:
    """Raise ``OSError`` if ``host:port`` cannot be bound (as the server would bind it)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)


__all__ = ["BackgroundServer", "make_server"]
