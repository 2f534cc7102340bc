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
                "--strategy", "mirrored")  # tf.distribute's mirrored path, on the CPU device
    assert r.returncode == 0, r.stderr
    assert out.exists() and out.with_suffix(".history.json").exists()
    info = read_metadata(out)["info"]
    assert info["validation_split"] == {"grouped_by": "patient", "fraction": 0.25, "seed": 0}
    assert info["training"]["seed"] == 1
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
