"""The model zoo: documented shapes, heads and parameter counts; transfer-weight handling."""

from __future__ import annotations

import pytest

import xaixray
from xaixray import ModelError, models

# name -> (model input shape, output units, parameter count range)
EXPECTED = {
    "cnn_lstm": ((224, 224, 3), 2, (0.5e6, 2e6)),
    "row_lstm": ((150, 450), 2, (0.9e6, 1.1e6)),
    "mobilenet": ((150, 150, 3), 2, (3.2e6, 3.5e6)),
    "resnet50": ((150, 150, 3), 1, (23.5e6, 24.5e6)),
    "gray_cnn_lstm": ((128, 128, 1), 1, (2_720_129, 2_720_129)),
    "simple_cnn": ((224, 224, 3), 2, (23e6, 25e6)),
    "compact_cnn": ((128, 128, 1), 1, (0.8e6, 1.5e6)),
}


def test_registry_lists_every_seed_architecture():
    assert set(EXPECTED) == set(models.available())
    assert {models.get(n).seed for n in models.available()} >= {"000", "001", "002", "003", "004"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_architecture_builds_as_documented(name):
    shape, units, (lo, hi) = EXPECTED[name]
    clf = xaixray.build(name, weights=None) if models.get(name).transfer else \
        xaixray.build(name)
    assert tuple(clf.model.inputs[0].shape[1:]) == shape
    assert clf.preprocessing.model_input_shape == shape
    assert clf.model.outputs[0].shape[-1] == units
    assert clf.output_kind == ("sigmoid" if units == 1 else "softmax")
    assert lo <= clf.model.count_params() <= hi
    assert clf.model.optimizer is not None  # compiled with the seed's optimizer


def test_seed_003_parameter_counts_match_the_document():
    import numpy as np

    model = xaixray.build("gray_cnn_lstm").model
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert model.count_params() == 2_720_129
    assert non_trainable == 1_984


def test_seed_001_row_lstm_reads_rows():
    clf = xaixray.build("row_lstm")
    assert clf.preprocessing.layout == "rows"
    assert [layer.units for layer in clf.model.layers if layer.name.startswith("lstm")] == \
        [250, 120, 64]


def test_resnet50_is_a_nested_sequential_with_15_trainable_base_layers():
    clf = xaixray.build("resnet50", weights=None, input_size=(64, 64))
    base = clf.model.layers[0]
    assert base.name.startswith("resnet50")
    trainable = [layer for layer in base.layers if layer.trainable]
    assert len(trainable) == 15
    assert clf.preprocessing.scaling == "caffe"
    assert clf.info["learning_rate"] == pytest.approx(1e-4)


def test_input_size_override():
    clf = xaixray.build("gray_cnn_lstm", input_size=(64, 64))
    assert clf.preprocessing.model_input_shape == (64, 64, 1)


def test_unknown_architecture_is_one_clear_error():
    with pytest.raises(ModelError, match="unknown architecture 'nope'.*available"):
        xaixray.build("nope")


def test_imagenet_download_failure_is_explained(monkeypatch):
    import keras

    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- "
                        "[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.applications, "MobileNet", offline)
    with pytest.raises(ModelError, match="ImageNet weights for MobileNet.*weights=None"):
        xaixray.build("mobilenet")


def test_local_weights_file(tmp_path):
    import keras
    import numpy as np

    base = keras.applications.MobileNet(include_top=False, weights=None, input_shape=(64, 64, 3))
    path = tmp_path / "mobilenet.weights.h5"
    base.save_weights(path)
    clf = xaixray.build("mobilenet", weights=str(path), input_size=(64, 64))
    loaded = clf.model.get_layer(base.name)
    np.testing.assert_allclose(loaded.get_weights()[0], base.get_weights()[0])
    with pytest.raises(ModelError, match="not found"):
        xaixray.build("mobilenet", weights=str(tmp_path / "missing.h5"), input_size=(64, 64))
