"""Explainers: every method on every zoo architecture, heads, frames, determinism, localisation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xaixray
from xaixray.errors import ExplainerError

ZOO = {  # small inputs so that the whole zoo runs in seconds on 2 CPU cores
    "simple_cnn": {"input_size": (32, 32)},
    "cnn_lstm": {"input_size": (32, 32)},
    "gray_cnn_lstm": {"input_size": (32, 32)},
    "row_lstm": {"input_size": (32, 32)},
    "mobilenet": {"input_size": (32, 32), "weights": None},
    "resnet50": {"input_size": (32, 32), "weights": None},
}
EXPECTED_LAYER = {"simple_cnn": "conv2", "cnn_lstm": "conv3", "gray_cnn_lstm": "relu3",
                  "mobilenet": "conv_pw_13_relu", "resnet50": "conv5_block3_out"}
FAST = {"num_samples": 30, "max_evals": 30}
ALL_METHODS = ("gradcam", "gradcam++", "lime", "shap")


@pytest.fixture(scope="module")
def zoo_cache() -> dict:
    return {}


def zoo_classifier(cache: dict, arch: str):
    if arch not in cache:

        cache[arch] = xaixray.build(arch, seed=0, **ZOO[arch])
    return cache[arch]


@pytest.fixture(scope="module")
def gray_image() -> np.ndarray:
    """A non-square (90x70) grayscale phantom."""
    from xaixray.data import make_phantoms

    return make_phantoms(1, 90, pneumonia_fraction=1.0, seed=3).images[0][:, 10:80].copy()


@pytest.fixture(scope="module")
def colour_image(gray_image) -> np.ndarray:
    """A non-square (70x90) colour image with unequal channels."""
    rgb = np.stack([gray_image.T, np.roll(gray_image.T, 3, axis=1), gray_image.T // 2], axis=-1)
    return np.ascontiguousarray(rgb)


def tiny_model(head: str = "sigmoid", size: int = 24, channels: int = 1, zeros: bool = False):
    import keras
    from keras import layers

    from xaixray import Classifier

    keras.utils.set_random_seed(0)
    init = "zeros" if zeros else "glorot_uniform"
    units, act = {"sigmoid": (1, "sigmoid"), "softmax": (2, "softmax"),
                  "logits": (2, "linear")}[head]
    model = keras.Sequential([
        keras.Input((size, size, channels)),
        layers.Conv2D(6, 3, padding="same", activation="relu", kernel_initializer=init,
                      name="conv_a"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, padding="same", activation="relu", kernel_initializer=init,
                      name="conv_b"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(units, activation=act, name="head"),
    ], name=f"tiny_{head}")
    return Classifier.from_keras(model)


# ---------------------------------------------------------------------- the zoo
@pytest.mark.parametrize("arch", sorted(ZOO))
def test_every_method_on_every_zoo_architecture(arch, zoo_cache, gray_image, colour_image):
    from xaixray import explain

    clf = zoo_classifier(zoo_cache, arch)
    results = explain(clf, [gray_image, colour_image], methods=ALL_METHODS, **FAST)
    assert len(results) == 2
    for result, image in zip(results, (gray_image, colour_image)):
        assert result.methods == list(ALL_METHODS)
        if arch == "row_lstm":
            assert set(result.errors) == {"gradcam", "gradcam++"}
            assert "needs a convolutional layer" in result.errors["gradcam"]
            assert "row_lstm" in result.errors["gradcam"]
            assert set(result.explanations) == {"lime", "shap"}
        else:
            assert result.errors == {}
            assert set(result.explanations) == set(ALL_METHODS)
        for e in result.explanations.values():
            assert e.heatmap.shape == image.shape[:2]
            assert e.heatmap.dtype == np.float32
            assert np.isfinite(e.heatmap).all()
            assert e.target == result.prediction
            assert e.score == pytest.approx(result.probability)
            assert e.image is result.image
            if not e.signed:
                assert e.heatmap.min() >= 0.0 and e.heatmap.max() <= 1.0


@pytest.mark.parametrize("arch", sorted(EXPECTED_LAYER))
def test_gradcam_finds_the_last_feature_map(arch, zoo_cache):
    from xaixray.explainers import GradCAM

    assert GradCAM(zoo_classifier(zoo_cache, arch)).target_layer.name == EXPECTED_LAYER[arch]


def test_gradcam_on_row_lstm_is_a_clear_error(zoo_cache):
    from xaixray.explainers import GradCAM

    with pytest.raises(ExplainerError, match="Grad-CAM needs a convolutional layer; model "
                                             "'row_lstm' has none"):
        GradCAM(zoo_classifier(zoo_cache, "row_lstm"))


def test_nested_resnet_map_depends_on_target_and_restores_the_head(zoo_cache, gray_image):
    from xaixray.explainers import GradCAM

    clf = zoo_classifier(zoo_cache, "resnet50")
    before = clf.predict_proba([gray_image])
    gc = GradCAM(clf)
    e = gc.explain(gray_image, targets="PNEUMONIA")[0]
    other = gc.explain(gray_image, targets="NORMAL")[0]
    assert e.extras["layer"] == "conv5_block3_out" and e.extras["feature_shape"][-1] == 2048
    assert (e.target_name, other.target_name) == ("PNEUMONIA", "NORMAL")
    assert e.score == pytest.approx(1.0 - other.score)
    # the map depends on the target: the sigmoid logit's sign flips, so does the evidence
    assert not np.allclose(e.heatmap, other.heatmap)
    assert e.extras["flat"] != other.extras["flat"]  # a 1x1 feature map: one class has none
    assert np.allclose(clf.predict_proba([gray_image]), before)  # sigmoid restored
    assert clf.model.layers[-1].activation.__name__ == "sigmoid"
    assert "call" not in vars(gc.target_layer)  # the capture hook is gone


# ---------------------------------------------------------------------- heads and targets
@pytest.mark.parametrize("head", ["sigmoid", "softmax", "logits"])
def test_heads_and_targets(head, gray_image):
    from xaixray import explain

    clf = tiny_model(head)
    assert clf.output_kind == ("sigmoid" if head == "sigmoid" else "softmax")
    proba = clf.predict_proba([gray_image])[0]
    for target in (0, "PNEUMONIA", "normal"):
        [r] = explain(clf, gray_image, methods=("gradcam", "lime", "shap"), targets=target,
                      **FAST)
        index = {0: 0, "PNEUMONIA": 1, "normal": 0}[target]
        assert r.errors == {}
        for e in r.explanations.values():
            assert e.target == index and e.target_name == clf.class_names[index]
            assert e.score == pytest.approx(proba[index], abs=1e-5)
    assert np.allclose(clf.predict_proba([gray_image])[0], proba)


def test_sigmoid_targets_give_opposite_gradients(gray_image):
    from xaixray.explainers import GradCAM

    gc = GradCAM(tiny_model("sigmoid"))
    _, g1 = gc._map_and_gradients(gc.classifier.preprocessing.prepare([gray_image]), [1])
    _, g0 = gc._map_and_gradients(gc.classifier.preprocessing.prepare([gray_image]), [0])
    assert np.allclose(g0, -g1) and np.abs(g1).max() > 0


@pytest.mark.parametrize("head", ["sigmoid", "softmax", "logits"])
def test_gradcam_on_a_batch_equals_one_image_at_a_time(head):
    """A batch with mixed targets gives each image the map it gets alone."""
    from xaixray.explainers import GradCAM, GradCAMPlusPlus, PreparedImage

    clf = tiny_model(head)
    rng = np.random.default_rng(3)
    originals = [(rng.random((40 + 7 * i, 50)) * 255).astype(np.uint8) for i in range(4)]
    images = PreparedImage.load_many(clf, originals, [f"im{i}" for i in range(4)])
    targets = [0, 1, None, 1]
    for cls in (GradCAM, GradCAMPlusPlus):
        together = cls(clf).explain_prepared_many(images, targets)
        for image, t, e in zip(images, targets, together):
            alone = cls(clf).explain_prepared(image, t)
            assert e.target == alone.target and e.heatmap.shape == image.original.shape
            assert np.allclose(e.heatmap, alone.heatmap, atol=1e-5)
        assert len({round(float(e.heatmap.sum()), 3) for e in together}) > 1


def _model_state(model) -> tuple:
    """What Grad-CAM must leave alone: weights, head activation, instance attributes of layers."""
    from xaixray.classifier import final_layer
    from xaixray.explainers.gradcam import iter_layers

    return ([w.copy() for w in model.get_weights()], final_layer(model).activation.__name__,
            [sorted(vars(layer)) for layer in iter_layers(model)])


def test_gradcam_leaves_the_model_alone_and_follows_its_weights(gray_image):
    from xaixray.explainers import GradCAM

    clf = tiny_model("sigmoid")
    before = _model_state(clf.model)
    proba = clf.predict_proba([gray_image])
    gc = GradCAM(clf)
    first = gc.explain(gray_image, targets=1)[0].heatmap
    after = _model_state(clf.model)
    assert all(np.array_equal(a, b) for a, b in zip(before[0], after[0]))
    assert after[1:] == before[1:] == ("sigmoid", before[2])
    assert np.array_equal(clf.predict_proba([gray_image]), proba)
    # the explainer runs on the model's current weights, not on a copy taken when it was built
    clf.model.get_layer("conv_b").set_weights(
        [w[..., ::-1].copy() for w in clf.model.get_layer("conv_b").get_weights()])
    clf.reset_forward()
    again = gc.explain(gray_image, targets=1)[0].heatmap
    assert not np.allclose(again, first)
    assert np.array_equal(again, GradCAM(clf).explain(gray_image, targets=1)[0].heatmap)
    clf.model.get_layer("conv_a").trainable = False  # frozen after the explainer was built
    assert np.array_equal(gc.explain(gray_image, targets=1)[0].heatmap, again)


def test_explainers_in_several_threads_match_sequential_runs(gray_image):
    """Grad-CAM(++), prediction and SHAP from 6 threads at once give the sequential results."""
    import threading

    from xaixray.explainers import SHAP, GradCAM, GradCAMPlusPlus

    clf = tiny_model("softmax")
    images = [gray_image, gray_image[::-1].copy(), gray_image[:, ::-1].copy()]
    explainers = [GradCAM(clf), GradCAMPlusPlus(clf), GradCAM(clf, layer="conv_a"),
                  SHAP(clf, max_evals=30, seed=1)]
    jobs = [(k, i, t) for k in range(len(explainers)) for i in range(len(images)) for t in (0, 1)]
    expected = {job: explainers[job[0]].explain(images[job[1]], targets=job[2])[0].heatmap
                for job in jobs}
    proba = clf.predict_proba(images)
    before = _model_state(clf.model)
    start = threading.Barrier(6)
    maps: dict = {}
    failures: list[str] = []

    def work(worker: int) -> None:
        start.wait()
        for n in range(len(jobs)):
            job = jobs[(n * 7 + worker * 5) % len(jobs)]
            try:
                if n % 4 == worker % 4:
                    assert np.allclose(clf.predict_proba(images), proba, atol=1e-6)
                heat = explainers[job[0]].explain(images[job[1]], targets=job[2])[0].heatmap
                maps.setdefault(job, []).append(heat)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(f"{job}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert set(maps) == set(expected)
    for job, heats in maps.items():
        for heat in heats:
            np.testing.assert_allclose(heat, expected[job], atol=1e-5, err_msg=str(job))
    after = _model_state(clf.model)
    assert all(np.array_equal(a, b) for a, b in zip(before[0], after[0]))
    assert after[1:] == before[1:]
    assert np.allclose(clf.predict_proba(images), proba, atol=1e-6)


def test_bad_targets_and_options(gray_image):
    from xaixray import explain
    from xaixray.explainers import GradCAM

    clf = tiny_model()
    with pytest.raises(ExplainerError, match="unknown target class 'COVID'"):
        explain(clf, gray_image, methods=("gradcam",), targets="COVID")
    with pytest.raises(ExplainerError, match="out of range"):
        GradCAM(clf).explain(gray_image, targets=5)
    with pytest.raises(ExplainerError, match="got 2 targets for 1 images"):
        GradCAM(clf).explain([gray_image], targets=[0, 1])
    with pytest.raises(ExplainerError, match="unknown method 'nope'"):
        explain(clf, gray_image, methods=("gradcam", "nope"))
    with pytest.raises(TypeError, match="no explanation method takes 'num_sample'"):
        explain(clf, gray_image, num_sample=10)
    with pytest.raises(ExplainerError, match="no layer named 'nope'.*conv_b"):
        GradCAM(clf, layer="nope")


def test_layer_override_and_gradcam_plus_plus(gray_image):
    from xaixray.explainers import GradCAM, GradCAMPlusPlus

    clf = tiny_model()
    e = GradCAM(clf, layer="conv_a").explain(gray_image)[0]
    assert e.extras["feature_shape"][:2] == [24, 24] and e.params == {"layer": "conv_a"}
    pp = GradCAMPlusPlus(clf).explain(gray_image)[0]
    assert pp.method == "gradcam++" and pp.extras["layer"] == "conv_b"
    assert pp.heatmap.shape == gray_image.shape


def test_flat_maps_are_zeros_not_nan(gray_image):
    from xaixray import explain

    [r] = explain(tiny_model(zeros=True), gray_image, methods=ALL_METHODS, **FAST)
    assert r.errors == {}
    for e in r.explanations.values():
        assert np.isfinite(e.heatmap).all()
    assert r.explanations["gradcam"].extras["flat"] is True
    assert not r.explanations["gradcam"].heatmap.any()
    assert r.explanations["gradcam"].summary()["peak"] is None


# ---------------------------------------------------------------------- LIME and SHAP
def test_lime_and_shap_are_deterministic_for_a_seed(gray_image):
    from xaixray.explainers import LIME, SHAP

    clf = tiny_model("softmax", channels=3)
    a = LIME(clf, num_samples=60, seed=7).explain(gray_image)[0]
    b = LIME(clf, num_samples=60, seed=7).explain(gray_image)[0]
    c = LIME(clf, num_samples=60, seed=8).explain(gray_image)[0]
    assert np.array_equal(a.heatmap, b.heatmap) and a.extras["weights"] == b.extras["weights"]
    assert not np.array_equal(a.heatmap, c.heatmap)
    tied = gray_image.copy()
    tied[:, : tied.shape[1] // 2] = 128  # a flat half: equal scores that shap breaks at random
    np.random.seed(1)  # noqa: NPY002 (shap uses the global one)
    s1 = SHAP(clf, max_evals=60, seed=7).explain(tied)[0]
    np.random.seed(2)  # noqa: NPY002
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    s2 = SHAP(clf, max_evals=60, seed=7).explain(tied)[0]
    assert np.array_equal(s1.heatmap, s2.heatmap) and s1.seed == 7
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002 - caller state kept


def test_lime_superpixels_are_painted_in_the_original_frame(colour_image):
    from xaixray.explainers import LIME

    e = LIME(tiny_model(channels=3), num_samples=40, n_segments=20).explain(colour_image)[0]
    seg = e.extras["segments"]
    assert seg.shape == colour_image.shape[:2]
    for s, w in e.extras["weights"].items():
        assert np.allclose(e.heatmap[seg == s], w)
    assert 0 <= e.extras["r2"] <= 1 and e.params["num_samples"] == 40


def test_lime_custom_segmentation(gray_image):
    from xaixray.explainers import LIME

    def quadrants(gray):
        h, w = gray.shape
        return (np.arange(h)[:, None] >= h // 2) * 2 + (np.arange(w)[None, :] >= w // 2)

    e = LIME(tiny_model(), num_samples=30, segmentation=quadrants).explain(gray_image)[0]
    assert sorted(e.extras["weights"]) == [0, 1, 2, 3]
    assert e.params["segmentation"].endswith("quadrants")


def test_shap_values_add_up(gray_image):
    from xaixray.explainers import SHAP

    clf = tiny_model()
    e = SHAP(clf, max_evals=80).explain(gray_image, targets=1)[0]
    assert e.extras["values"].shape == (24, 24, 1)
    total = float(e.extras["values"].sum()) + e.extras["base_value"]
    assert total == pytest.approx(e.score, abs=1e-4)


def saturated_model(size: int = 24):
    """A sigmoid model whose logit is 40 to 60 on [0, 1] images: every probability is 1.0."""
    import keras

    from xaixray import Classifier

    model = keras.Sequential([keras.Input((size, size, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid", name="head")])
    w = np.zeros((size, size), np.float32)
    w[: size // 2, : size // 2] = 20.0 / (size // 2) ** 2  # the top-left quarter counts
    model.get_layer("head").set_weights([w.reshape(-1, 1), np.array([40.0], np.float32)])
    return Classifier.from_keras(model, name="saturated")


def test_logit_output_explains_saturated_predictions_that_probabilities_cannot():
    from xaixray.explainers import LIME, SHAP

    clf = saturated_model()
    image = np.full((24, 24), 20, np.uint8)
    image[:12, :12] = 255  # the bright quarter the model adds up; blurring it lowers the logit
    assert clf.predict_proba(image)[0, 1] == 1.0
    s_prob = SHAP(clf, max_evals=80).explain(image, targets=1)[0]
    s_logit = SHAP(clf, max_evals=80, output="logit").explain(image, targets=1)[0]
    assert s_prob.params["output"] == "probability" and s_logit.params["output"] == "logit"
    assert not s_prob.heatmap.any()  # nothing moves the probability: all values are 0
    z = clf.predict_log_odds_prepared(clf.preprocessing.prepare([image]))[0, 1]
    total = float(s_logit.extras["values"].sum()) + s_logit.extras["base_value"]
    assert total == pytest.approx(z, abs=1e-3)  # the values add up in log-odds
    quarter = s_logit.heatmap[:12, :12].sum()
    assert quarter > 0.9 * s_logit.heatmap.clip(0, None).sum()  # and sit where the model looks
    l_prob = LIME(clf, num_samples=60, n_segments=16).explain(image, targets=1)[0]
    l_logit = LIME(clf, num_samples=60, n_segments=16, output="logit").explain(image,
                                                                               targets=1)[0]
    assert not l_prob.heatmap.any() and l_logit.heatmap.any()
    peak = l_logit.summary()["peak"]
    assert peak[0] < 12 and peak[1] < 12


def test_parameter_validation():
    from xaixray.explainers import LIME, SHAP

    clf = tiny_model()
    with pytest.raises(ExplainerError, match="num_samples"):
        LIME(clf, num_samples=2)
    with pytest.raises(ExplainerError, match="masker"):
        SHAP(clf, masker="zeros")
    for method in (LIME, SHAP):
        with pytest.raises(ExplainerError, match="unknown output 'odds'"):
            method(clf, output="odds")


# ---------------------------------------------------------------------- summaries and agreement
def test_summaries_and_agreement():
    from xaixray.explainers import agreement, compare, summarize_heatmap

    yy, xx = np.mgrid[0:100, 0:80]
    spot = np.exp(-((yy - 30) ** 2 + (xx - 60) ** 2) / 50.0).astype(np.float32)
    s = summarize_heatmap(spot)
    assert s["peak"] == [30, 60] and s["peak_value"] == pytest.approx(1.0)
    assert s["half_mass_area"] < 0.05
    assert summarize_heatmap(np.ones((50, 50)))["half_mass_area"] == pytest.approx(0.5, abs=0.01)
    same = agreement(spot, spot)
    assert same["spearman"] == pytest.approx(1.0) and same["top_overlap"] == 1.0
    assert agreement(spot, -spot)["spearman"] == pytest.approx(-1.0)
    assert agreement(spot, np.zeros_like(spot))["spearman"] is None
    rows = compare({"a": spot, "b": spot, "c": -spot})
    assert [r["methods"] for r in rows] == [["a", "b"], ["a", "c"], ["b", "c"]]


# ---------------------------------------------------------------------- localisation
def test_gradcam_peaks_inside_known_lesions_more_often_than_chance(phantom_model):
    from scipy.ndimage import binary_dilation

    from xaixray.data import make_phantoms
    from xaixray.explainers import GradCAM

    clf, accuracy = phantom_model
    assert accuracy > 0.85, "the phantom model did not learn; the test below would be moot"
    test = make_phantoms(40, 48, pneumonia_fraction=1.0, seed=2)
    explanations = GradCAM(clf).explain(list(test.images), targets="PNEUMONIA")
    hits, chance = [], []
    for e, mask in zip(explanations, test.masks):
        near = binary_dilation(mask, iterations=2)
        peak = e.summary()["peak"]
        hits.append(peak is not None and near[peak[0], peak[1]])
        chance.append(near.mean())
    assert np.mean(hits) > max(0.4, 3 * np.mean(chance)), (np.mean(hits), np.mean(chance))


# ---------------------------------------------------------------------- light imports
def test_importing_explainers_plots_and_reports_stays_light():
    code = ("import sys\nimport xaixray.explainers, xaixray.plots, xaixray.reports\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'shap', 'lime', 'matplotlib.pyplot')"
            " if m in sys.modules]\nassert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------- the packages' own way
@pytest.mark.parametrize("channels", [1, 3])
def test_masked_prediction_equals_predicting_the_masked_images(channels):
    clf = tiny_model("sigmoid", size=20, channels=channels)
    rng = np.random.default_rng(0)
    image, fill = (rng.random((20, 20, channels), dtype=np.float32) for _ in range(2))
    keep = rng.random((70, 20, 20)) > 0.5
    images = np.where(keep[..., None], image[None], fill[None])
    for output, plain in (("probability", clf.predict_proba_prepared),
                          ("logit", clf.predict_log_odds_prepared)):
        got = clf.predict_masked_prepared(image, fill, keep, output, batch_size=32)
        np.testing.assert_allclose(got, plain(images), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_shap_equals_the_shap_packages_own_image_masker(channels):
    """xaixray's SHAP builds the masked images in the forward pass; the values are those of
    shap.Explainer with shap.maskers.Image, same blur, same seed."""
    import shap

    from xaixray.explainers import SHAP

    clf = tiny_model("sigmoid", size=20, channels=channels)
    gray = (np.random.default_rng(2).random((20, 20)) * 255).astype(np.uint8)
    ours = SHAP(clf, max_evals=200, seed=4).explain(gray, targets=1)[0]
    x = (clf.preprocessing.prepare([gray])[0][..., :1] * 255).astype(np.float32)

    def f(batch):
        batch = np.repeat(np.asarray(batch, np.float32) / 255.0, channels, axis=-1)
        return clf.predict_proba_prepared(batch)[:, 1]

    masker = shap.maskers.Image(ours.extras["masker"], x.shape)
    np.random.seed(4)  # noqa: NPY002 - what xaixray's SHAP does for the call
    plain = shap.Explainer(f, masker, algorithm="partition", seed=4)(
        x[None], max_evals=200, batch_size=64, silent=True)
    np.testing.assert_allclose(ours.extras["values"], np.asarray(plain.values).reshape(x.shape),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("channels", [1, 3])
def test_lime_equals_the_lime_packages_own_sampling(channels):
    """xaixray's LIME draws lime's random rows and scores masks in the forward pass; the
    weights are those of lime's LimeImageExplainer with the same segmentation and seed."""
    from lime import lime_image

    from xaixray.explainers import LIME
    from xaixray.explainers.lime import slic_segments

    clf = tiny_model("sigmoid", size=20, channels=channels)
    gray = (np.random.default_rng(5).random((20, 20)) * 255).astype(np.uint8)
    ours = LIME(clf, num_samples=150, seed=6, n_segments=12).explain(gray, targets=1)[0]
    prepared = clf.preprocessing.prepare([gray])[0]
    segments = slic_segments(prepared[..., 0], 12)

    def classifier_fn(batch):
        batch = np.asarray(batch, np.float32)
        return clf.predict_proba_prepared(batch[..., :1] if channels == 1 else batch)

    plain = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=6).explain_instance(
        prepared[..., 0], classifier_fn, labels=(1,), top_labels=None,
        num_features=int(segments.max()) + 1, num_samples=150, batch_size=64,
        segmentation_fn=lambda _: segments, random_seed=6, hide_color=None)
    expected = dict(plain.local_exp[1])
    assert set(ours.extras["weights"]) == set(expected)
    for s, w in ours.extras["weights"].items():
        assert w == pytest.approx(expected[s], rel=1e-4, abs=1e-6)
