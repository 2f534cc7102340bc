"""``xaixray serve``: the web app (upload an X-ray, see the prediction and why) on localhost."""

from __future__ import annotations

import argparse

from .common import (
    add_model_overrides,
    add_sample_counts,
    default_methods,
    methods_help,
    model_arg,
    positive_int,
)
from .explain import methods_arg

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0-65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: expected a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text}: a port is between 0 and 65535")
    return value


def megabytes(text: str) -> float:
    """argparse type: a size in MB, more than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: expected a number of MB") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: must be more than 0")
    return value


def require_flask() -> None:
    """Fail at once, before TensorFlow is imported, when the ``serve`` extra is missing."""
    from ..serve import require_flask as check

    check()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="web app: upload an X-ray, see the prediction and its explanations",
        description="Serve a web page and a JSON API where an X-ray can be uploaded to see the "
                    "model's prediction, an animated confidence bar, the Grad-CAM map at once "
                    "and LIME and SHAP on request, and download the full report. MODEL (a "
                    ".keras file) may be left out to use the bundled default model. Listens on "
                    "127.0.0.1 only unless --host says otherwise. Needs the serve extra: "
                    'pip install "xaixray[serve]".',
        usage="xaixray serve [MODEL] [--host 127.0.0.1] [--port 8000] [--methods ...] [options]")
    p.add_argument("model", nargs="?", default="default", type=model_arg, metavar="MODEL",
                   help="a .keras model file (default: the bundled model)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 "
                        "opens the app to the network, without authentication)")
    p.add_argument("--port", type=port_number, default=8000, help="port (default 8000)")
    p.add_argument("--methods", type=methods_arg, default=default_methods(),
                   help=methods_help("methods offered, comma-separated"))
    p.add_argument("--max-upload-mb", type=megabytes, default=20.0, metavar="MB",
                   help="larger uploads get HTTP 413 (default 20)")
    p.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="LIME/SHAP requests computed at once (default 1)")
    p.add_argument("--queue", type=positive_int, default=4, metavar="N",
                   help="LIME/SHAP requests that may wait; more get HTTP 503 (default 4)")
    add_sample_counts(p)
    add_model_overrides(p)
    p.set_defaults(func=run, precheck=require_flask)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..errors import XaixrayError
    from ..serve import create_app, make_server
    from .common import load_classifier, warn

    clf = load_classifier(args)
    app = create_app(clf, args.methods, max_upload_mb=args.max_upload_mb, workers=args.workers,
                     queue=args.queue, num_samples=args.num_samples, max_evals=args.max_evals)
    service = app.extensions["xaixray"]
    for method, message in service.unavailable.items():
        warn("serve", f"warning: {method}: {message}")
    try:
        server = make_server(app, args.host, args.port)
    except OSError as exc:
        raise XaixrayError(f"cannot listen on {args.host}:{args.port} "
                           f"({exc.strerror or exc}); choose another --port") from None
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{server.server_port}/"
    if args.host not in LOOPBACK:
        warn("serve", f"warning: listening on {args.host}: anyone who can reach this machine "
                      "can use the app (there is no authentication)")
    print(f"xaixray serve: model {clf.name} at {url} (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("xaixray serve: stopped", file=sys.stderr)
    finally:
        server.server_close()
        service.close()
    return 0
