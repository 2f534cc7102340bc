"""Figures and reports: panels, JSON keys, self-contained HTML, safe folders, index pages."""

from __future__ import annotations

import dataclasses
import json
import re

import cv2
import numpy as np
import pytest

from xaixray.files import TEMP_PREFIX

FAST = {"num_samples": 30, "max_evals": 30}


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    from xaixray.data import make_phantoms

    ph = make_phantoms(2, 80, seed=5)
    return [ph.images[0][:, 5:75].copy(), ph.images[1]]


@pytest.fixture(scope="module")
def result(tiny_classifier, images):
    from xaixray import explain

    [r] = explain(tiny_classifier, images[0], methods=("gradcam", "lime", "shap"), **FAST)
    return r


@pytest.fixture(scope="module")
def image_files(tmp_path_factory, images):
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i, im in enumerate(images):
        p = folder / f"case{i}.png"
        cv2.imwrite(str(p), im)
        paths.append(p)
    bad = folder / "broken.jpg"
    bad.write_text("these are not JPEG bytes")
    return paths, bad


# ---------------------------------------------------------------------- figure
def test_figure_has_one_panel_per_method_and_the_xray(result):
    from matplotlib.figure import Figure

    from xaixray.plots import figure_to_png, plot_explanations

    fig = plot_explanations(result)
    assert isinstance(fig, Figure)
    images = [ax for ax in fig.axes if ax.get_images()]
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert {"X-ray", "Grad-CAM", "LIME", "SHAP"} <= set(re.findall(r"[A-Za-z-]+", titles))
    assert len(images) >= 4
    assert "tiny" in fig.get_suptitle() and result.prediction_name in fig.get_suptitle()
    png = figure_to_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_failed_methods_get_a_panel_with_their_message(result):
    from xaixray.plots import plot_explanations

    failed = dataclasses.replace(result, errors={"gradcam++": "Grad-CAM needs a convolutional "
                                                               "layer; model 'x' has none"},
                                 methods=[*result.methods, "gradcam++"])
    fig = plot_explanations(failed)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "convolutional" in texts
    assert any("not available" in ax.get_title() for ax in fig.axes)


def test_colour_and_large_images_plot(tiny_classifier, images):
    from xaixray import explain

    big = cv2.resize(np.stack([images[1]] * 3, axis=-1), (1200, 1000))
    big[..., 0] //= 2
    [r] = explain(tiny_classifier, big, methods=("gradcam", "lime"), **FAST)
    assert r.explanations["lime"].heatmap.shape == (1000, 1200)
    from xaixray.plots import plot_explanations

    fig = plot_explanations(r, max_side=256)
    shown = [ax.get_images()[0].get_array().shape for ax in fig.axes if ax.get_images()]
    assert max(max(s[:2]) for s in shown) <= 256


# ---------------------------------------------------------------------- JSON and HTML
def test_report_json_has_the_documented_keys(result, tmp_path):
    from xaixray import __version__
    from xaixray.reports import write_report

    page = write_report(result, tmp_path / "one")
    assert page == tmp_path / "one" / "report.html"
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [
        "figure.png", "report.html", "report.json"]
    report = json.loads((tmp_path / "one" / "report.json").read_text())
    assert {"xaixray_version", "report_format", "created", "image", "model", "prediction",
            "probabilities", "methods", "agreement", "errors", "seconds", "files"} <= set(report)
    assert report["xaixray_version"] == __version__
    assert report["image"] == {"source": result.source, "name": result.source, "height": 80,
                               "width": 70, "channels": 1, "model_box": None}
    assert report["model"]["name"] == "tiny" and report["model"]["preprocessing"]["channels"] == 1
    assert report["prediction"]["class"] in ("NORMAL", "PNEUMONIA")
    assert list(report["methods"]) == ["gradcam", "lime", "shap"]
    for d in report["methods"].values():
        assert {"target", "target_name", "score", "params", "seconds", "seed", "summary"} <= set(d)
        assert set(d["summary"]) == {"peak", "peak_value", "half_mass_area", "positive_fraction"}
    assert report["methods"]["lime"]["params"]["num_samples"] == 30
    assert report["methods"]["lime"]["seed"] == 0 and report["methods"]["gradcam"]["seed"] is None
    assert len(report["agreement"]) == 3
    assert {"methods", "spearman", "top_overlap"} == set(report["agreement"][0])


def test_reports_say_how_faithful_each_map_is(result, tmp_path):
    from xaixray.reports import write_report

    assert result.faithfulness is not None  # measured by default
    write_report(result, tmp_path / "f")
    report = json.loads((tmp_path / "f" / "report.json").read_text())
    faith = report["faithfulness"]
    assert list(faith["methods"]) == list(report["methods"])
    for d in faith["methods"].values():
        assert {"deletion_auc", "deletion_auc_random", "insertion_auc", "insertion_auc_random",
                "deletion_better", "insertion_better", "verdict", "border_share",
                "outside_body_share", "warnings", "curves"} <= set(d)
        assert d["verdict"].startswith(("better than random", "no better than random"))
    html = (tmp_path / "f" / "report.html").read_text()
    assert "How faithful is each map?" in html
    assert html.count("data:image/png;base64,") == 2  # the maps and the curves
    for d in faith["methods"].values():
        assert d["verdict"] in html


def test_faithfulness_can_be_left_out(tiny_classifier, images, tmp_path):
    from xaixray import explain
    from xaixray.reports import write_report

    [r] = explain(tiny_classifier, images[1], methods=("gradcam",), faithfulness=False)
    assert r.faithfulness is None
    write_report(r, tmp_path / "n")
    assert json.loads((tmp_path / "n" / "report.json").read_text())["faithfulness"] is None
    html = (tmp_path / "n" / "report.html").read_text()
    assert "How faithful" not in html and html.count("data:image/png;base64,") == 1


def test_faithfulness_figure(result):
    from xaixray.plots import plot_faithfulness

    fig = plot_faithfulness(result)
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["Deletion", "Insertion"]
    # one random curve (all maps explain one class) and one line per method, in each panel
    assert all(len(ax.get_lines()) == 1 + len(result.explanations) for ax in fig.axes)
    assert plot_faithfulness({"methods": {}}) is None


def test_html_is_self_contained_and_escaped(result, tmp_path):
    from xaixray.reports import write_report

    hostile = dataclasses.replace(result, source="<script>alert('x').png",
                                  errors={"gradcam++": "a <b>bold</b> claim"},
                                  methods=[*result.methods, "gradcam++"])
    html = write_report(hostile, tmp_path / "h").read_text()
    assert "data:image/png;base64," in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "a &lt;b&gt;bold&lt;/b&gt; claim" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing fetched from elsewhere
    assert "Not for clinical use" in html


# ---------------------------------------------------------------------- folders and files
def test_existing_folders_are_not_overwritten_silently(result, tmp_path):
    from xaixray.reports import ReportError, write_report

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(ReportError, match="already exists and is not empty"):
        write_report(result, folder)
    write_report(result, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "keep me"
    assert (folder / "report.json").exists()
    assert sorted(p.name for p in folder.iterdir()) == [
        "figure.png", "notes.txt", "report.html", "report.json"]  # no temporary file left
    assert not list(folder.glob(f"{TEMP_PREFIX}*"))


def test_folder_names_are_safe_and_distinct():
    from xaixray.reports import folder_names

    names = folder_names(["a/x.png", "b/x.png", "c/X.jpeg", "d/we ird<>.png", "e/__.png",
                          "f/index.html.png"])
    assert names[:3] == ["x", "x-2", "X-3"]
    assert names[3] == "we_ird"
    assert names[4] == "image-5"
    assert names[5] != "index.html"
    assert len(set(n.lower() for n in names)) == len(names)


def test_atomic_write_replaces_in_one_step(tmp_path):
    from xaixray.reports import atomic_write

    target = tmp_path / "f.txt"
    atomic_write(target, "one")
    atomic_write(target, b"two")
    assert target.read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_explain_paths_writes_reports_and_an_index(tiny_classifier, image_files, tmp_path):
    from xaixray.run import explain_paths

    paths, bad = image_files
    messages: list[str] = []
    run = explain_paths(tiny_classifier, [*paths, bad], tmp_path / "out",
                        methods="gradcam,lime", on_message=messages.append, **FAST)
    assert not run.ok and len(run.failures) == 1 and "broken.jpg" in run.failures[0]
    assert any("broken.jpg" in m for m in messages)
    assert [p.parent.name for p in run.reports] == ["case0", "case1"]
    index = (tmp_path / "out" / "index.html").read_text()
    assert run.index == tmp_path / "out" / "index.html" == run.main_page
    for name in ("case0", "case1"):
        assert f'href="{name}/report.html"' in index
        assert (tmp_path / "out" / name / "figure.png").stat().st_size > 1000
        report = json.loads((tmp_path / "out" / name / "report.json").read_text())
        assert set(report["faithfulness"]["methods"]) == {"gradcam", "lime"}
        faithful = {m: d["faithful"] for m, d in report["faithfulness"]["methods"].items()}
        verdicts = ", ".join(f"{title} {'yes' if faithful[m] else 'no'}"
                             for m, title in (("gradcam", "Grad-CAM"), ("lime", "LIME")))
        assert f"<td>{verdicts}</td>" in index  # each map's faithfulness verdict, per image
    assert "map faithful?" in index and "broken.jpg" in index


def test_explain_paths_single_image_and_failing_methods(tiny_classifier, image_files, tmp_path):
    from xaixray.errors import ExplainerError
    from xaixray.run import explain_paths

    paths, _ = image_files
    run = explain_paths(tiny_classifier, paths[:1], tmp_path / "one", methods=["gradcam"],
                        target="PNEUMONIA", faithfulness=False)
    assert run.ok and run.index is None and run.main_page == run.reports[0]
    report = json.loads((run.reports[0].parent / "report.json").read_text())
    assert report["methods"]["gradcam"]["target_name"] == "PNEUMONIA"
    assert report["faithfulness"] is None
    with pytest.raises(ExplainerError, match="no layer named 'nope'"):
        explain_paths(tiny_classifier, paths[:1], tmp_path / "two", methods=["gradcam"],
                      layer="nope")
    assert not (tmp_path / "two").exists()  # nothing written when nothing can run


# ---------------------------------------------------------------------- paths and privacy
PRIVATE = "Jane_Doe_1987"  # a folder named after a patient


def _all_text(fig) -> str:
    texts = [fig.get_suptitle()]
    for ax in fig.axes:
        texts += [ax.get_title(), *(t.get_text() for t in ax.texts)]
    return " ".join(texts)


@pytest.fixture
def private_files(tmp_path, images):
    folder = tmp_path / PRIVATE
    folder.mkdir()
    paths = []
    for i, im in enumerate(images):
        paths.append(folder / f"{PRIVATE}_chest{i}.png")
        cv2.imwrite(str(paths[-1]), im)
    bad = folder / f"{PRIVATE}_broken.jpg"
    bad.write_text("not a JPEG")
    return paths, bad


def test_figures_and_pages_show_the_file_name_and_only_json_the_path(tiny_classifier,
                                                                     private_files, tmp_path):
    from xaixray import explain
    from xaixray.plots import plot_explanations
    from xaixray.run import explain_paths

    paths, _ = private_files
    [result] = explain(tiny_classifier, paths[0], methods=("gradcam",))
    shown = _all_text(plot_explanations(result))
    assert paths[0].name[:20] in shown and str(paths[0].parent) not in shown
    run = explain_paths(tiny_classifier, paths, tmp_path / "out", methods="gradcam")
    for page in [*run.reports, run.index]:
        html = page.read_text()
        assert str(tmp_path) not in html, page  # no folder, let alone the full path
    assert f"<h1>{paths[0].name}</h1>" in run.reports[0].read_text()
    assert paths[1].name in run.index.read_text()
    report = json.loads((run.reports[0].parent / "report.json").read_text())
    assert report["image"]["source"] == str(paths[0])  # the full path, in the data only
    assert report["image"]["name"] == paths[0].name


def test_anonymize_leaves_paths_and_file_names_out_of_every_output(tiny_model_path,
                                                                   private_files, tmp_path,
                                                                   capsys):
    from xaixray import load_image
    from xaixray.cli import main
    from xaixray.imaging import anonymous_name

    paths, bad = private_files
    out = tmp_path / "out"
    code = main(["explain", str(tiny_model_path), str(paths[0].parent), "--anonymize",
                 "--methods", "gradcam,lime", "--num-samples", "20", "--out", str(out)])
    assert code == 1  # the broken file
    assert "broken" in capsys.readouterr().err  # the person running it is told which file
    written = [p for p in out.rglob("*")]
    assert len([p for p in written if p.is_file()]) == 1 + 3 * len(paths)
    for p in written:
        assert "jane" not in str(p.relative_to(out)).lower() and "chest" not in p.name
        if p.is_file():
            data = p.read_bytes()
            assert PRIVATE.encode() not in data and str(tmp_path).encode() not in data, p
            assert b"_chest0" not in data and b"_broken" not in data, p
    expected = {anonymous_name(load_image(p)) for p in paths}
    assert {p.name for p in out.iterdir() if p.is_dir()} == expected
    for name in expected:
        report = json.loads((out / name / "report.json").read_text())
        assert report["image"]["source"] == report["image"]["name"] == name
    assert re.search(r"input \d: not a readable image", (out / "index.html").read_text())


def test_write_report_anonymize_keyword_names_the_figure_by_hash(result, tmp_path,
                                                                 monkeypatch):
    from xaixray.reports import writer

    figures = []
    plot = writer.plot_explanations
    monkeypatch.setattr(writer, "plot_explanations",
                        lambda r, **kw: figures.append(plot(r, **kw)) or figures[-1])
    private = dataclasses.replace(result, source=f"/data/{PRIVATE}/scan.png")
    writer.write_report(private, tmp_path / "named")
    writer.write_report(private, tmp_path / "anon", anonymize=True)
    assert "scan.png" in _all_text(figures[0]) and PRIVATE not in _all_text(figures[0])
    assert "scan" not in _all_text(figures[1]) and "image-" in _all_text(figures[1])
    for f in (tmp_path / "anon").iterdir():
        assert b"scan" not in f.read_bytes() and PRIVATE.encode() not in f.read_bytes()
