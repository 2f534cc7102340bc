"""The web app through Flask's test client: every endpoint, every bad input, threads, limits."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest

import xaixray
from xaixray.errors import XaixrayError

pytest.importorskip("flask", reason='the web app needs Flask: pip install "xaixray[serve]"')

FAST = {"num_samples": 30, "max_evals": 30}
PREDICT_KEYS = {"prediction", "probabilities", "threshold", "model", "prediction_set"}
ALL = ", ".join(xaixray.explainers.METHODS)  # every registered method, in order
NO_FILE = "no file uploaded: send the image as multipart/form-data in the field 'file'"


@pytest.fixture(scope="module")
def app(tiny_classifier):
    from xaixray.serve import create_app

    app = create_app(tiny_classifier, "gradcam,lime,shap", max_upload_mb=1, **FAST)
    yield app
    app.extensions["xaixray"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def sample():
    return next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)


def post(client, path: str, data: bytes | None = None, name: str = "chest.jpeg",
         field: str = "file"):
    form = {} if data is None else {field: (io.BytesIO(data), name)}
    return client.post(path, data=form, content_type="multipart/form-data")


def png_bytes(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


# ---------------------------------------------------------------------- endpoints
def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.get_json()
    assert body.pop("provenance")["scaling"] in ("stated", "read")  # the fixture states it
    assert body.pop("scaling_notice") is None  # a guess would be said (test_preprocessing_...)
    assert (body.pop("scaling"), body.pop("positive_class")) == ("unit", "PNEUMONIA")
    assert body.pop("one_vs_rest") is False  # two classes: a threshold, but not one-vs-rest
    assert body == {
        "status": "ok", "model": "tiny", "version": xaixray.__version__,
        "xaixray_version": xaixray.__version__, "classes": ["NORMAL", "PNEUMONIA"],
        "threshold": 0.5, "methods": ["gradcam", "lime", "shap"],
        "titles": {"gradcam": "Grad-CAM", "lime": "LIME", "shap": "SHAP"},
        "slow_methods": ["lime", "shap"], "unavailable": {}, "max_upload_mb": 1.0}


def test_predict_uses_the_cli_decoder(client, sample, tiny_classifier):
    r = post(client, "/api/predict", sample.read_bytes(), sample.name)
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == PREDICT_KEYS
    expected = tiny_classifier.predict_proba([sample])[0]
    assert body["probabilities"] == {"NORMAL": float(expected[0]),
                                     "PNEUMONIA": float(expected[1])}
    assert body["prediction"] == tiny_classifier.predict([sample])[0]
    assert body["threshold"] == 0.5 and body["model"] == "tiny"
    assert body["prediction_set"] is None  # calibrated without --conformal


def test_explain_returns_overlays_timings_and_agreement(client, sample):
    r = post(client, "/api/explain?methods=gradcam,lime", sample.read_bytes(), sample.name)
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == PREDICT_KEYS | {"explanations", "errors", "agreement", "image"}
    height, width = cv2.imread(str(sample), cv2.IMREAD_GRAYSCALE).shape
    assert body["image"] == {"height": height, "width": width, "model_box": None}
    assert list(body["explanations"]) == ["gradcam", "lime"]
    for e in body["explanations"].values():
        png = base64.b64decode(e["png"])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        overlay = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        assert overlay.shape[0] > 100 and overlay.shape[1] > 100
        assert isinstance(e["seconds"], float) and e["seconds"] > 0
        assert e["target_name"] == body["prediction"] and e["title"] in ("Grad-CAM", "LIME")
    assert body["explanations"]["lime"]["params"]["num_samples"] == 30
    assert body["errors"] == {}
    assert [p["methods"] for p in body["agreement"]] == [["gradcam", "lime"]]


def test_explain_without_methods_runs_every_offered_method(client, sample):
    body = post(client, "/api/explain", sample.read_bytes()).get_json()
    assert list(body["explanations"]) == ["gradcam", "lime", "shap"]


def test_report_is_what_the_cli_writes(client, sample, tiny_classifier, tmp_path):
    r = post(client, "/api/explain?methods=gradcam,shap&report=1", sample.read_bytes(),
             sample.name)
    assert r.status_code == 200
    report = r.get_json()["report"]
    served = json.loads(report["json"])
    [result] = xaixray.explain(tiny_classifier, [sample], methods=("gradcam", "shap"), **FAST)
    xaixray.write_report(result, tmp_path / "cli")
    written = json.loads((tmp_path / "cli" / "report.json").read_text())
    for d in (served, written):
        d.pop("created"), d.pop("seconds"), d["faithfulness"].pop("seconds")
        for m in d["methods"].values():
            m.pop("seconds")
    faithful = r.get_json()["faithfulness"]  # the compact table the page shows
    assert set(faithful) == {"gradcam", "shap"}
    assert faithful["gradcam"] == {k: v for k, v in served["faithfulness"]["methods"]["gradcam"]
                                   .items() if k != "curves"}
    assert "verdict" in faithful["shap"] and "border_share" in faithful["shap"]
    assert served["image"].pop("source") == sample.name  # the client's name, not a temp path
    written["image"].pop("source")
    assert served == written
    assert report["json"].endswith("}\n") and '\n  "xaixray_version"' in report["json"]
    html = report["html"]
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert sample.name in html and "Not for clinical use" in html


def test_a_method_that_cannot_run_is_reported_not_fatal(tiny_classifier, sample):
    import keras

    from xaixray import Classifier
    from xaixray.serve import create_app

    dense = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")], name="dense")
    app = create_app(Classifier.from_keras(dense), "gradcam,lime", **FAST)
    client = app.test_client()
    assert "needs a convolutional layer" in client.get("/api/health").get_json()[
        "unavailable"]["gradcam"]
    body = post(client, "/api/explain?methods=gradcam,lime", sample.read_bytes()).get_json()
    assert list(body["explanations"]) == ["lime"]
    assert body["errors"]["gradcam"].startswith("Grad-CAM needs a convolutional layer")


def test_predict_gives_the_conformal_set_of_a_model_that_has_one(tiny_classifier, sample):
    from xaixray import Classifier
    from xaixray.serve import create_app

    p = float(tiny_classifier.predict_proba([sample])[0, 1])
    # NORMAL in the set when P(PNEUMONIA) <= 1, PNEUMONIA when P(PNEUMONIA) >= 0: both
    info = {"conformal": {"alpha": 0.05, "quantiles": {"NORMAL": 1.0, "PNEUMONIA": 1.0}}}
    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing, name="tiny",
                     info=info)
    app = create_app(clf, "gradcam", **FAST)
    try:
        client = app.test_client()
        body = post(client, "/api/predict", sample.read_bytes()).get_json()
        page = client.get("/").get_data(as_text=True)
        script = client.get("/static/app.js").get_data(as_text=True)
    finally:
        app.extensions["xaixray"].close()
    assert 0 < p < 1 and body["prediction_set"] == {
        "classes": ["NORMAL", "PNEUMONIA"], "label": "uncertain", "alpha": 0.05}
    assert 'id="prediction-set"' in page and "p.prediction_set.label" in script


def test_the_page_and_its_files(client):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "not a medical device" in page
    for asset in ("/static/app.js", "/static/style.css", "/static/favicon.svg"):
        assert asset in page
        assert client.get(asset).status_code == 200
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_static_files_load_nothing_from_elsewhere():
    from xaixray.serve.app import STATIC

    files = sorted(STATIC.iterdir())
    assert {f.name for f in files} >= {"index.html", "app.js", "style.css", "favicon.svg"}
    for f in files:
        text = f.read_text(encoding="utf-8")
        text = text.replace("http://www.w3.org/2000/svg", "")  # SVG's namespace name, no load
        for marker in ("http://", "https://", "//cdn", "@import"):
            assert marker not in text, f.name


# ---------------------------------------------------------------------- bad input
def truncated(sample) -> bytes:
    data = sample.read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize("path", ["/api/predict", "/api/explain?methods=gradcam"])
@pytest.mark.parametrize("make, name, status, message", [
    (lambda s: None, "x.png", 400, NO_FILE),
    (lambda s: b"", "empty.png", 422, "empty.png: file is empty"),
    (lambda s: b"just some text\n", "notes.txt", 422,
     "notes.txt: not a readable image (corrupt, truncated or unsupported format)"),
    (truncated, "cut.jpeg", 422,
     "cut.jpeg: not a readable image (corrupt, truncated or unsupported format)"),
    (lambda s: png_bytes(np.zeros((8, 8), np.uint8)), "tiny.png", 422,
     "tiny.png: image is too small (8x8 px; at least 16 px a side)"),
    (lambda s: None, "bomb.png", 422,
     "bomb.png: image is too large (10000x9000 px; at most 80,000,000 pixels)"),
    (lambda s: b"x" * (1024 * 1024 + 1), "big.jpeg", 413, "upload too large: the limit is 1 MB"),
])
def test_bad_uploads_get_a_json_error(client, sample, path, make, name, status, message):
    data = make(sample)
    if name == "bomb.png":
        from conftest import png_bomb

        data = png_bomb(10_000, 9_000)  # 90 Mpx in < 100 kB
    r = post(client, path, data, name)
    assert r.status_code == status
    assert r.is_json and r.get_json() == {"error": message}


def test_wrong_field_and_file_names_that_are_paths(client, sample):
    r = post(client, "/api/predict", sample.read_bytes(), field="image")
    assert (r.status_code, r.get_json()) == (400, {"error": NO_FILE})
    r = post(client, "/api/predict", b"junk", name="../../etc/passwd")
    assert r.get_json() == {"error": "passwd: not a readable image (corrupt, truncated or "
                                     "unsupported format)"}
    r = post(client, "/api/predict", b"junk", name="C:\\x\\scan\x07\t.png")
    shown = r.get_json()["error"].split(": ")[0]  # what is left of C:\x\ depends on Werkzeug
    assert shown.endswith("scan.png") and not set("/\\\x07\t") & set(shown)
    r = post(client, "/api/predict", b"junk", name="")
    assert r.get_json()["error"].startswith("upload: ")


@pytest.mark.parametrize("query, message", [
    ("methods=nope", f"unknown method 'nope'; choose from {ALL}"),
    ("methods=gradcam,shap,nope", f"unknown method 'nope'; choose from {ALL}"),
    ("methods=", f"no method given; choose from {ALL}"),
    ("methods=gradcam%2B%2B",
     "method 'gradcam++' is not enabled on this server (enabled: gradcam, lime, shap)"),
])
def test_bad_methods_get_400(client, sample, query, message):
    r = post(client, f"/api/explain?{query}", sample.read_bytes())
    assert (r.status_code, r.get_json()) == (400, {"error": message})


def test_unknown_paths_and_wrong_verbs_are_json(client):
    r = client.get("/api/nothing")
    assert (r.status_code, r.get_json()) == (404, {"error": "not found: GET /api/nothing"})
    r = client.get("/api/predict")
    assert r.status_code == 405
    assert r.get_json() == {"error": "method not allowed: GET /api/predict is not allowed "
                                     "(use OPTIONS, POST)"}


def test_unexpected_errors_are_500_without_a_traceback(app, client, sample, monkeypatch):
    def broken(upload):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.extensions["xaixray"], "predict", broken)
    r = post(client, "/api/predict", sample.read_bytes())
    assert r.status_code == 500
    assert r.get_json() == {"error": "internal error; the server log has the details"}


# ---------------------------------------------------------------------- uploads on disk
def test_uploads_are_read_from_a_fresh_folder_that_is_removed(sample, tmp_path, monkeypatch):
    from xaixray.serve import service

    seen = []

    def spy(path):
        seen.append((path, path.parent.exists(), sorted(p.name for p in path.parent.iterdir())))
        return xaixray.imaging.read_image(path)

    monkeypatch.setattr(service, "read_image", spy)
    upload = service.decode_upload(sample.read_bytes(), "../../../evil.jpeg", str(tmp_path))
    assert upload.name == "evil.jpeg" and upload.image.ndim == 2
    with pytest.raises(xaixray.ImageError, match=r"^evil\.jpeg: not a readable image"):
        service.decode_upload(b"junk", "../../../evil.jpeg", str(tmp_path))
    assert len(seen) == 2 and seen[0][0].parent != seen[1][0].parent
    for path, existed, content in seen:
        assert path.name == "upload" and existed and content == ["upload"]
        assert path.parent.parent == tmp_path and path.parent.name.startswith("xaixray-upload-")
    assert list(tmp_path.iterdir()) == []  # every per-request folder is gone


def test_uploads_stay_in_memory_until_their_folder(client, monkeypatch):
    """Werkzeug would spool uploads over 500 kB to an anonymous temporary file; not here."""
    import werkzeug.formparser

    def no_disk(*args, **kwargs):
        raise AssertionError("the upload was spooled to disk")

    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", no_disk)
    monkeypatch.setattr(werkzeug.formparser, "TemporaryFile", no_disk, raising=False)
    noise = np.random.default_rng(0).integers(0, 256, (1000, 900), dtype=np.uint8)
    data = png_bytes(noise)
    assert 600_000 < len(data) < 1024 * 1024
    r = post(client, "/api/predict", data, "noise.png")
    assert r.status_code == 200, r.get_json()


# ---------------------------------------------------------------------- load and threads
def test_slow_methods_are_bounded_and_do_not_block_predictions(tiny_classifier, sample):
    from xaixray.serve import create_app

    app = create_app(tiny_classifier, "gradcam,lime", workers=1, queue=0, **FAST)
    service, client = app.extensions["xaixray"], app.test_client()
    release, started = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(30)

    holder = threading.Thread(target=service._in_pool, args=(hold,))
    holder.start()
    try:
        assert started.wait(30)
        r = post(client, "/api/explain?methods=lime", sample.read_bytes())
        assert r.status_code == 503 and r.headers["Retry-After"] == "30"
        assert r.get_json() == {"error": "the server is busy: 1 slow requests are running "
                                         "or waiting; try again in a minute"}
        assert post(client, "/api/predict", sample.read_bytes()).status_code == 200
        assert post(client, "/api/explain?methods=gradcam", sample.read_bytes()).status_code == 200
    finally:
        release.set()
        holder.join(30)
    assert post(client, "/api/explain?methods=lime", sample.read_bytes()).status_code == 200
    service.close()


def test_concurrent_requests_match_sequential_ones(app, sample):
    images = [sample.read_bytes(), xaixray.sample_images()[0].read_bytes(),
              png_bytes(cv2.flip(xaixray.load_image(sample), 1))]
    requests = [(path, i) for i in range(len(images))
                for path in ("/api/predict", "/api/explain?methods=gradcam")]
    client = app.test_client()
    expected = {req: post(client, req[0], images[req[1]]).get_json() for req in requests}
    start = threading.Barrier(6)
    got: list = []

    def work(worker: int) -> None:
        own = app.test_client()
        start.wait()
        for n in range(len(requests)):
            req = requests[(n + worker) % len(requests)]
            r = post(own, req[0], images[req[1]])
            got.append((req, r.status_code, r.get_json()))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 6 * len(requests)
    for req, status, body in got:
        assert status == 200, body
        want = expected[req]
        assert body["probabilities"] == pytest.approx(want["probabilities"], abs=1e-6)
        if "explanations" in want:
            e, w = body["explanations"]["gradcam"], want["explanations"]["gradcam"]
            assert e["summary"].keys() == w["summary"].keys()
            for key, value in w["summary"].items():  # approx() takes no nested lists
                assert e["summary"][key] == (value if isinstance(value, list) else
                                             pytest.approx(value, abs=1e-5)), key
            assert e["png"] == w["png"], req


# ---------------------------------------------------------------------- without Flask, CLI
def test_missing_flask_is_one_line_naming_the_extra(tiny_classifier, monkeypatch, capsys):
    import importlib.util

    from xaixray.cli import main
    from xaixray.serve import create_app

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "flask" else real(name, *a))
    with pytest.raises(XaixrayError, match=r'^the web app needs Flask: pip install '
                                           r'"xaixray\[serve\]"$'):
        create_app(tiny_classifier)
    assert main(["serve"]) == 1
    assert capsys.readouterr().err == ('xaixray serve: error: the web app needs Flask: '
                                       'pip install "xaixray[serve]"\n')


def test_serve_help_imports_neither_tensorflow_nor_flask():
    code = ("import sys\nfrom xaixray.cli import main\n"
            "for argv in (['serve', '--help'], ['serve', '--port', 'x']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "bad = [m for m in ('tensorflow', 'keras', 'flask') if m in sys.modules]\n"
            "assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "x: expected a port number" in result.stderr


def test_serve_command_prints_the_url_and_binds_to_localhost(tiny_model_path, monkeypatch,
                                                             capsys):
    from xaixray.cli import main
    from xaixray.serve import server

    made = []

    class FakeServer:
        server_port = 8123

        def serve_forever(self):
            raise KeyboardInterrupt

        def server_close(self):
            made.append("closed")

    def fake_make_server(app, host, port):
        made.append((host, port, app.extensions["xaixray"].methods))
        return FakeServer()

    monkeypatch.setattr(server, "make_server", fake_make_server)
    monkeypatch.setattr("xaixray.serve.make_server", fake_make_server)
    assert main(["serve", str(tiny_model_path), "--port", "8123", "--methods", "gradcam"]) == 0
    out, err = capsys.readouterr()
    assert made == [("127.0.0.1", 8123, ["gradcam"]), "closed"]
    assert out == "xaixray serve: model tiny at http://127.0.0.1:8123/ (Ctrl+C to stop)\n"
    assert "warning" not in err
    assert main(["serve", str(tiny_model_path), "--host", "0.0.0.0", "--methods", "gradcam"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("xaixray serve: model tiny at http://0.0.0.0:8123/")
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine" in err


def test_port_in_use_is_one_line(tiny_model_path, capsys):
    import socket

    from xaixray.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(tiny_model_path), "--port", str(port),
                     "--methods", "gradcam"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"xaixray serve: error: cannot listen on 127.0.0.1:{port} (")
    assert err.endswith("); choose another --port\n") and err.count("\n") == 1


def test_app_from_env(tiny_model_path, monkeypatch):
    from xaixray.serve import app_from_env

    monkeypatch.setenv("XAIXRAY_MODEL", str(tiny_model_path))
    monkeypatch.setenv("XAIXRAY_METHODS", "gradcam")
    monkeypatch.setenv("XAIXRAY_MAX_UPLOAD_MB", "2.5")
    app = app_from_env()
    health = app.test_client().get("/api/health").get_json()
    assert (health["model"], health["methods"], health["max_upload_mb"]) == ("tiny", ["gradcam"],
                                                                              2.5)
    assert app.config["MAX_CONTENT_LENGTH"] == int(2.5 * 1024 * 1024)
    app.extensions["xaixray"].close()
