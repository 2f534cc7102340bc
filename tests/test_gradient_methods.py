"""Gradient methods against answers known in advance: linear models, models blind to a region,
completeness, batches, seeds, every zoo architecture and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xaixray
from xaixray.explainers import (
    GradCAM,
    InputXGradient,
    IntegratedGradients,
    PreparedImage,
    Saliency,
    SmoothGrad,
    make_explainers,
)
from xaixray.explainers.gradients import DEFAULT_STEPS
from xaixray.models import available

GRADIENT_METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "smoothgrad")
FAST = {"integrated_gradients": {"steps": 8}, "smoothgrad": {"samples": 4}}


def fast(method: str, clf, **kwargs):
    explainers, errors = make_explainers(clf, [method], params={method: {
        **FAST.get(method, {}), **kwargs}})
    assert errors == {}
    return explainers[method]


def linear_classifier(size: int = 8, channels: int = 1, head: str = "sigmoid",
                      scaling: str = "unit", layout: str = "image"):
    """``logit = w . T(x) + b`` for model input ``T(x)`` (scaling and layout)."""
    import keras
    from keras import layers

    from xaixray import Classifier

    keras.utils.set_random_seed(1)
    shape = (size, size * channels) if layout == "rows" else (size, size, channels)
    units, act = (1, "sigmoid") if head == "sigmoid" else (2, "softmax")
    model = keras.Sequential([keras.Input(shape), layers.Flatten(),
                              layers.Dense(units, activation=act, name="head")])
    return Classifier.from_keras(model, scaling=scaling, layout=layout, channels=channels,
                                 input_size=(size, size))


def conv_classifier(head: str = "sigmoid", size: int = 20, blind_right: bool = False):
    """A small CNN; with ``blind_right`` it crops the input to its left half first."""
    import keras
    from keras import layers

    from xaixray import Classifier

    keras.utils.set_random_seed(0)
    units, act = (1, "sigmoid") if head == "sigmoid" else (2, "softmax")
    inputs = keras.Input((size, size, 1))
    x = inputs
    if blind_right:
        x = layers.Cropping2D(((0, 0), (0, size - size // 2)), name="left_half")(x)
    x = layers.Conv2D(6, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(8, 3, padding="same", activation="tanh")(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(units, activation=act)(x))
    return Classifier.from_keras(model)


def model_frame(clf, explainer, n: int = 1, seed: int = 0) -> tuple[np.ndarray, list]:
    """Random model-frame images and each one's model-frame attribution for class 1."""
    x = np.random.default_rng(seed).random((n, *clf.preprocessing.image_shape), np.float32)
    return x, explainer._attribute_many(x, [1] * n)


# ---------------------------------------------------------------------- known answers
@pytest.mark.parametrize("head", ["sigmoid", "softmax"])
def test_linear_model_input_x_gradient_and_integrated_gradients_are_closed_form(head):
    import cv2

    clf = linear_classifier(head=head)
    w = clf.model.get_layer("head").get_weights()[0]
    w = w[:, 0 if head == "sigmoid" else 1].reshape(8, 8)  # the target's logit
    x, [(ixg, _)] = model_frame(clf, InputXGradient(clf))
    np.testing.assert_allclose(ixg, x[0, ..., 0] * w, rtol=1e-5, atol=1e-7)
    [(ig, extras)] = IntegratedGradients(clf, steps=3)._attribute_many(x, [1])
    np.testing.assert_allclose(ig, x[0, ..., 0] * w, rtol=1e-5, atol=1e-7)
    assert extras["completeness_gap"] < 1e-5
    blur = cv2.GaussianBlur(x[0], (0, 0), sigmaX=0.1 * 8)
    [(ig, _)] = IntegratedGradients(clf, steps=3, baseline="blur")._attribute_many(x, [1])
    np.testing.assert_allclose(ig, (x[0, ..., 0] - blur) * w, rtol=1e-4, atol=1e-6)
    if head == "sigmoid":  # class 0 of a sigmoid head: the negated logit
        [(ig0, _)] = IntegratedGradients(clf, steps=3)._attribute_many(x, [0])
        np.testing.assert_allclose(ig0, -x[0, ..., 0] * w, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("scaling", "layout"), [("caffe", "image"), ("symmetric", "rows"),
                                                 ("torch", "image")])
def test_integrated_gradients_follows_the_scaling_and_layout_back_to_the_pixels(scaling, layout):
    """For a linear model under any pixel-wise scaling, IG from black is input x gradient: the
    attributions land on the right pixel and channel (rows reshaped back, BGR flipped back)."""
    clf = linear_classifier(size=8, channels=3, scaling=scaling, layout=layout)
    x, [(ixg, _)] = model_frame(clf, InputXGradient(clf), seed=2)
    [(ig, extras)] = IntegratedGradients(clf, steps=2)._attribute_many(x, [1])
    np.testing.assert_allclose(ig, ixg, rtol=1e-4, atol=1e-5)
    assert np.abs(ig).max() > 0 and extras["completeness_gap"] < 1e-4
    # per channel too (the sum over channels would hide a wrong channel order)
    np.testing.assert_allclose(per_channel(IntegratedGradients(clf, steps=2), x[0]),
                               per_channel(InputXGradient(clf), x[0]), rtol=1e-4, atol=1e-5)


def per_channel(explainer, x: np.ndarray) -> np.ndarray:
    """An explainer's attributions ``(h, w, c)`` for class 1, before channels are reduced."""
    points = explainer._points(x).astype(np.float32)
    scores, grads = explainer._gradients(points, np.ones(len(points), np.int32))
    return explainer._combine(x, scores, grads)[0]


def test_no_gradient_method_credits_pixels_the_score_cannot_see():
    clf = conv_classifier(blind_right=True)  # functional, unnamed Input: the clone renames it
    assert GradCAM(clf).explain(np.full((20, 20), 99, np.uint8))[0].heatmap.shape == (20, 20)
    for method in GRADIENT_METHODS:
        x, maps = model_frame(clf, fast(method, clf), n=2)
        for heat, _ in maps:
            assert np.all(heat[:, 10:] == 0.0), method  # exactly: the score never sees them
            assert np.abs(heat[:, :10]).max() > 0, method


def test_integrated_gradients_is_complete_within_one_percent_on_a_zoo_model():
    from xaixray.data import make_phantoms

    clf = xaixray.build("compact_cnn", input_size=(32, 32), seed=0)
    images = list(make_phantoms(3, 48, seed=4).images)
    for target in (0, 1):
        for e in IntegratedGradients(clf).explain(images, targets=target):
            assert e.params["steps"] == DEFAULT_STEPS and e.params["baseline"] == "black"
            assert abs(e.extras["score_difference"]) > 1e-3
            assert e.extras["completeness_gap"] < 0.01
            assert e.extras["sum"] == pytest.approx(e.extras["score_difference"], rel=0.01)
    # too few steps show as a large gap, so that a user sees it
    gaps = [e.extras["completeness_gap"]
            for e in IntegratedGradients(clf, steps=1).explain(images)]
    assert max(gaps) > 0.01


# ---------------------------------------------------------------------- batches and seeds
@pytest.mark.parametrize("head", ["sigmoid", "softmax"])
def test_each_method_gives_the_same_maps_in_a_batch_as_alone(head):
    clf = conv_classifier(head)
    rng = np.random.default_rng(3)
    originals = [(rng.random((30 + 7 * i, 26)) * 255).astype(np.uint8) for i in range(5)]
    images = PreparedImage.load_many(clf, originals, [f"im{i}" for i in range(5)])
    targets = [0, 1, None, 1, 0]
    for method in GRADIENT_METHODS:
        explainer = fast(method, clf, batch_size=3)  # chunks that cut across images
        assert explainer.batched
        together = explainer.explain_prepared_many(images, targets)
        for image, t, e in zip(images, targets, together):
            alone = fast(method, clf, batch_size=3).explain_prepared(image, t)
            assert e.target == alone.target and e.heatmap.shape == image.original.shape
            scale = np.abs(alone.heatmap).max()
            assert scale > 0, method
            np.testing.assert_allclose(e.heatmap, alone.heatmap, atol=1e-5 * scale,
                                       err_msg=method)
        assert len({round(float(np.abs(e.heatmap).sum()), 4) for e in together}) > 1


def test_smoothgrad_is_deterministic_for_a_seed_and_noise_zero_is_its_base():
    clf = conv_classifier()
    x = np.random.default_rng(5).random((2, 20, 20, 1), np.float32)

    def maps(**kwargs) -> np.ndarray:
        return np.stack([h for h, _ in SmoothGrad(clf, samples=6, **kwargs)._attribute_many(
            x, [1, 0])])

    first = maps(seed=1)
    assert np.array_equal(first, maps(seed=1))
    assert not np.allclose(first, maps(seed=2), atol=1e-3)
    np.testing.assert_allclose(maps(noise=0.0), np.stack(
        [h for h, _ in Saliency(clf)._attribute_many(x, [1, 0])]), atol=1e-6)
    for base in ("input_x_gradient", "integrated_gradients"):
        noisy = maps(base=base, steps=4, seed=3)
        assert np.array_equal(noisy, maps(base=base, steps=4, seed=3))
        cls = InputXGradient if base == "input_x_gradient" else IntegratedGradients
        plain = np.stack([h for h, _ in cls(clf, **({"steps": 4} if cls is IntegratedGradients
                                                    else {}))._attribute_many(x, [1, 0])])
        np.testing.assert_allclose(maps(base=base, steps=4, noise=0.0), plain, atol=1e-6)
        assert not np.allclose(noisy, plain, atol=1e-4)
    sg = SmoothGrad(clf, base="integrated_gradients", steps=4, samples=3)
    assert sg.params["steps"] == 4 and sg.signed
    assert "completeness_gap" in sg._attribute_many(x, [1, 0])[0][1]
    assert "steps" not in SmoothGrad(clf).params and not SmoothGrad(clf).signed


# ---------------------------------------------------------------------- models and options
ZOO_SIZE = (32, 32)


@pytest.mark.parametrize("arch", available())
def test_every_gradient_method_on_every_zoo_architecture(arch):
    from xaixray.data import make_phantoms

    weights = {"weights": None} if arch in ("mobilenet", "resnet50") else {}
    clf = xaixray.build(arch, input_size=ZOO_SIZE, seed=0, **weights)
    gray = make_phantoms(1, 60, pneumonia_fraction=1.0, seed=3).images[0][:, 5:50].copy()
    for method in GRADIENT_METHODS:
        [e] = fast(method, clf).explain(gray)
        assert e.heatmap.shape == gray.shape and np.isfinite(e.heatmap).all(), (arch, method)
        assert np.abs(e.heatmap).max() > 0, (arch, method)
        if not e.signed:
            assert e.heatmap.min() >= 0.0 and e.heatmap.max() <= 1.0
        if method == "integrated_gradients":  # recorded; random weights need more steps
            assert np.isfinite(e.extras["completeness_gap"]), arch


def test_foreign_nested_model_file_and_the_model_is_left_alone(tmp_path):
    import keras
    from keras import layers

    from xaixray import Classifier

    keras.utils.set_random_seed(2)
    base = keras.Sequential([keras.Input((24, 24, 3)), layers.Conv2D(4, 3, activation="relu"),
                             layers.Conv2D(4, 3, activation="relu")], name="base")
    inputs = keras.Input((24, 24, 3))
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling2D()(base(inputs)))
    keras.Model(inputs, out).save(tmp_path / "foreign.keras")
    clf = Classifier.load(tmp_path / "foreign.keras")
    before = [w.copy() for w in clf.model.get_weights()]
    image = (np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
    ig = IntegratedGradients(clf)
    [e] = ig.explain(image, targets=1)
    assert e.extras["completeness_gap"] < 0.01 and e.heatmap.shape == (30, 40)
    assert clf.model.layers[-1].activation.__name__ == "sigmoid"
    assert all(np.array_equal(a, b) for a, b in zip(before, clf.model.get_weights()))
    # the explainer follows the model's current weights
    conv = clf.model.get_layer("base").layers[0]
    conv.set_weights([-w for w in conv.get_weights()])
    assert not np.allclose(ig.explain(image, targets=1)[0].heatmap, e.heatmap)


def test_shared_options_reach_the_methods_that_take_them():
    clf = conv_classifier()
    explainers, errors = make_explainers(
        clf, ["integrated_gradients", "smoothgrad", "saliency", "lime"], batch_size=8,
        steps=5, samples=3, num_samples=20)
    assert errors == {}
    assert {m: e.params["batch_size"] for m, e in explainers.items()} == dict.fromkeys(
        explainers, 8)
    assert explainers["integrated_gradients"].params["steps"] == 5
    assert explainers["smoothgrad"].params["samples"] == 3
    assert "steps" not in explainers["smoothgrad"].params  # base saliency: no steps
    with pytest.raises(xaixray.errors.ExplainerError, match="baseline"):
        IntegratedGradients(clf, baseline="white")
    with pytest.raises(xaixray.errors.ExplainerError, match="base"):
        SmoothGrad(clf, base="gradcam")
    with pytest.raises(xaixray.errors.ExplainerError, match="steps"):
        IntegratedGradients(clf, steps=0)


def test_explain_command_writes_every_gradient_method_into_the_report(tiny_model_path,
                                                                      tmp_path, capsys):
    from conftest import write_phantom_images

    from xaixray.cli import main

    [image] = write_phantom_images(tmp_path / "in", 1, 64, seed=9, stem="chest")
    methods = "saliency,integrated_gradients,smoothgrad,input_x_gradient"
    out = tmp_path / "out"
    assert main(["explain", str(tiny_model_path), str(image), "--methods", methods,
                 "--out", str(out)]) == 0, capsys.readouterr().err
    report = json.loads((out / "chest0" / "report.json").read_text())
    assert list(report["methods"]) == methods.split(",") and report["errors"] == {}
    ig = report["methods"]["integrated_gradients"]
    assert ig["params"]["steps"] == DEFAULT_STEPS and ig["params"]["baseline"] == "black"
    assert 0 <= ig["details"]["completeness_gap"] < 0.01
    assert report["methods"]["smoothgrad"]["seed"] == 0
    assert report["methods"]["smoothgrad"]["params"]["samples"] > 1
    assert report["methods"]["saliency"]["seed"] is None
    assert set(report["faithfulness"]["methods"]) == set(methods.split(","))


def test_gradient_explainers_in_several_threads_match_sequential_runs():
    import threading

    clf = conv_classifier("softmax")
    explainers = [Saliency(clf), IntegratedGradients(clf, steps=4),
                  SmoothGrad(clf, samples=3, seed=2), GradCAM(clf)]
    x = np.random.default_rng(7).random((3, 20, 20, 1), np.float32)
    jobs = [(k, i, t) for k in range(len(explainers)) for i in range(3) for t in (0, 1)]
    expected = {job: explainers[job[0]]._attribute(x[job[1]], job[2])[0] for job in jobs}
    failures: list[str] = []
    done: list[tuple] = []
    start = threading.Barrier(4)

    def work(worker: int) -> None:
        start.wait()
        for n in range(len(jobs)):
            k, i, t = job = jobs[(n * 5 + worker * 7) % len(jobs)]
            try:
                heat = explainers[k]._attribute(x[i], t)[0]
                done.append(job)
                if not np.allclose(heat, expected[job], atol=1e-5):
                    failures.append(str(job))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(f"{job}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(done) == 4 * len(jobs)
