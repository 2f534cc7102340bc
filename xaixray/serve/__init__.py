"""``xaixray serve``: a web app that shows a model's prediction on an X-ray and why.

>>> from xaixray.serve import create_app                                # doctest: +SKIP
>>> app = create_app(xaixray.Classifier.load("default"))               # a WSGI app (Flask)

Importing this package does not import Flask; :func:`create_app` does, and says which extra to
install (``pip install "xaixray[serve]"``) when it is missing. :class:`ExplainService` is the
part without the web: decode an upload, predict, explain. See ``docs/serve.md``.
"""

from .app import INSTALL_HINT, ApiError, app_from_env, create_app, require_flask
from .server import BackgroundServer, make_server
from .service import (
    FAST_METHODS,
    ExplainService,
    ServiceBusy,
    Upload,
    decode_upload,
    display_name,
)

__all__ = [
    "FAST_METHODS",
    "INSTALL_HINT",
    "ApiError",
    "BackgroundServer",
    "ExplainService",
    "ServiceBusy",
    "Upload",
    "app_from_env",
    "create_app",
    "decode_upload",
    "display_name",
    "make_server",
    "require_flask",
]
