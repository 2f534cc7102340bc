"""ROAD removal (noisy linear imputation) against answers known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from xaixray.metrics.imputation import impute


def ramp(h: int = 48, w: int = 40) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (0.2 + 0.01 * yy + 0.006 * xx).astype(np.float32)


def test_a_linear_ramp_is_its_own_imputation():
    image = ramp()
    keep = np.ones(image.shape, bool)
    keep[10:30, 8:25] = False  # an interior hole: every removed pixel has its 8 neighbours
    keep[35:40, 30:33] = False
    out = impute(image, keep, noise=0.0)
    np.testing.assert_allclose(out, image, atol=1e-5)


def test_kept_pixels_stay_and_noise_has_the_stated_size():
    image = np.repeat(ramp()[..., None], 3, axis=-1)
    keep = np.ones(image.shape[:2], bool)
    keep[5:40, 5:35] = False
    out = impute(image, keep, noise=0.05, rng=np.random.default_rng(1))
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[keep], image[keep])
    residual = out[..., 0][~keep] - image[..., 0][~keep]
    assert abs(residual.std() - 0.05) < 0.005 and abs(residual.mean()) < 0.005
    np.testing.assert_array_equal(out[..., 0], out[..., 2])  # equal channels stay equal


def test_nothing_kept_fills_the_mean_and_a_hole_takes_its_surroundings():
    image = ramp()
    out = impute(image, np.zeros(image.shape, bool), noise=0.0)
    np.testing.assert_allclose(out, image.mean(), atol=1e-6)
    square = np.zeros((32, 32), np.float32)
    square[12:20, 12:20] = 1.0
    keep = square == 0
    np.testing.assert_allclose(impute(square, keep, noise=0.0), 0.0, atol=1e-7)


def test_mask_shape_is_checked():
    from xaixray.errors import ExplainerError

    with pytest.raises(ExplainerError, match="does not match"):
        impute(ramp(), np.ones((3, 3), bool))


def test_road_deletion_removes_the_evidence_that_blur_leaves_behind():
    """A model whose logit is the mean of a bright square: deleting the square's cells by ROAD
    fills them from the dark surroundings (logit ~ 0); blur leaves half the square's light."""
    import keras

    from xaixray import Classifier
    from xaixray.metrics import deletion_curve

    region = np.zeros((32, 32), bool)
    region[12:20, 12:20] = True
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="linear")])
    model.layers[-1].set_weights([(region.ravel() / region.sum())[:, None].astype(np.float32),
                                  np.zeros(1, np.float32)])
    clf = Classifier.from_keras(model)
    image = region.astype(np.uint8) * 255
    curves = {removal: deletion_curve(clf, image, region.astype(float), 1, steps=16, grid=16,
                                      removal=removal, score="logit", n_random=1)
              for removal in ("road", "blur")}
    road, blur = curves["road"], curves["blur"]
    assert road.scores[0] == pytest.approx(1.0, abs=1e-5)  # nothing removed yet
    assert abs(road.scores[1]) < 0.01  # step 1 removes exactly the square's 16 cells
    assert blur.scores[1] > 0.2
    assert road.params["removal"] == "road" and road.params["noise"] == 0.01
    assert road.better_than_random
