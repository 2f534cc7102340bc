"""Ctrl-C during a folder run: every finished report is complete, nothing is half-written, no
temporary file is left, and the command exits 130 with one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import pytest
from conftest import write_phantom_images

from xaixray.files import TEMP_PREFIX
from xaixray.reports import FILES

REPORT_FILES = set(FILES.values())


def _check_complete(out) -> list[str]:
    """The report folders under ``out``, each checked complete; no temporaries anywhere."""
    assert not [p for p in out.rglob(f"{TEMP_PREFIX}*")], "temporary files left"
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    for folder in folders:
        assert {p.name for p in folder.iterdir()} == REPORT_FILES, folder
        json.loads((folder / FILES["json"]).read_text())
        assert (folder / FILES["html"]).read_text().endswith("</html>\n")
        png = (folder / FILES["figure"]).read_bytes()
        assert png.startswith(b"\x89PNG") and png.endswith(b"IEND\xaeB`\x82")
    return [f.name for f in folders]


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_during_a_folder_run(tiny_model_path, tmp_path):
    from xaixray.data import make_phantoms

    images = tmp_path / "images"
    images.mkdir()
    from xaixray.run.explanations import CHUNK

    n = 40  # more than two blocks of a folder run, so that work is left after the first report
    assert n > 2 * CHUNK
    for i, im in enumerate(make_phantoms(n, 64, seed=1).images):
        cv2.imwrite(str(images / f"chest{i:02d}.png"), im)
    out = tmp_path / "out"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    # as from a terminal: a job started in the background by a non-interactive shell (as CI
    # may be) inherits SIGINT ignored, and Python then keeps ignoring it
    as_in_a_terminal = ("import signal, sys; signal.signal(signal.SIGINT, "
                        "signal.default_int_handler); from xaixray.cli import main; "
                        "sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen(
        [sys.executable, "-c", as_in_a_terminal, "explain", str(tiny_model_path), str(images),
         "--out", str(out), "--methods", "gradcam,lime", "--num-samples", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 300
        while not list(out.glob(f"*/{FILES['html']}")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no report within 300 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (stdout, stderr)
    assert stderr.strip() == "xaixray explain: interrupted", stderr
    finished = _check_complete(out)
    assert 1 <= len(finished) < n
    index = (out / "index.html").read_text()  # the finished reports, indexed
    assert "interrupted" in index and all(f'href="{n}/report.html"' in index for n in finished)


def test_an_interrupt_while_a_report_is_written_leaves_no_part_of_it(tiny_classifier, tmp_path,
                                                                    monkeypatch):
    """Deterministic: Ctrl-C arrives in the second report after its figure.png and JSON are
    written, before its report.html (reports are written in several threads at once)."""
    from xaixray.reports import writer
    from xaixray.run import explain_paths

    paths = write_phantom_images(tmp_path, 3, 48, seed=2, stem="chest")
    real_write = writer.atomic_write

    def interrupted_write(path, data):
        page = data if isinstance(data, str) else data.decode("utf-8", "replace")
        if os.path.basename(path) == FILES["html"] and "chest1.png" in page:
            raise KeyboardInterrupt  # the second report: figure and JSON done, HTML not
        return real_write(path, data)

    monkeypatch.setattr(writer, "atomic_write", interrupted_write)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        explain_paths(tiny_classifier, paths, out, methods="gradcam")
    # reports are written in a thread: the one after the interrupted one may have been
    # written already, complete; the interrupted one leaves nothing
    done = _check_complete(out)
    assert "chest0" in done and "chest1" not in done
    index = (out / "index.html").read_text()
    assert "interrupted" in index and all(f'href="{n}/report.html"' in index for n in done)
