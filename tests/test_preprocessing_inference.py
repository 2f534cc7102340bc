"""Preprocessing read from a foreign model's own layers, or marked as guessed."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
layers = keras.layers

from xaixray import Classifier  # noqa: E402
from xaixray.cli import main  # noqa: E402
from xaixray.preprocessing_inference import (  # noqa: E402
    GUESSED,
    READ,
    STATED,
    infer_preprocessing,
    scaling_notice,
)


def augmentation() -> keras.Sequential:
    return keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1),
                             layers.RandomZoom(0.1)], name="augmentation")


def rescaling_inside(scale: float, offset: float = 0.0, units: int = 1) -> keras.Model:
    """Keras' image-classification tutorial: augmentation, then Rescaling, in one Sequential."""
    keras.utils.set_random_seed(1)
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.RandomFlip("horizontal"), layers.RandomRotation(0.1),
        layers.Rescaling(scale, offset=offset),
        layers.Conv2D(4, 3, activation="relu", name="conv"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(units, activation="sigmoid" if units == 1 else "softmax"),
    ], name="tutorial")


def rescaling_nested(scale: float, offset: float = 0.0, units: int = 3) -> keras.Model:
    """Augmentation and a base that rescales inside, each a nested model."""
    keras.utils.set_random_seed(2)
    base = keras.Sequential([layers.Rescaling(scale, offset=offset),
                             layers.Conv2D(4, 3, activation="relu", name="conv"),
                             layers.GlobalAveragePooling2D()], name="base")
    inputs = keras.Input((32, 32, 3))
    outputs = layers.Dense(units, activation="sigmoid" if units == 1 else "softmax")(
        base(augmentation()(inputs)))
    return keras.Model(inputs, outputs, name="nested")


def plain(channels: int = 1) -> keras.Model:
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((32, 32, channels)), layers.Conv2D(4, 3, name="conv"),
                             layers.GlobalAveragePooling2D(),
                             layers.Dense(1, activation="sigmoid")], name="plain")


def on_base(base: keras.Model, units: int = 1) -> keras.Model:
    inputs = keras.Input(base.input_shape[1:])
    x = layers.GlobalAveragePooling2D()(base(augmentation()(inputs)))
    return keras.Model(inputs, layers.Dense(units, activation="sigmoid")(x), name="transfer")


@pytest.fixture(scope="module")
def efficientnet() -> keras.Model:
    return on_base(keras.applications.EfficientNetB0(weights=None, include_top=False,
                                                     input_shape=(64, 64, 3)))


@pytest.fixture(scope="module")
def resnet() -> keras.Model:
    return on_base(keras.applications.ResNet50(weights=None, include_top=False,
                                               input_shape=(64, 64, 3)))


def images(n: int = 4, size: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def through_xaixray(clf: Classifier, batch: np.ndarray) -> np.ndarray:
    """The probabilities xaixray gives, as the model's own outputs (one column if sigmoid)."""
    proba = clf.predict_proba(list(batch))
    return proba[:, 1:] if clf.output_kind == "sigmoid" else proba


@pytest.mark.parametrize("build", [rescaling_inside, rescaling_nested])
@pytest.mark.parametrize(("scale", "offset"), [(1 / 255, 0.0), (1 / 127.5, -1.0)])
def test_rescaling_inside_the_model_is_read_as_0_255(build, scale, offset):
    model = build(scale, offset)
    clf = Classifier.from_keras(model)
    assert clf.preprocessing.scaling == "raw" and clf.provenance["scaling"] == READ
    assert "Rescaling" in clf.reasons["scaling"] and scaling_notice(clf.metadata()) is None
    batch = images()
    expected = model.predict(batch.astype(np.float32), verbose=0)  # 0..255, as it expects
    np.testing.assert_allclose(through_xaixray(clf, batch), expected, atol=1e-5)
    wrong = model.predict(batch.astype(np.float32) / 255.0, verbose=0)  # what unit would feed
    assert np.abs(wrong - expected).max() > 1e-3  # the check can tell the two apart


def test_rescaling_from_unit_to_symmetric_is_read_as_unit():
    clf = Classifier.from_keras(rescaling_inside(2.0, -1.0))
    assert (clf.preprocessing.scaling, clf.provenance["scaling"]) == ("unit", READ)


def test_a_three_class_model_is_read_and_named_in_output_order():
    model = rescaling_nested(1 / 255, units=3)
    clf = Classifier.from_keras(model, class_names=("NORMAL", "BACTERIA", "VIRAL"))
    assert clf.output_kind == "softmax" and clf.preprocessing.scaling == "raw"
    batch = images()
    np.testing.assert_allclose(clf.predict_proba(list(batch)),
                               model.predict(batch.astype(np.float32), verbose=0), atol=1e-5)
    assert Classifier.from_keras(model).class_names == ("class_0", "class_1", "class_2")


@pytest.mark.parametrize(("mean", "expected"), [([123.7, 116.3, 103.5], "raw"),
                                                ([0.485, 0.456, 0.406], "unit")])
def test_normalization_means_say_the_range(mean, expected):
    model = keras.Sequential([keras.Input((32, 32, 3)),
                              layers.Normalization(mean=mean, variance=[0.05, 0.05, 0.05]),
                              layers.Conv2D(2, 3), layers.GlobalAveragePooling2D(),
                              layers.Dense(1, activation="sigmoid")])
    inferred = infer_preprocessing(model)
    assert (inferred.preprocessing.scaling, inferred.provenance["scaling"]) == (expected, READ)


def test_efficientnet_carries_its_preprocessing(efficientnet):
    clf = Classifier.from_keras(efficientnet)
    assert clf.preprocessing.input_size == (64, 64)
    assert (clf.preprocessing.scaling, clf.provenance["scaling"]) == ("raw", READ)


def test_resnet50_scaling_is_its_documented_preprocess_input_and_marked_guessed(resnet):
    clf = Classifier.from_keras(resnet)
    assert (clf.preprocessing.scaling, clf.provenance["scaling"]) == ("caffe", GUESSED)
    assert "ResNet" in clf.reasons["scaling"]
    notice = scaling_notice(clf.metadata())
    assert "guessed as 'caffe'" in notice and "--scaling" in notice


def test_no_preprocessing_and_no_family_is_a_marked_guess():
    clf = Classifier.from_keras(plain())
    assert (clf.preprocessing.scaling, clf.provenance["scaling"]) == ("unit", GUESSED)
    assert clf.provenance["channels"] == READ and clf.provenance["input_size"] == READ
    assert clf.provenance["crop"] == GUESSED
    stated = Classifier.from_keras(plain(), scaling="raw")
    assert stated.provenance["scaling"] == STATED and scaling_notice(stated.metadata()) is None


def test_provenance_survives_plain_keras_and_xaixray_files(tmp_path):
    plain_file = tmp_path / "rescaling.keras"
    rescaling_inside(1 / 255).save(plain_file)
    assert Classifier.load(plain_file).preprocessing.scaling == "raw"
    guessed = Classifier.from_keras(plain())
    guessed.save(tmp_path / "guessed.keras")
    again = Classifier.load(tmp_path / "guessed.keras")
    assert again.provenance["scaling"] == GUESSED and again.provenance["channels"] == READ
    assert again.reasons["scaling"] == guessed.reasons["scaling"]
    assert Classifier.load(tmp_path / "guessed.keras", scaling="unit").provenance[
        "scaling"] == STATED


def test_files_xaixray_wrote_are_read_not_guessed(tmp_path):
    from xaixray.preprocessing import Preprocessing

    made = Classifier(plain(), Preprocessing((32, 32), 1, "unit"))  # as xaixray.build does
    assert set(made.provenance.values()) == {STATED}
    made.save(tmp_path / "made.keras")
    clf = Classifier.load(tmp_path / "made.keras")
    assert set(clf.provenance.values()) == {READ}
    assert scaling_notice(clf.metadata()) is None


def test_the_cli_says_in_one_line_when_scaling_was_guessed(tmp_path, capsys):
    guessed, read = tmp_path / "plain.keras", tmp_path / "rescaling.keras"
    plain(3).save(guessed)
    rescaling_inside(1 / 255).save(read)
    image = tmp_path / "x.png"
    import cv2

    cv2.imwrite(str(image), images(1)[0])
    assert main(["predict", str(guessed), str(image), "--json"]) == 0
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if "guessed" in ln]
    assert len(lines) == 1 and "--scaling" in lines[0] and "'unit'" in lines[0]
    json.loads(captured.out.splitlines()[0])  # stdout stays JSON
    assert main(["predict", str(guessed), str(image), "--scaling", "unit"]) == 0
    assert "guessed" not in capsys.readouterr().err
    assert main(["predict", str(read), str(image)]) == 0
    assert "guessed" not in capsys.readouterr().err


def test_reports_and_the_web_app_say_when_scaling_was_guessed(tmp_path):
    from xaixray.explainers import explain_image, make_explainers
    from xaixray.reports import render_report_html, report_dict
    from xaixray.serve import ExplainService

    clf = Classifier.from_keras(plain())
    result = explain_image(clf, images(1)[0][:, :, 0], make_explainers(clf, ["gradcam"])[0])
    report = report_dict(result)
    assert report["model"]["provenance"]["scaling"] == GUESSED
    assert len(report["notices"]) == 1 and "--scaling" in report["notices"][0]
    assert "Input scaling guessed" in render_report_html(report, None)
    health = ExplainService(clf, methods=["gradcam"]).health()
    assert health["scaling"] == "unit" and "--scaling" in health["scaling_notice"]
    read = Classifier.from_keras(rescaling_inside(1 / 255))
    explained = explain_image(read, images(1)[0], make_explainers(read, ["gradcam"])[0])
    assert report_dict(explained)["notices"] == []
    assert ExplainService(read, methods=["gradcam"]).health()["scaling_notice"] is None


# ---------------------------------------------------------------------- xaixray inspect
def inspect(path, *flags: str, capsys) -> tuple[str, dict]:
    assert main(["inspect", str(path), *flags]) == 0
    text = capsys.readouterr().out
    assert main(["inspect", str(path), "--json", *flags]) == 0
    return text, json.loads(capsys.readouterr().out)


def test_inspect_a_model_that_rescales_inside(tmp_path, capsys):
    path = tmp_path / "tutorial.keras"
    rescaling_inside(1 / 127.5, -1.0).save(path)
    text, d = inspect(path, capsys=capsys)
    assert d["input"]["scaling"] == {"value": "raw", "how": "read", "why": d["input"][
        "scaling"]["why"]} and "Rescaling" in d["input"]["scaling"]["why"]
    assert d["input"]["input_size"]["value"] == [32, 32] and d["input"]["channels"]["how"] == READ
    assert d["output"]["kind"] == "probability" and d["classes"]["names"] == ["NORMAL",
                                                                              "PNEUMONIA"]
    assert d["decision"]["positive_class"] == "PNEUMONIA" and d["decision"]["threshold"] == 0.5
    assert d["explain"]["gradcam_layer"]["name"] == "conv"
    assert d["explain"]["methods"]["gradcam"] is None
    assert d["keras"]["saved_with"] == keras.__version__ and d["keras"]["safe_mode"] is True
    assert set(d["guessed"]) == {"equalize", "crop"}
    assert "scaling         raw" in text and "[read: layer 'rescaling" in text
    assert "grad-cam layer  conv (30x30x4 feature map)" in text
    assert "guessed fields: equalize, crop" in text and "--scaling" not in text


def test_inspect_a_three_class_model_names_and_arg_max(tmp_path, capsys):
    path = tmp_path / "three.keras"
    rescaling_nested(1 / 255, units=3).save(path)
    text, d = inspect(path, capsys=capsys)
    assert d["output"]["kind"] == "softmax" and d["classes"]["named"] is False
    assert d["decision"]["positive_class"] is None and "arg-max" in d["decision"]["rule"]
    assert "--class-names" in text
    text, d = inspect(path, "--class-names", "NORMAL,BACTERIA,VIRAL", capsys=capsys)
    assert d["classes"] == {"names": ["NORMAL", "BACTERIA", "VIRAL"], "named": True}
    assert "classes         NORMAL, BACTERIA, VIRAL" in text


def test_inspect_keras_applications_models(tmp_path, capsys, efficientnet, resnet):
    efficientnet.save(tmp_path / "effnet.keras")
    resnet.save(tmp_path / "resnet.keras")
    _, d = inspect(tmp_path / "effnet.keras", capsys=capsys)
    assert (d["input"]["scaling"]["value"], d["input"]["scaling"]["how"]) == ("raw", READ)
    assert d["input"]["input_size"]["value"] == [64, 64]
    text, d = inspect(tmp_path / "resnet.keras", capsys=capsys)
    assert (d["input"]["scaling"]["value"], d["input"]["scaling"]["how"]) == ("caffe", GUESSED)
    assert d["guessed"]["scaling"] == "--scaling"
    assert d["explain"]["gradcam_layer"]["name"] == "conv5_block3_out"
    assert "[guessed: no preprocessing layer" in text and "ResNet" in text
    assert "state them with --scaling" in text
    _, d = inspect(tmp_path / "resnet.keras", "--scaling", "torch", capsys=capsys)
    assert d["input"]["scaling"] == {"value": "torch", "how": STATED, "why": "stated by the user"}


def test_inspect_says_when_grad_cam_cannot_run_and_safe_mode_refuses(tmp_path, capsys):
    dense = keras.Sequential([keras.Input((16, 16, 1)), layers.Flatten(),
                              layers.Dense(1, activation="sigmoid")])
    dense.save(tmp_path / "dense.keras")
    text, d = inspect(tmp_path / "dense.keras", capsys=capsys)
    assert d["explain"]["gradcam_layer"] is None
    assert "convolutional layer" in d["explain"]["methods"]["gradcam"]
    assert d["explain"]["methods"]["lime"] is None
    assert any(ln.startswith("cannot run") and "gradcam (" in ln for ln in text.splitlines())
    lam = keras.Sequential([keras.Input((16, 16, 1)), layers.Lambda(lambda x: x / 255.0),
                            layers.Conv2D(2, 3), layers.GlobalAveragePooling2D(),
                            layers.Dense(1, activation="sigmoid")])
    lam.save(tmp_path / "lambda.keras")
    assert main(["inspect", str(tmp_path / "lambda.keras")]) == 1
    assert "safe mode" in capsys.readouterr().err
    _, d = inspect(tmp_path / "lambda.keras", "--unsafe", capsys=capsys)
    assert d["keras"]["safe_mode"] is False and d["input"]["scaling"]["how"] == GUESSED
    assert "(Lambda) may preprocess, but cannot be read" in d["input"]["scaling"]["why"]


def test_describe_in_python_matches_inspect(tmp_path):
    clf = Classifier.from_keras(rescaling_inside(1 / 255))
    d = clf.describe()
    assert d["file"] is None and d["keras"]["safe_mode"] is None
    assert d["input"]["scaling"]["how"] == READ and "explain" not in d


@pytest.mark.parametrize(("family", "scaling"), [("VGG16", "caffe"), ("DenseNet121", "torch"),
                                                 ("MobileNetV2", "symmetric"),
                                                 ("MobileNetV3Small", "raw")])
def test_other_keras_applications_families(family, scaling):
    base = getattr(keras.applications, family)(weights=None, include_top=False,
                                               input_shape=(64, 64, 3))
    clf = Classifier.from_keras(on_base(base))
    expected = READ if scaling == "raw" else GUESSED  # MobileNetV3 rescales inside
    assert (clf.preprocessing.scaling, clf.provenance["scaling"]) == (scaling, expected)
