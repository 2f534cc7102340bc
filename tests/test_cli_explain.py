"""``xaixray explain``: files written, one-line errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import write_phantom_images

from xaixray.cli import main

FAST = ["--num-samples", "20", "--max-evals", "20"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):

    folder = tmp_path_factory.mktemp("xrays")
    good = write_phantom_images(folder, 2, 64, seed=9, stem="chest")
    bad = folder / "corrupt.jpg"
    bad.write_bytes(b"this is text, not a JPEG\n" * 10)
    return good, bad


def test_methods_are_checked_before_tensorflow_loads():
    code = ("import sys\nfrom xaixray.cli import main\n"
            "for argv in (['explain', '--help'], ['explain', 'm.keras', 'x.png', '--methods', "
            "'nope']):\n    try:\n        main(argv)\n    except SystemExit as e:\n"
            "        assert e.code in (0, 2), e.code\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "unknown method 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_explain_writes_reports_skips_a_corrupt_image_and_exits_1(tiny_model_path, inputs,
                                                                  tmp_path, capsys):
    good, bad = inputs
    out = tmp_path / "out"
    code = main(["explain", str(tiny_model_path), *map(str, good), str(bad), "--out", str(out),
                 "--methods", "gradcam,lime,shap", *FAST])
    assert code == 1
    captured = capsys.readouterr()
    bad_lines = [line for line in captured.err.splitlines() if "corrupt.jpg" in line]
    assert bad_lines and all("not a readable image" in line for line in bad_lines)
    assert "Traceback" not in captured.err
    assert str(out / "index.html") in captured.out
    assert f"explained {len(good)} images in " in captured.out and "images/s" in captured.out
    for p in good:
        folder = out / p.stem
        assert {f.name for f in folder.iterdir()} == {"figure.png", "report.json",
                                                      "report.html"}
        report = json.loads((folder / "report.json").read_text())
        assert list(report["methods"]) == ["gradcam", "lime", "shap"]
        assert report["methods"]["lime"]["params"]["num_samples"] == 20
        assert report["methods"]["shap"]["params"]["max_evals"] == 20
    index = (out / "index.html").read_text()
    assert 'href="chest0/report.html"' in index and 'href="chest1/report.html"' in index


def test_single_image_target_seed_and_overwrite(tiny_model_path, inputs, tmp_path, capsys):
    good, _ = inputs
    out = tmp_path / "one"
    args = ["explain", str(tiny_model_path), str(good[0]), "--out", str(out), "--methods",
            "gradcam++,lime", "--target", "NORMAL", "--seed", "3", *FAST]
    assert main(args) == 0
    assert f"report: {out / 'chest0' / 'report.html'}" in capsys.readouterr().out
    assert not (out / "index.html").exists()
    report = json.loads((out / "chest0" / "report.json").read_text())
    assert report["methods"]["gradcam++"]["target_name"] == "NORMAL"
    assert report["methods"]["lime"]["seed"] == 3
    assert set(report["faithfulness"]["methods"]) == {"gradcam++", "lime"}  # on by default

    assert main(args) == 1  # the folder now holds a report
    err = capsys.readouterr().err.strip()
    assert "already exists and is not empty" in err and "\n" not in err
    assert main([*args, "--overwrite", "--no-faithfulness"]) == 0
    assert json.loads((out / "chest0" / "report.json").read_text())["faithfulness"] is None


def test_one_line_errors(tiny_model_path, inputs, tmp_path, capsys):
    good, _ = inputs
    base = ["explain", str(tiny_model_path), str(good[0]), "--out", str(tmp_path / "o")]
    assert main([*base, "--target", "COVID"]) == 1
    err = capsys.readouterr().err.strip()
    assert "unknown target class 'COVID'" in err and "\n" not in err
    assert main([*base, "--methods", "gradcam", "--layer", "nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert "no layer named 'nope'" in err and "\n" not in err
    with pytest.raises(SystemExit) as info:
        main([*base, "--num-samples", "0"])
    assert info.value.code == 2
    assert main(["explain", str(tiny_model_path), str(tmp_path / "missing.png"),
                 "--out", str(tmp_path / "m")]) == 1
    assert "missing.png: no such file" in capsys.readouterr().err


def test_dollar_signs_in_names_do_not_break_the_figure(tiny_model_path, inputs, tmp_path, capsys):
    """Matplotlib reads $...$ as math; a file called cost_$5_and_$6.png must still be reported."""
    odd = tmp_path / "cost_$5_and_$6.png"
    odd.write_bytes(inputs[0][0].read_bytes())
    out = tmp_path / "out"
    code = main(["explain", str(tiny_model_path), str(odd), "--methods", "gradcam",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert len(list(out.rglob("figure.png"))) == 1


def test_unwritable_output_is_one_line(tiny_model_path, inputs, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = main(["explain", str(tiny_model_path), str(inputs[0][0]), "--methods", "gradcam",
                 "--out", str(blocker / "reports")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_shap_masker_reaches_shap_and_a_bad_one_is_one_line(tiny_model_path, inputs, tmp_path,
                                                            capsys):
    good, _ = inputs
    out = tmp_path / "masker"
    base = ["explain", str(tiny_model_path), str(good[0]), "--methods", "shap",
            "--max-evals", "40", "--no-faithfulness"]
    assert main([*base, "--out", str(out), "--shap-masker", "inpaint_telea"]) == 0
    report = json.loads((out / "chest0" / "report.json").read_text())
    assert report["methods"]["shap"]["params"]["masker"] == "inpaint_telea"
    assert main([*base, "--out", str(tmp_path / "bad"), "--shap-masker", "paint"]) == 1
    err = capsys.readouterr().err.strip()
    assert "unknown SHAP masker 'paint'" in err and "\n" not in err
