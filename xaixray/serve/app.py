"""The Flask app: a static page and a JSON API over :class:`~.service.ExplainService`.

``create_app(classifier)`` returns a plain WSGI application; any WSGI server runs it
(``xaixray serve`` uses Werkzeug's threaded server; see ``docs/serve.md`` for waitress).

API (every error is ``{"error": message}`` with a 4xx/5xx status, never a traceback):

- ``GET /api/health``: model name, xaixray version, methods offered, classes, threshold.
- ``POST /api/predict`` (multipart field ``file``): prediction, probabilities, threshold, model.
- ``POST /api/explain?methods=gradcam,lime&report=1`` (multipart field ``file``): the same plus
  ``explanations``, ``errors``, ``agreement``, ``image`` (size and the box a cropping model
  sees) and, with ``report=1``, ``faithfulness`` and ``report`` (``json`` and ``html``: the
  report.json/report.html ``xaixray explain`` writes).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..classifier import Classifier
from ..errors import ExplainerError, ImageError, XaixrayError
from ..explainers import DEFAULT_METHODS
from .service import ExplainService, ServiceBusy, Upload, decode_upload

if TYPE_CHECKING:  # pragma: no cover
    import flask

STATIC = Path(__file__).resolve().parent / "static"
INSTALL_HINT = 'the web app needs Flask: pip install "xaixray[serve]"'
_TRUE = ("1", "true", "yes", "on")
_log = logging.getLogger("xaixray.serve")

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data: blob:; "
                                "style-src 'self'; script-src 'self'; object-src 'none'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class ApiError(XaixrayError):
    """An error answered as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def require_flask() -> None:
    """Raise a one-line :class:`XaixrayError` naming the extra to install if Flask is missing."""
    import importlib.util

    if importlib.util.find_spec("flask") is None:
        raise XaixrayError(INSTALL_HINT)


def create_app(classifier: Classifier | ExplainService | str | os.PathLike = "default",
               methods: Sequence[str] | str = DEFAULT_METHODS, *, max_upload_mb: float = 20.0,
               workers: int = 1, queue: int = 4, timeout: float = 300.0, seed: int = 0,
               temp_root: str | None = None, **options: Any) -> flask.Flask:
    """The web app for one classifier.

    Parameters
    ----------
    classifier
        A :class:`~xaixray.Classifier`, a model path or ``"default"`` (the bundled model), or a
        ready :class:`ExplainService`.
    methods
        Methods offered (list or comma-separated; default Grad-CAM, LIME and SHAP).
    max_upload_mb
        Larger requests are answered with 413.
    workers, queue, timeout
        The pool for requests with LIME or SHAP (see :class:`ExplainService`).
    seed, options
        Explainer seed and shared explainer keywords (``num_samples=``, ``max_evals=``...).
    temp_root
        Where per-request temporary folders are made (default: the system's temporary folder).

    Returns
    -------
    flask.Flask
        A WSGI application; ``app.extensions["xaixray"]`` is its :class:`ExplainService`.

    Raises
    ------
    XaixrayError
        If Flask is not installed (with the ``pip install`` line), or the model cannot be loaded.
    """
    require_flask()
    import flask
    from werkzeug.exceptions import HTTPException

    if isinstance(classifier, ExplainService):
        service = classifier
    else:
        clf = classifier if isinstance(classifier, Classifier) else Classifier.load(classifier)
        service = ExplainService(clf, methods, workers=workers, queue=queue, timeout=timeout,
                                 seed=seed, **options)
    limit_mb = float(max_upload_mb)

    class InMemoryRequest(flask.Request):
        """Uploads stay in memory (bounded by MAX_CONTENT_LENGTH), not in Werkzeug's temp files."""

        def _get_file_stream(self, *args: Any, **kwargs: Any) -> io.BytesIO:
            return io.BytesIO()

    app = flask.Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.request_class = InMemoryRequest
    app.config["MAX_CONTENT_LENGTH"] = int(limit_mb * 1024 * 1024)
    app.json.sort_keys = False
    app.extensions["xaixray"] = service

    def upload() -> Upload:
        file = flask.request.files.get("file")
        if file is None:
            raise ApiError(400, "no file uploaded: send the image as multipart/form-data in the "
                                "field 'file'")
        try:
            return decode_upload(file.read(), file.filename, temp_root)
        except ImageError as exc:
            raise ApiError(422, str(exc)) from None

    @app.get("/")
    def index() -> Any:
        response = flask.send_from_directory(STATIC, "index.html", max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/api/health")
    def health() -> Any:
        return {**service.health(), "max_upload_mb": limit_mb}

    @app.post("/api/predict")
    def predict() -> Any:
        return service.predict(upload())

    @app.post("/api/explain")
    def explain() -> Any:
        try:
            methods = service.parse_methods(flask.request.args.get("methods"))
        except ExplainerError as exc:
            raise ApiError(400, str(exc)) from None
        report = flask.request.args.get("report", "0").strip().lower() in _TRUE
        return service.explain(upload(), methods, report=report)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Any:
        return {"error": str(exc)}, exc.status

    @app.errorhandler(XaixrayError)
    def known_error(exc: XaixrayError) -> Any:
        return {"error": str(exc)}, 422

    @app.errorhandler(ServiceBusy)
    def busy(exc: ServiceBusy) -> Any:
        return {"error": str(exc)}, 503, {"Retry-After": "30"}

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.code == 413:
            message = f"upload too large: the limit is {limit_mb:g} MB"
        else:
            message = f"{exc.name.lower()}: {flask.request.method} {flask.request.path}"
            if exc.code == 405:
                message += f" is not allowed (use {', '.join(sorted(exc.valid_methods or []))})"
        return {"error": message}, exc.code or 500

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        _log.exception("xaixray serve: unexpected error on %s", flask.request.path)
        return {"error": "internal error; the server log has the details"}, 500

    @app.after_request
    def headers(response: Any) -> Any:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    return app


def app_from_env() -> flask.Flask:
    """An app configured by environment variables, for WSGI servers that call a factory.

    ``XAIXRAY_MODEL`` (a ``.keras`` path; default: the bundled model), ``XAIXRAY_METHODS``
    (default ``gradcam,lime,shap``), ``XAIXRAY_MAX_UPLOAD_MB`` (20), ``XAIXRAY_WORKERS`` (1) and
    ``XAIXRAY_QUEUE`` (4). Example: ``waitress-serve --call xaixray.serve:app_from_env``.
    """
    env = os.environ
    return create_app(env.get("XAIXRAY_MODEL", "default"),
                      env.get("XAIXRAY_METHODS", ",".join(DEFAULT_METHODS)),
                      max_upload_mb=float(env.get("XAIXRAY_MAX_UPLOAD_MB", "20")),
                      workers=int(env.get("XAIXRAY_WORKERS", "1")),
                      queue=int(env.get("XAIXRAY_QUEUE", "4")))


__all__ = ["ApiError", "INSTALL_HINT", "app_from_env", "create_app", "require_flask"]
