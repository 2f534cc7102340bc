"""The lung-field crop: the box, the frame maps both ways, and heatmaps in the original frame."""

from __future__ import annotations

import numpy as np
import pytest

from xaixray.anatomy import lung_box
from xaixray.preprocessing import Preprocessing

H, W = 300, 500                       # wider than tall, like a test X-ray
BODY = (40, 290, 150, 430)            # off-centre: rows 40:290, columns 150:430
LUNGS = [(70, 250, 180, 270), (70, 250, 310, 400)]


def off_centre_xray(rng: np.random.Generator) -> np.ndarray:
    """Dark background, a bright body right of centre, two dark lungs inside it."""
    img = np.full((H, W), 20, np.uint8)
    top, bottom, left, right = BODY
    img[top:bottom, left:right] = 200
    for t, b, c0, c1 in LUNGS:
        img[t:b, c0:c1] = 90
    noise = rng.integers(-5, 6, img.shape)
    return np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)


def test_lung_box_holds_both_lungs_of_an_off_centre_body(rng):
    top, bottom, left, right = lung_box(off_centre_xray(rng))
    for t, b, c0, c1 in LUNGS:
        assert top <= t and bottom >= b and left <= c0 and right >= c1
    # and not much more than the lungs: it stays inside the body, give or take the 5% margin
    assert top >= BODY[0] - 0.06 * H and bottom <= BODY[1] + 0.06 * H
    assert left >= BODY[2] - 0.06 * W and right <= BODY[3] + 0.06 * W


def test_lung_box_of_a_large_film_is_the_small_films_box_scaled(rng):
    # a film of thousands of pixels is area-averaged before the search (anatomy.PRESHRINK):
    # the box must be the one of the same X-ray at its small size, in the large film's pixels
    small = off_centre_xray(rng)
    large = np.kron(small, np.ones((6, 6), np.uint8))  # 1800 x 3000
    expected = np.array(lung_box(small)) * 6
    assert np.abs(np.array(lung_box(large)) - expected).max() <= 0.01 * 3000


def test_lung_box_of_a_flat_image_is_the_whole_image():
    assert lung_box(np.full((50, 80), 128, np.uint8)) == (0, 50, 0, 80)


def test_fit_crops_to_the_box_before_resizing(rng):
    image = off_centre_xray(rng)
    pre = Preprocessing((64, 64), 1, "unit", crop="lungs")
    top, bottom, left, right = box = pre.crop_box(image)
    marked = image.copy()
    marked[:top], marked[bottom:], marked[:, :left], marked[:, right:] = 255, 255, 255, 255
    # what lies outside the box never reaches the model frame
    np.testing.assert_array_equal(pre.fit(marked, box), pre.fit(image, box))
    np.testing.assert_array_equal(pre.fit(image), pre.fit(image, box))
    assert Preprocessing((64, 64), 1, "unit").crop_box(image) is None


def test_maps_come_back_in_the_original_frame_through_the_crop(rng):
    image = off_centre_xray(rng)
    pre = Preprocessing((64, 64), 1, "unit", crop="lungs")
    top, bottom, left, right = box = pre.crop_box(image)
    model_map = np.zeros((64, 64), np.float32)
    model_map[:32, :32] = 1.0                      # the model frame's top-left quarter
    back = pre.map_to_original(model_map, (H, W), box)
    assert back.shape == (H, W)
    outside = np.ones((H, W), bool)
    outside[top:bottom, left:right] = False
    assert not back[outside].any()                 # the model never saw it: no attribution
    mid_r, mid_c = (top + bottom) // 2, (left + right) // 2
    assert back[top + 2:mid_r - 2, left + 2:mid_c - 2].min() == pytest.approx(1.0)
    assert back[mid_r + 2:bottom, left:right].max() == pytest.approx(0.0)
    assert back[top:bottom, mid_c + 2:right].max() == pytest.approx(0.0)
    # and the forward map undoes it
    again = pre.map_to_model(back, box)
    assert again.shape == (64, 64)
    np.testing.assert_allclose(again[:30, :30], 1.0, atol=1e-5)
    np.testing.assert_allclose(again[34:], 0.0, atol=1e-5)
    np.testing.assert_allclose(again[:, 34:], 0.0, atol=1e-5)


def test_explainer_heatmaps_are_in_the_original_frame_of_a_cropping_model(rng, tiny_classifier):
    from xaixray import Classifier
    from xaixray.explainers import GradCAM
    from xaixray.explainers.base import Explainer

    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing.replace(crop="lungs"),
                     tiny_classifier.class_names, 0.5, "tiny-crop")
    image = off_centre_xray(rng)
    top, bottom, left, right = clf.preprocessing.crop_box(image)

    class LeftHalf(Explainer):
        name = "left"

        def _attribute(self, prepared, target):
            heat = np.zeros(prepared.shape[:2], np.float32)
            heat[:, : prepared.shape[1] // 2] = 1.0
            return heat, {}

    [e] = LeftHalf(clf).explain(image)
    assert e.heatmap.shape == (H, W)
    assert not e.heatmap[:, :left].any() and not e.heatmap[:, right:].any()
    assert not e.heatmap[:top].any() and not e.heatmap[bottom:].any()
    mid_c, pixel = (left + right) // 2, (right - left) // 32 + 2  # one model pixel, bilinear
    assert e.heatmap[top:bottom, left + pixel:mid_c - pixel].min() == pytest.approx(1.0)
    assert e.heatmap[top:bottom, mid_c + pixel:right].max() == pytest.approx(0.0)

    [g] = GradCAM(clf).explain(image)
    assert g.heatmap.shape == (H, W)
    assert not g.heatmap[:, :left].any() and not g.heatmap[:, right:].any()


def test_lime_segments_outside_the_crop_carry_no_weight(rng, tiny_classifier):
    from xaixray import Classifier
    from xaixray.explainers import LIME

    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing.replace(crop="lungs"),
                     tiny_classifier.class_names, 0.5, "tiny-crop")
    image = off_centre_xray(rng)
    top, bottom, left, right = clf.preprocessing.crop_box(image)
    [e] = LIME(clf, num_samples=40, n_segments=16).explain(image)
    segments = e.extras["segments"]
    assert segments.shape == (H, W)
    assert (segments[:, :left] == -1).all() and (segments[top:bottom, left:right] >= 0).all()
    assert not e.heatmap[:, :left].any() and not e.heatmap[:, right:].any()


def test_crop_is_saved_with_the_model(tmp_path, tiny_classifier):
    from xaixray import Classifier

    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing.replace(crop="lungs"),
                     tiny_classifier.class_names, 0.5, "tiny-crop")
    clf.save(tmp_path / "crop.keras")
    assert Classifier.load(tmp_path / "crop.keras").preprocessing.crop == "lungs"
    assert Classifier.load(tmp_path / "crop.keras", crop="none").preprocessing.crop == "none"
    with pytest.raises(Exception, match="unknown crop"):
        Preprocessing(crop="thorax")


def test_reports_say_what_part_the_model_sees(rng, tiny_classifier):
    from matplotlib.patches import Rectangle

    import xaixray
    from xaixray import Classifier
    from xaixray.reports import report_dict

    image = off_centre_xray(rng)
    for crop, has_box in (("lungs", True), ("none", False)):
        clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing.replace(crop=crop),
                         tiny_classifier.class_names, 0.5, f"tiny-{crop}")
        [result] = xaixray.explain(clf, [image], methods=("gradcam",))
        box = report_dict(result)["image"]["model_box"]
        assert box == (list(clf.preprocessing.crop_box(image)) if has_box else None)
        fig = xaixray.plot_explanations(result)
        dashed = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
        assert len(dashed) == int(has_box)


def test_the_web_app_gives_the_box_to_outline(rng, tiny_classifier):
    pytest.importorskip("flask")
    from xaixray import Classifier
    from xaixray.serve import ExplainService, Upload

    image = off_centre_xray(rng)
    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing.replace(crop="lungs"),
                     tiny_classifier.class_names, 0.5, "tiny-lungs")
    service = ExplainService(clf, "gradcam")
    try:
        body = service.explain(Upload("x.png", image), ["gradcam"])
    finally:
        service.close()
    assert body["image"] == {"height": H, "width": W,
                             "model_box": list(clf.preprocessing.crop_box(image))}


def test_faithfulness_curves_read_original_frame_maps_through_the_crop(rng, tiny_classifier):
    from xaixray import Classifier
    from xaixray.explainers import PreparedImage
    from xaixray.metrics import perturbation_curves

    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing.replace(crop="lungs"),
                     tiny_classifier.class_names, 0.5, "tiny-crop")
    image = off_centre_xray(rng)
    prepared = PreparedImage.load(clf, image)
    # a ramp: every cell of the curves' grid has its own rank, which resampling keeps
    model_map = np.add.outer(np.arange(32.0) * 32, np.arange(32.0)).astype(np.float32) / 1024
    original_map = prepared.to_original(model_map, clf.preprocessing)
    half = original_map[::2, ::2]                    # the same map at half the resolution
    for img in (prepared, image, image.astype(np.float32)):   # prepared, uint8, float original
        curves = perturbation_curves(clf, img, {"model": model_map, "original": original_map,
                                                "half": half}, 0, steps=8, n_random=1)
        for name in ("original", "half"):
            np.testing.assert_allclose(curves[name]["deletion"].scores,
                                       curves["model"]["deletion"].scores, atol=1e-6)


def test_folder_runs_record_each_image_box(rng, tiny_classifier, tmp_path):
    import json

    import cv2

    from xaixray import Classifier
    from xaixray.run import explain_paths

    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing.replace(crop="lungs"),
                     tiny_classifier.class_names, 0.5, "tiny-crop")
    images = [off_centre_xray(rng), off_centre_xray(rng)[:, ::-1].copy()]  # body left, right
    paths = []
    for i, im in enumerate(images):
        paths.append(tmp_path / f"x{i}.png")
        cv2.imwrite(str(paths[-1]), im)
    explain_paths(clf, paths, tmp_path / "out", methods=("gradcam",), faithfulness=False)
    for path, im in zip(paths, images):
        report = json.loads((tmp_path / "out" / path.stem / "report.json").read_text())
        assert report["image"]["model_box"] == list(clf.preprocessing.crop_box(im))
