"""HiResCAM, Layer-CAM, Score-CAM, occlusion and RISE against answers known in advance, and the
output layer (figure, report, colours) with many methods."""

from __future__ import annotations

import numpy as np
import pytest

import xaixray
from xaixray.errors import ExplainerError
from xaixray.explainers import (
    METHODS,
    RISE,
    Explanation,
    ExplanationSet,
    HiResCAM,
    LayerCAM,
    Occlusion,
    PreparedImage,
    ScoreCAM,
    make_explainers,
)
from xaixray.imaging import resize_map

NEW = ("hirescam", "layercam", "scorecam", "occlusion", "rise")
SMALL = {"hirescam": {}, "layercam": {}, "scorecam": {"max_channels": 8},
         "occlusion": {"patch": 8, "stride": 4}, "rise": {"masks": 40, "cells": 4}}
ZOO = {"simple_cnn": {"input_size": (32, 32)}, "cnn_lstm": {"input_size": (32, 32)},
       "gray_cnn_lstm": {"input_size": (32, 32)}, "row_lstm": {"input_size": (32, 32)},
       "mobilenet": {"input_size": (32, 32), "weights": None},
       "resnet50": {"input_size": (32, 32), "weights": None}}
CAMS = ("hirescam", "layercam", "scorecam")


def _classifier(model):
    from xaixray import Classifier

    return Classifier.from_keras(model)


def _image(size: int = 24, seed: int = 0) -> np.ndarray:
    """A model-frame grayscale image ``(size, size, 1)`` in [0.2, 1]."""
    rng = np.random.default_rng(seed)
    return (0.2 + 0.8 * rng.random((size, size, 1))).astype(np.float32)


def _gap_model(head: str = "sigmoid"):
    """conv -> GlobalAveragePooling2D -> Dense: the model of the class activation map."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    return keras.Sequential([
        keras.Input((24, 24, 1)),
        layers.Conv2D(6, 3, padding="same", activation="relu", name="conv"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(1, activation=head, name="head"),
    ])


def _feature_map(model, layer: str, x: np.ndarray) -> np.ndarray:
    import keras

    probe = keras.Model(model.inputs[0], model.get_layer(layer).output)
    return np.asarray(probe(x[None]), np.float64)[0]


def _normalised(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    cam = np.maximum(cam, 0.0)
    return resize_map((cam / cam.max()).astype(np.float32), shape)


# ---------------------------------------------------------------------- HiResCAM known answers
@pytest.mark.parametrize("head", ["sigmoid", "linear"])
@pytest.mark.parametrize("target", [1, 0])
def test_hirescam_equals_the_class_activation_map_after_global_average_pooling(head, target):
    model = _gap_model(head)
    clf = _classifier(model)
    x = _image()
    fmap = _feature_map(model, "conv", x)
    w = np.asarray(model.get_layer("head").kernel, np.float64)[:, 0]
    cam = (fmap * w).sum(axis=-1) * (1 if target == 1 else -1)  # Zhou et al. 2016
    heat, extras = HiResCAM(clf)._attribute(x, target)
    np.testing.assert_allclose(heat, _normalised(cam, (24, 24)), atol=1e-5)
    assert extras["feature_shape"] == [24, 24, 6]


def test_hirescam_is_each_elements_contribution_where_grad_cam_averages():
    """conv -> Flatten -> Dense: the logit is sum W * A, so HiResCAM is sum_k W * A exactly,
    while Grad-CAM weights whole channels by their mean W and differs."""
    import keras
    from keras import layers

    from xaixray.explainers import GradCAM

    keras.utils.set_random_seed(2)
    model = keras.Sequential([
        keras.Input((12, 12, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid", name="head"),
    ])
    clf = _classifier(model)
    x = _image(12, seed=3)
    fmap = _feature_map(model, "conv", x)
    w = np.asarray(model.get_layer("head").kernel, np.float64)[:, 0].reshape(fmap.shape)
    expected = _normalised((w * fmap).sum(axis=-1), (12, 12))
    heat, _ = HiResCAM(clf)._attribute(x, 1)
    np.testing.assert_allclose(heat, expected, atol=1e-5)
    grad_cam, _ = GradCAM(clf)._attribute(x, 1)
    assert np.abs(grad_cam - expected).max() > 0.05


# ---------------------------------------------------------------------- perturbation known answers
def _quadrant_model():
    """The score is a sigmoid of the mean intensity of the top-left 12x12 quadrant only."""
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((24, 24, 1)),
        layers.Cropping2D(((0, 12), (0, 12))),
        layers.GlobalAveragePooling2D(),
        layers.Dense(1, activation="sigmoid", name="head"),
    ])
    model.get_layer("head").set_weights([np.full((1, 1), 6.0, np.float32),
                                         np.full((1,), -3.0, np.float32)])
    return _classifier(model)


@pytest.mark.parametrize("method", ["occlusion", "rise"])
@pytest.mark.parametrize("fill", ["black", "mean"])
def test_perturbation_maps_peak_in_the_region_the_score_depends_on(method, fill):
    clf = _quadrant_model()
    x = _image() * 0.5
    x[:12, :12] += 0.5  # a bright top-left: hiding it (black or mean fill) lowers the score
    explainer = (Occlusion(clf, patch=4, stride=2, fill=fill) if method == "occlusion"
                 else RISE(clf, masks=1000, cells=6, fill=fill, seed=0))
    heat, _ = explainer._attribute(x, 1)
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    assert peak[0] < 12 and peak[1] < 12
    inside, outside = heat[:12, :12].mean(), heat[12:, 12:].mean()
    assert inside > outside + 0.2 * (heat.max() - heat.min())
    if method == "occlusion":
        # patches that miss the quadrant change nothing: exactly zero drop
        assert np.all(heat[14:, :] == 0.0) and np.all(heat[:, 14:] == 0.0)
        assert np.all(heat[:11, :11] > 0.0)


def test_occlusion_patch_and_stride_in_pixels_or_fractions_cover_the_frame():
    clf = _quadrant_model()
    e = Occlusion(clf, patch=0.25, stride=0.125)
    assert (e.patch, e.stride) == (6, 3)
    _, extras = e._attribute(_image(), 1)
    assert extras["patches"] == 7 * 7  # offsets 0, 3, ..., 18 in each direction
    with pytest.raises(ExplainerError, match="patch"):
        Occlusion(clf, patch=0)
    with pytest.raises(ExplainerError, match="stride"):
        Occlusion(clf, stride=2.5)


def test_rise_is_seeded_and_normalised():
    clf = _quadrant_model()
    x = _image()
    a, ea = RISE(clf, masks=64, seed=4, output="probability")._attribute(x, 1)
    b, _ = RISE(clf, masks=64, seed=4, output="probability")._attribute(x, 1)
    c, _ = RISE(clf, masks=64, seed=5, output="probability")._attribute(x, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() == 0.0 and a.max() == pytest.approx(1.0)
    assert 0.0 < ea["raw_min"] < ea["raw_max"] < 1.5


def test_rise_masks_are_shifted_upsampled_grids():
    from xaixray.explainers.perturbation import rise_masks

    batches = list(rise_masks(10, (24, 30), 4, 0.5, seed=0, batch=4))
    assert [len(b) for b in batches] == [4, 4, 2]
    masks = np.concatenate(batches)
    assert masks.shape == (10, 24, 30) and masks.dtype == np.float32
    assert masks.min() >= 0.0 and masks.max() <= 1.0
    assert len(np.unique(masks)) > 10  # bilinear, not binary
    again = np.concatenate(list(rise_masks(10, (24, 30), 4, 0.5, seed=0, batch=3)))
    np.testing.assert_array_equal(masks, again)  # the batch size does not change the masks


def test_soft_masks_blend_image_and_fill_in_the_compiled_pass():
    clf = _quadrant_model()
    x, fill = _image(), np.zeros((24, 24, 1), np.float32)
    soft = np.random.default_rng(0).random((5, 24, 24)).astype(np.float32)
    got = clf.predict_masked_prepared(x, fill, soft)
    want = clf.predict_proba_prepared(fill[None] + soft[..., None] * (x - fill)[None])
    np.testing.assert_allclose(got, want, atol=1e-6)


# ---------------------------------------------------------------------- Layer-CAM and Score-CAM
def _two_layer_model():
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    return _classifier(keras.Sequential([
        keras.Input((24, 24, 1)),
        layers.Conv2D(6, 3, padding="same", activation="relu", name="early"),
        layers.MaxPooling2D(4),
        layers.Conv2D(8, 3, padding="same", activation="relu", name="late"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(1, activation="sigmoid", name="head"),
    ]))


def test_layercam_on_an_earlier_layer_is_finer_and_layers_combine():
    clf = _two_layer_model()
    x = _image()
    late, e_late = LayerCAM(clf)._attribute(x, 1)
    early, e_early = LayerCAM(clf, layer="early")._attribute(x, 1)
    assert e_late["feature_shape"] == [6, 6, 8] and e_early["feature_shape"] == [24, 24, 6]
    assert len(np.unique(early)) > 4 * len(np.unique(resize_map(late, (6, 6))))
    both = LayerCAM(clf, layers=("early", "late"))
    assert both.params["layers"] == ["early", "late"]
    assert LayerCAM(clf, layer="early, late").params["layers"] == ["early", "late"]
    fused, extras = both._attribute(x, 1)
    assert extras["layers"] == ["early", "late"]
    assert extras["feature_shapes"] == [[24, 24, 6], [6, 6, 8]]
    assert extras["feature_shape"] == [24, 24, 6]
    assert fused.min() >= 0.0 and fused.max() == pytest.approx(1.0)
    assert not np.allclose(fused, early) and not np.allclose(fused, late)
    mean, _ = LayerCAM(clf, layers=("early", "late"), combine="mean")._attribute(x, 1)
    assert not np.allclose(mean, fused)
    with pytest.raises(ExplainerError, match="not both"):
        LayerCAM(clf, layer="early", layers=("late",))
    with pytest.raises(ExplainerError, match="no layer named"):
        LayerCAM(clf, layers=("early", "nope"))


def test_layercam_of_one_layer_in_layers_equals_layer():
    clf = _two_layer_model()
    x = _image()
    a, _ = LayerCAM(clf, layer="late")._attribute(x, 1)
    b, _ = LayerCAM(clf, layers=["late"])._attribute(x, 1)
    np.testing.assert_array_equal(a, b)


def test_scorecam_runs_is_deterministic_and_limits_channels():
    clf = _two_layer_model()
    x = _image()
    a, extras = ScoreCAM(clf)._attribute(x, 1)
    b, _ = ScoreCAM(clf)._attribute(x, 1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (24, 24) and a.min() >= 0.0 and 0.9 < a.max() <= 1.0
    assert extras["channels_used"] == 8 and not extras["flat"]
    _, few = ScoreCAM(clf, max_channels=3)._attribute(x, 1)
    assert few["channels_used"] == 3
    inc, _ = ScoreCAM(clf, weights="increase", fill="black", output="probability")._attribute(x, 1)
    assert inc.shape == (24, 24)
    with pytest.raises(ExplainerError, match="weights"):
        ScoreCAM(clf, weights="nope")


def test_scorecam_weights_channels_by_their_masked_scores():
    """One channel that carries the score, one that does not: the map is the first channel."""
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(2, 1, use_bias=False, name="conv"),
        layers.Cropping2D(((0, 4), (0, 4))),
        layers.GlobalAveragePooling2D(),
        layers.Dense(1, activation="sigmoid", use_bias=False, name="head"),
    ])
    model.get_layer("conv").set_weights([np.array([[[[1.0, 1.0]]]], np.float32)])
    model.get_layer("head").set_weights([np.array([[4.0], [0.0]], np.float32)])
    clf = _classifier(model)
    x = np.zeros((8, 8, 1), np.float32)
    x[:4, :4] = 1.0  # channel maps are the image: bright top-left
    heat, _ = ScoreCAM(clf, weights="increase", fill="black", output="logit")._attribute(x, 1)
    assert heat[:4, :4].min() > 0.5 and heat[5:, 5:].max() == 0.0


# ---------------------------------------------------------------------- frames, batches, models
@pytest.mark.parametrize("method", NEW)
def test_each_method_gives_the_same_maps_one_image_at_a_time_and_in_a_batch(method):
    clf = _two_layer_model()
    images = [np.asarray(_image(24, seed=s)[..., 0] * 255, np.uint8) for s in (7, 8, 9)]
    prepared = PreparedImage.load_many(clf, images, ["a", "b", "c"])
    explainer = METHODS[method](clf, **SMALL[method])
    many = explainer.explain_prepared_many(prepared, [None, 0, 1])
    for image, target, e in zip(prepared, [None, 0, 1], many):
        one = explainer.explain_prepared(image, target)
        np.testing.assert_allclose(e.heatmap, one.heatmap, atol=1e-6)
        assert e.target == one.target


@pytest.mark.parametrize("arch", sorted(ZOO))
def test_new_methods_on_every_zoo_architecture(arch):
    clf = xaixray.build(arch, seed=0, **ZOO[arch])
    from xaixray.data import make_phantoms

    image = make_phantoms(1, 90, pneumonia_fraction=1.0, seed=3).images[0][:, 10:80].copy()
    [result] = xaixray.explain(clf, image, methods=NEW, params=SMALL, seed=0,
                                 faithfulness=False)
    assert result.methods == list(NEW)
    if arch == "row_lstm":
        assert set(result.errors) == set(CAMS)
        for m in CAMS:
            assert "needs a convolutional layer" in result.errors[m]
            assert "\n" not in result.errors[m]
        assert set(result.explanations) == {"occlusion", "rise"}
    else:
        assert result.errors == {}
    for e in result.explanations.values():
        assert e.heatmap.shape == image.shape[:2] and e.heatmap.dtype == np.float32
        assert np.isfinite(e.heatmap).all()
        if not e.signed:
            assert e.heatmap.min() >= 0.0 and e.heatmap.max() <= 1.0


def test_dense_only_model_gets_one_line_from_the_cams_and_perturbation_still_works():
    import keras
    from keras import layers

    clf = _classifier(keras.Sequential([keras.Input((12, 12, 1)), layers.Flatten(),
                                        layers.Dense(1, activation="sigmoid")]))
    explainers, errors = make_explainers(clf, NEW, params=SMALL)
    assert set(errors) == set(CAMS) and set(explainers) == {"occlusion", "rise"}
    for m in CAMS:
        assert "needs a convolutional layer" in errors[m] and "\n" not in errors[m]
    for e in explainers.values():
        heat, _ = e._attribute(_image(12), 1)
        assert heat.shape == (12, 12) and np.isfinite(heat).all()


def test_maps_come_back_through_the_crop_in_the_original_frame_and_params_reach_the_report():
    from xaixray.reports import report_dict

    clf = _two_layer_model()
    image = np.asarray(_image(24)[..., 0] * 255, np.uint8)
    original = np.repeat(np.repeat(image, 3, axis=0), 2, axis=1)  # 72 x 48
    [result] = xaixray.explain(clf, original, methods=NEW, params=SMALL, seed=3,
                                 faithfulness=False)
    for e in result.explanations.values():
        assert e.heatmap.shape == (72, 48)
    report = report_dict(result)
    assert report["methods"]["occlusion"]["params"]["patch_pixels"] == 8
    assert report["methods"]["occlusion"]["details"]["patches"] == 25
    assert report["methods"]["rise"]["params"]["masks"] == 40
    assert report["methods"]["rise"]["seed"] == 3
    assert report["methods"]["scorecam"]["details"]["channels_used"] == 8
    assert report["methods"]["layercam"]["params"]["layers"] == ["late"]
    assert report["methods"]["hirescam"]["details"]["feature_shape"] == [6, 6, 8]
    assert "raw_min" in report["methods"]["rise"]["details"]
    assert len(report["agreement"]) == len(NEW) * (len(NEW) - 1) // 2


# ---------------------------------------------------------------------- the output layer
def _fake_set(methods: dict[str, bool], size: int = 40) -> ExplanationSet:
    rng = np.random.default_rng(0)
    image = (rng.random((size, size)) * 255).astype(np.uint8)
    probabilities = np.array([0.3, 0.7])
    explanations = {}
    for m, signed in methods.items():
        heat = rng.normal(size=(size, size)) if signed else rng.random((size, size))
        explanations[m] = Explanation(
            method=m, target=1, target_name="PNEUMONIA", score=0.7,
            heatmap=heat.astype(np.float32), signed=signed, params={}, extras={}, seed=0,
            seconds=0.1, image=image, source="x.png", probabilities=probabilities)
    return ExplanationSet(source="x.png", image=image, probabilities=probabilities,
                          prediction=1, class_names=("NORMAL", "PNEUMONIA"),
                          model={"name": "m"}, explanations=explanations,
                          methods=list(methods))


def test_a_figure_with_nine_methods_wraps_into_rows():
    from xaixray.plots import figure_to_png, plot_explanations

    nine = {"gradcam": False, "gradcam++": False, "shap": True, "hirescam": False,
            "layercam": False, "scorecam": False, "occlusion": True, "rise": False,
            "my_method": True}
    result = _fake_set(nine)
    fig = plot_explanations(result)
    images = fig.axes[::2]  # each panel: its image axes, then its colour bar / legend slot
    assert len(fig.axes) == 2 * (1 + len(nine))
    rows = sorted({round(ax.get_position().y0, 3) for ax in images})
    columns = sorted({round(ax.get_position().x0, 3) for ax in images})
    assert len(rows) == 2 and len(columns) == 5
    assert all(0.0 <= ax.get_position().y0 and ax.get_position().y1 <= 1.0 for ax in fig.axes)
    assert figure_to_png(fig)[:4] == b"\x89PNG"
    assert fig.get_size_inches()[0] == pytest.approx(5 * 3.3)
    titles = [ax.get_title() for ax in images]
    assert titles[-1].startswith("my_method")  # unknown to METHODS: its name


def test_unknown_methods_plot_by_their_kind_of_map():
    from matplotlib.colors import TwoSlopeNorm  # noqa: F401 - matplotlib is there

    from xaixray.plots import plot_explanations

    fig = plot_explanations(_fake_set({"my_signed": True, "my_unsigned": False}))
    signed_panel, unsigned_panel = fig.axes[2], fig.axes[4]
    assert signed_panel.images[-1].get_cmap().name == "bwr"
    low, high = signed_panel.images[-1].get_clim()
    assert low == pytest.approx(-high)
    assert unsigned_panel.images[-1].get_cmap().name == "jet"
    assert unsigned_panel.images[-1].get_clim() == (0.0, 1.0)


def test_faithfulness_colours_are_distinct_for_any_methods():
    from xaixray.plots.faithfulness import method_colours

    methods = [*METHODS, "x", "y"]
    colours = method_colours(methods)
    assert len(set(colours.values())) == len(methods)


def test_cli_help_lists_every_registered_method():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "xaixray", "explain", "--help"],
                         capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    for m in METHODS:
        assert m in flat
    assert "default: gradcam,lime,shap" in flat


def test_agreement_is_a_matrix_from_five_methods_and_a_list_below():
    from xaixray.reports.html import _agreement_table

    def pairs(methods):
        return [{"methods": [a, b], "spearman": 0.5, "top_overlap": 0.25}
                for i, a in enumerate(methods) for b in methods[i + 1:]]

    four = _agreement_table(pairs(["gradcam", "lime", "shap", "rise"]))
    assert "gradcam vs lime" in four and "Above the diagonal" not in four
    many = _agreement_table(pairs(["gradcam", "lime", "shap", "rise", "occlusion", "new_one"]))
    assert "Above the diagonal" in many and "vs" not in many
    assert many.count("<tr>") == 1 + 6 and many.count("0.500") == 15
    assert many.count("0.250") == 15 and "new_one" in many and "Occlusion" in many


def test_the_web_app_offers_the_new_methods_fast_and_slow(tiny_classifier):
    pytest.importorskip("flask")
    import io

    from xaixray.serve import FAST_METHODS, create_app

    assert {"hirescam", "layercam"} <= FAST_METHODS
    assert not {"scorecam", "occlusion", "rise"} & FAST_METHODS
    app = create_app(tiny_classifier, "hirescam,layercam,occlusion,rise",
                     params={"occlusion": {"patch": 8, "stride": 8}, "rise": {"masks": 16}})
    try:
        client = app.test_client()
        health = client.get("/api/health").get_json()
        assert health["methods"] == ["hirescam", "layercam", "occlusion", "rise"]
        assert health["slow_methods"] == ["occlusion", "rise"]
        assert health["titles"]["layercam"] == "Layer-CAM"
        sample = next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)
        r = client.post("/api/explain?methods=hirescam,rise",
                        data={"file": (io.BytesIO(sample.read_bytes()), "chest.jpeg")},
                        content_type="multipart/form-data")
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert list(body["explanations"]) == ["hirescam", "rise"] and body["errors"] == {}
        assert body["explanations"]["rise"]["params"]["masks"] == 16
    finally:
        app.extensions["xaixray"].close()
