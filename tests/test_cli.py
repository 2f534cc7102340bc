"""The command line: fast help, clear one-line errors, train -> evaluate -> predict."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from xaixray.classifier import read_metadata
from xaixray.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xaixray", *args], capture_output=True,
                          text=True, timeout=600)


def test_help_and_argument_errors_do_not_import_tensorflow():
    code = ("import sys\nfrom xaixray.cli import main\n"
            "for argv in (['--help'], ['train', '--help'], ['train', '--arch', 'x']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
            "assert 'keras' not in sys.modules, 'keras imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_argument_error_exits_2_without_traceback(capsys):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "missing.keras", "nowhere"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "missing.keras: no such model file" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [("models",), ("models", "--help")])
def test_a_reader_that_closed_the_pipe_gets_no_broken_pipe_message(args):
    # `xaixray models | head -c 1`, with the reader gone before the first write (a closed read
    # end, so the write always fails, not only when the output outgrows the pipe's buffer)
    import os

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "xaixray", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=600)
    finally:
        os.close(write)
    assert done.stderr == "" and done.returncode in (0, 1)


def test_models_lists_the_zoo(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("cnn_lstm", "row_lstm", "mobilenet", "resnet50", "gray_cnn_lstm", "simple_cnn"):
        assert name in out


def test_unknown_arch_is_one_line(phantom_folder, tmp_path, capsys):
    assert main(["train", "--arch", "nope", "--data", str(phantom_folder),
                 "--out", str(tmp_path / "m.keras")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("xaixray train: error: unknown architecture") and "\n" not in err


def test_bad_model_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_text("not a model")
    assert main(["predict", str(bad), str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert "not a Keras .keras model file" in err and "Traceback" not in err


def test_train_evaluate_predict(phantom_folder, tmp_path):
    out = tmp_path / "model.keras"
    r = run_cli("train", "--arch", "compact_cnn", "--data", str(phantom_folder), "--out", str(out),
                "--epochs", "1", "--input-size", "32", "--batch-size", "8",
                "--val-fraction", "0.25", "--seed", "1", "--split-seed", "0",
                "--strategy", "mirrored",  # tf.distribute's mirrored path, on the CPU device
                "--precise-bn")
    assert r.returncode == 0, r.stderr
    assert out.exists() and out.with_suffix(".history.json").exists()
    info = read_metadata(out)["info"]
    assert info["validation_split"] == {"grouped_by": "patient", "fraction": 0.25, "seed": 0}
    assert info["training"]["seed"] == 1
    assert info["training"]["precise_bn_batches"] == -(-info["training"]["train_images"] // 8)
    assert info["strategy"] == {"name": "mirrored", "replicas": 1}
    assert out.with_suffix(".curves.png").exists()
    assert "Traceback" not in r.stderr and "cuda" not in r.stderr.lower()

    r = run_cli("train", "--arch", "compact_cnn", "--data", str(phantom_folder), "--out", str(out))
    assert r.returncode == 1 and "already exists" in r.stderr  # never overwrites

    metrics = tmp_path / "metrics.json"
    r = run_cli("evaluate", str(out), str(phantom_folder), "--json", str(metrics),
                "--plots", str(tmp_path / "plots"))
    assert r.returncode == 0, r.stderr
    assert json.loads(metrics.read_text())["n"] == 12
    assert (tmp_path / "plots" / "roc.png").exists()

    bad = tmp_path / "broken.jpeg"
    bad.write_bytes(b"\xff\xd8 truncated")
    r = run_cli("predict", str(out), str(phantom_folder / "test" / "NORMAL"), str(bad), "--json")
    assert r.returncode == 1  # one bad input -> non-zero, but the others are predicted
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    n_normal = len(list((phantom_folder / "test" / "NORMAL").iterdir()))
    assert len(rows) == n_normal and {"image", "prediction", "probabilities"} <= set(rows[0])
    assert "broken.jpeg: not a readable image" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------------- no raw library output
def test_evaluate_on_one_class_skips_auc_and_roc_plainly(tiny_model_path, tmp_path):
    import cv2
    import numpy as np

    data = tmp_path / "data"
    (data / "PNEUMONIA").mkdir(parents=True)
    (data / "NORMAL").mkdir()
    for i in range(4):
        cv2.imwrite(str(data / "NORMAL" / f"IM-{i:04d}-0001.png"),
                    np.random.default_rng(i).integers(0, 256, (40, 40), dtype=np.uint8))
    plots = tmp_path / "plots"
    r = run_cli("evaluate", str(tiny_model_path), str(data), "--plots", str(plots))
    assert r.returncode == 0, r.stderr
    assert "ROC AUC and the ROC curve need images of both classes" in r.stderr
    assert "ROC AUC      n/a" in r.stdout
    assert "Warning" not in r.stderr and "warn" not in r.stderr  # no raw scikit-learn output
    assert len(r.stderr.strip().splitlines()) == 1
    assert (plots / "confusion_matrix.png").exists() and not (plots / "roc.png").exists()


def test_unexpected_errors_are_one_line_naming_the_input(tiny_model_path, tmp_path, capsys,
                                                         monkeypatch):
    import cv2
    import numpy as np

    from xaixray.preprocessing import Preprocessing

    image = tmp_path / "chest.png"
    cv2.imwrite(str(image), np.zeros((40, 40), np.uint8))

    def broken(self, image, box=None):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(Preprocessing, "fit", broken)
    for command in ("predict", "explain"):
        code = main([command, str(tiny_model_path), str(image), "--out", str(tmp_path / "o")]
                    if command == "explain" else [command, str(tiny_model_path), str(image)])
        assert code == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"xaixray {command}: error: unexpected RuntimeError on "
                              f"{image}: boom"), err
        assert "--debug" in err and "\n" not in err and "Traceback" not in err
    assert main(["predict", str(tiny_model_path), str(image), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err
    assert main(["--debug", "predict", str(tiny_model_path), str(image)]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_library_warnings_and_logs_are_hidden_unless_debug(monkeypatch, recwarn, caplog):
    import logging
    import warnings

    from xaixray.cli import models

    def noisy(args):
        warnings.warn("a library's warning", UserWarning, stacklevel=1)
        logging.getLogger("absl").warning("a library's log message")
        logging.getLogger("tensorflow").warning("another one")
        return 0

    monkeypatch.setattr(models, "run", noisy)
    assert main(["models"]) == 0
    assert not [w for w in recwarn if "library" in str(w.message)]
    assert not [r for r in caplog.records if r.levelno < logging.ERROR]
    assert main(["models", "--debug"]) == 0
    assert [w for w in recwarn if "library" in str(w.message)]
    shown = {r.getMessage() for r in caplog.records}
    assert {"a library's log message", "another one"} <= shown


def test_sample_count_defaults_are_the_methods_own():
    """--num-samples and --max-evals default to what LIME and SHAP use from Python."""
    import inspect

    from xaixray.cli.common import LIME_SAMPLES, SHAP_EVALS
    from xaixray.explainers import LIME, SHAP

    def default(cls, name):
        return inspect.signature(cls.__init__).parameters[name].default

    assert default(LIME, "num_samples") == LIME_SAMPLES
    assert default(SHAP, "max_evals") == SHAP_EVALS


def test_a_broken_pipe_that_is_not_stdout_is_a_one_line_error(monkeypatch, capsys):
    # a socket or a child's pipe that breaks inside a command is an error to report, not a
    # reader that went away
    import xaixray.cli.models as models

    def broken(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(models, "run", broken)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("xaixray models: error:") and "Broken pipe" in err
    assert err.count("\n") == 1
