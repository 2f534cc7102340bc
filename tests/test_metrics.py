"""Faithfulness metrics on cases whose right answer is known."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xaixray
from xaixray.explainers import Explainer, GradCAM
from xaixray.metrics import (
    body_mask,
    border_band,
    border_share,
    deletion_curve,
    find_mask,
    insertion_curve,
    load_mask,
    localization,
    mask_for,
    outside_body_share,
    perturbation_curves,
    pixel_ranks,
    pointing_game,
    randomization_check,
    randomized_classifiers,
    relevance_mass,
    removed_image,
    shortcut_shares,
    shortcut_warnings,
    top_area_iou,
)

# ---------------------------------------------------------------------- a model with a known answer
SIZE = 24
REGION = (slice(4, 12), slice(12, 20))  # 8 x 8 = 64 pixels
CHECKER = np.where(np.add.outer(np.arange(8), np.arange(8)) % 2 == 0, 1.0, -1.0)
GAIN, CENTRE = 20.0, 0.25


def evidence(x: np.ndarray) -> float:
    """The known score: GAIN * (mean of CHECKER * x over REGION - CENTRE), the model's logit."""
    return GAIN * (float(np.mean(CHECKER * x[REGION][..., 0])) - CENTRE)


@pytest.fixture(scope="module")
def region_classifier():
    """Score = sigmoid(evidence(x)): a checkerboard texture inside REGION, nothing else."""
    import keras

    model = keras.Sequential([keras.Input((SIZE, SIZE, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid", name="head")])
    w = np.zeros((SIZE, SIZE), np.float32)
    w[REGION] = GAIN * CHECKER / CHECKER.size
    model.get_layer("head").set_weights([w.reshape(-1, 1), np.array([-GAIN * CENTRE], "f4")])
    return xaixray.Classifier.from_keras(model, name="region")


@pytest.fixture(scope="module")
def region_image() -> np.ndarray:
    """A model-frame image: a noisy background and a checkerboard in REGION (evidence 0.5)."""
    x = np.random.default_rng(1).uniform(0.2, 0.6, (SIZE, SIZE, 1)).astype(np.float32)
    x[REGION] = (CHECKER[..., None] + 1) / 2
    return x


def true_map() -> np.ndarray:
    m = np.zeros((SIZE, SIZE), np.float32)
    m[REGION] = 1.0
    return m


def test_the_true_map_beats_random_and_its_inverse_loses(region_classifier, region_image):
    maps = {"true": true_map(), "inverse": 1.0 - true_map()}
    curves = perturbation_curves(region_classifier, region_image, maps, target=1, steps=20)
    deletion, insertion = curves["true"]["deletion"], curves["true"]["insertion"]
    assert deletion.better_than_random and insertion.better_than_random
    assert deletion.auc < deletion.auc_random - 0.3
    assert insertion.auc > insertion.auc_random + 0.2
    assert not curves["inverse"]["deletion"].better_than_random
    assert not curves["inverse"]["insertion"].better_than_random
    assert curves["inverse"]["deletion"].auc > deletion.auc_random + 0.2
    # the random curves are shared by every map of the image
    assert curves["inverse"]["deletion"].auc_random == deletion.auc_random
    assert deletion.fractions[0] == 0.0 and deletion.fractions[-1] == 1.0
    assert len(deletion.scores) == len(deletion.random_scores) == 21


def test_deletion_scores_are_the_known_function_of_the_region(region_classifier, region_image):
    start, gone = evidence(region_image), evidence(removed_image(region_image))
    assert start == pytest.approx(5.0) and gone < -4  # the blur removes the texture
    c = deletion_curve(region_classifier, region_image, true_map(), 1, steps=20, score="logit",
                       grid=None)  # single pixels
    n_removed = np.rint(c.fractions * SIZE * SIZE)
    np.testing.assert_allclose(c.scores[0], start, atol=1e-3)
    np.testing.assert_allclose(c.scores[n_removed >= 64], gone, atol=1e-3)
    inverse = deletion_curve(region_classifier, region_image, 1.0 - true_map(), 1, steps=20,
                             score="logit", grid=None)
    untouched = n_removed <= SIZE * SIZE - 64  # the region goes last
    np.testing.assert_allclose(inverse.scores[untouched], start, atol=1e-3)
    # probabilities are the sigmoid of the same curve
    p = deletion_curve(region_classifier, region_image, true_map(), 1, steps=20, grid=None)
    np.testing.assert_allclose(p.scores, 1 / (1 + np.exp(-c.scores)), atol=1e-5)
    # on a grid of 3 x 3 px cells the region (rows 4-11, cols 12-19) touches 3 x 3 cells,
    # which go first; with 64 steps, one cell per step
    cells = deletion_curve(region_classifier, region_image, true_map(), 1, steps=64, grid=8,
                           score="logit")
    np.testing.assert_allclose(cells.scores[0], start, atol=1e-3)
    np.testing.assert_allclose(cells.scores[9:], gone, atol=1e-3)
    assert np.all(np.diff(cells.scores[:10]) < 0) and cells.scores[8] > gone + 0.1


def test_curves_are_deterministic_for_a_seed_and_take_maps_in_any_frame(region_classifier,
                                                                          region_image):
    big = np.kron(true_map(), np.ones((5, 5), np.float32))  # the map in a 120 px frame
    a = insertion_curve(region_classifier, region_image, big, 1, seed=3, n_random=2)
    b = insertion_curve(region_classifier, region_image, big, 1, seed=3, n_random=2)
    c = insertion_curve(region_classifier, region_image, big, 1, seed=4, n_random=2)
    np.testing.assert_array_equal(a.random_scores, b.random_scores)
    assert a.auc == b.auc and a.auc_random != c.auc_random
    assert a.better_than_random and a.to_dict()["better_than_random"] is True
    assert a.params["target"] == 1 and a.params["removal"] == "blur"


def test_ties_are_ranked_in_a_seeded_random_order():
    flat = np.zeros((6, 6))
    r0, again, r1 = pixel_ranks(flat, 0), pixel_ranks(flat, 0), pixel_ranks(flat, 1)
    assert sorted(r0.ravel()) == list(range(36))
    np.testing.assert_array_equal(r0, again)
    assert not np.array_equal(r0, r1)
    assert not np.array_equal(r0.ravel(), np.arange(36))  # not raster order
    ramp = np.arange(36.0).reshape(6, 6)
    assert pixel_ranks(ramp)[5, 5] == 0 and pixel_ranks(ramp)[0, 0] == 35


def test_cells_are_ranked_by_the_maps_mean():
    from xaixray.metrics.perturbation import cell_ids, cell_ranks

    cells, n = cell_ids((8, 6), 2)
    assert n == 4 and cells[0, 0] == 0 and cells[0, 5] == 1 and cells[7, 0] == 2
    assert np.bincount(cells.ravel()).tolist() == [12, 12, 12, 12]
    heat = np.zeros((8, 6))
    heat[5, 4] = 1.0  # one pixel in the bottom-right cell
    heat[0, 0] = -1.0
    ranks = cell_ranks(heat, cells, n)  # one rank per cell
    assert ranks[3] == 0 and ranks[0] == 3 and sorted(ranks[1:3]) == [1, 2]
    pixels, n_pixels = cell_ids((8, 6), None)
    assert n_pixels == 48 and np.array_equal(pixels.ravel(), np.arange(48))
    with pytest.raises(xaixray.ExplainerError, match="grid"):
        cell_ids((8, 6), 7)


def test_bad_curve_options(region_classifier, region_image):
    with pytest.raises(xaixray.ExplainerError, match="steps"):
        deletion_curve(region_classifier, region_image, true_map(), steps=1)
    with pytest.raises(xaixray.ExplainerError, match="unknown score"):
        deletion_curve(region_classifier, region_image, true_map(), score="odds")
    with pytest.raises(xaixray.ExplainerError, match="unknown removal"):
        deletion_curve(region_classifier, region_image, true_map(), removal="black")
    with pytest.raises(xaixray.ExplainerError, match="2-D"):
        deletion_curve(region_classifier, region_image, np.zeros((2, 3, 4)))


@pytest.mark.parametrize("arch", ["row_lstm", "mobilenet"])
def test_curves_run_on_other_architectures(arch):
    options = {"weights": None} if arch == "mobilenet" else {}
    clf = xaixray.build(arch, input_size=(32, 32), seed=0, **options)
    image = xaixray.data.make_phantoms(1, 50, seed=0).images[0]  # original frame, uint8
    heat = np.random.default_rng(0).random((50, 50))
    c = perturbation_curves(clf, image, {"m": heat}, steps=4, n_random=1)["m"]
    assert set(c) == {"deletion", "insertion"}
    assert all(np.isfinite(v.scores).all() and len(v.scores) == 5 for v in c.values())
    # the ends of the two curves are the intact and the fully removed image
    assert c["deletion"].scores[0] == pytest.approx(c["insertion"].scores[-1], abs=1e-5)
    assert c["deletion"].scores[-1] == pytest.approx(c["insertion"].scores[0], abs=1e-5)


# ---------------------------------------------------------------------- randomisation
class ImageMap(Explainer):
    """A "map" that ignores the model: the image itself."""

    name = "image"

    def _attribute(self, prepared, target):
        return prepared[..., 0], {}


class EdgeMap(Explainer):
    """A "map" that ignores the model: a Sobel edge filter of the image."""

    name = "edges"

    def _attribute(self, prepared, target):
        from skimage.filters import sobel

        return sobel(prepared[..., 0]), {}


@pytest.fixture(scope="module")
def lesion_image():
    return xaixray.data.make_phantoms(1, 48, pneumonia_fraction=1.0, seed=5).images[0]


@pytest.mark.parametrize("explainer", [ImageMap, EdgeMap])
def test_maps_that_ignore_the_model_fail_randomisation(explainer, phantom_model, lesion_image):
    clf, _ = phantom_model
    r = randomization_check(clf, lesion_image, explainer(clf))
    assert r.final_spearman > 0.99 and r.passed is False
    assert min(r.ssim) > 0.99


def test_gradcam_of_a_trained_model_passes_randomisation(phantom_model, lesion_image):
    clf, accuracy = phantom_model
    assert accuracy > 0.85
    # seed 1: random weights under which no map is flat (a flat map passes without showing much)
    r = randomization_check(clf, lesion_image, GradCAM(clf), target="PNEUMONIA", keep_maps=True,
                            seed=1)
    assert all(np.ptp(m) > 0 for m in r.maps)
    assert r.passed is True, r.spearman
    assert abs(r.final_spearman) < 0.3
    assert r.layers[0] == [clf.model.layers[-1].name]  # the cascade starts at the output
    assert len(r.layers) == len(r.spearman) == len(r.ssim) == 4  # 3 convolutions + the head
    assert r.to_dict()["passed"] is True


def test_randomisation_never_touches_the_users_model(phantom_model, lesion_image):
    clf, _ = phantom_model
    before = [w.copy() for w in clf.model.get_weights()]
    x = clf.preprocessing.prepare([lesion_image])
    p_before = clf.predict_proba_prepared(x)
    by_name = randomization_check(clf, lesion_image, "gradcam", steps=2, seed=1)
    again = randomization_check(clf, lesion_image, "gradcam", steps=2, seed=1)
    after = clf.model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    np.testing.assert_array_equal(clf.predict_proba_prepared(x), p_before)
    assert by_name.spearman == again.spearman  # deterministic for a seed
    assert len(by_name.layers) == 2 and sum(map(len, by_name.layers)) == 4


def test_cascade_randomises_nested_models_top_down():
    clf = xaixray.build("mobilenet", input_size=(32, 32), weights=None, seed=0)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    before = [w.copy() for w in clf.model.get_weights()]
    p0 = clf.predict_log_odds_prepared(x)
    steps = []
    for names, randomized in randomized_classifiers(clf, steps=3, seed=0):
        conv1 = randomized.model.get_layer("mobilenet_1.00_32").get_layer("conv1")
        steps.append((names, conv1.get_weights()[0].copy(),
                      randomized.predict_log_odds_prepared(x)))
    assert len(steps) == 3
    assert steps[0][0][0] == clf.model.layers[-1].name  # the head first
    assert "conv1" in steps[-1][0]  # the first convolution of the nested base last
    original_conv1 = clf.model.get_layer("mobilenet_1.00_32").get_layer("conv1").get_weights()[0]
    np.testing.assert_array_equal(steps[0][1], original_conv1)  # not yet randomised
    assert not np.array_equal(steps[-1][1], original_conv1)
    assert not np.array_equal(steps[0][2], p0)  # the forward pass sees the new weights
    assert all(np.array_equal(a, b) for a, b in zip(before, clf.model.get_weights()))


# ---------------------------------------------------------------------- localisation
def test_pointing_game_relevance_mass_and_iou_by_hand():
    mask = np.zeros((10, 10), bool)
    mask[2:4, 2:4] = True  # 4 pixels
    heat = np.zeros((10, 10))
    heat[2, 3] = 3.0  # inside
    heat[8, 8] = 1.0  # outside
    heat[5, 5] = -7.0  # negative: ignored
    assert pointing_game(heat, mask) is True
    assert relevance_mass(heat, mask) == pytest.approx(0.75)
    heat2 = np.zeros((10, 10))
    heat2[[2, 2, 7, 7], [2, 3, 7, 8]] = [4, 3, 2, 1]  # top-4: two inside, two outside
    assert top_area_iou(heat2, mask) == pytest.approx(2 / 6)
    assert top_area_iou(heat2, mask, fraction=0.02) == pytest.approx(2 / 4)
    off = np.zeros((10, 10))
    off[6, 3] = 1.0  # 3 rows below the mask
    assert pointing_game(off, mask) is False
    assert pointing_game(off, mask, tolerance=2) is False
    assert pointing_game(off, mask, tolerance=3) is True
    assert pointing_game(np.zeros((10, 10)), mask) is False  # nothing positive: a miss
    empty = np.zeros((10, 10), bool)
    assert pointing_game(heat, empty) is None and relevance_mass(heat, empty) is None
    d = localization(heat, mask)
    assert d == {"pointing_game": True, "relevance_mass": pytest.approx(0.75),
                 "top_area_iou": pytest.approx(1 / 7), "mask_area": 0.04}


def test_localisation_on_phantom_masks_in_another_frame():
    ph = xaixray.data.make_phantoms(4, 64, pneumonia_fraction=1.0, seed=2)
    for mask in ph.masks:
        perfect = np.kron(mask.astype(float), np.ones((2, 2)))  # the map at 128 px
        assert pointing_game(perfect, mask) is True
        assert relevance_mass(perfect, mask) == pytest.approx(1.0)
        assert top_area_iou(perfect, mask) == pytest.approx(1.0)
        even = np.ones((64, 64))
        assert relevance_mass(even, mask) == pytest.approx(mask.mean())


def test_masks_beside_images(tmp_path):
    import cv2

    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 5:15] = 1  # a 0/1 PNG, as some tools write them
    (tmp_path / "chest.jpeg").write_bytes(b"")
    cv2.imwrite(str(tmp_path / "chest_mask.png"), mask)
    cv2.imwrite(str(tmp_path / "other_mask.png"), mask * 255)
    assert find_mask(tmp_path / "chest.jpeg") == tmp_path / "chest_mask.png"
    assert find_mask(tmp_path / "nothing.jpeg") is None
    loaded = load_mask(tmp_path / "chest_mask.png")
    assert loaded.dtype == bool and loaded.sum() == 50
    np.testing.assert_array_equal(load_mask(tmp_path / "other_mask.png"), loaded)
    assert load_mask(tmp_path / "chest_mask.png", (40, 60)).sum() == 200
    assert mask_for(tmp_path / "chest.jpeg").sum() == 50
    assert mask_for(tmp_path / "nothing.jpeg") is None


# ---------------------------------------------------------------------- shortcuts
def test_border_share_by_hand():
    band = border_band((100, 100))
    assert band.mean() == pytest.approx(1 - 0.84 ** 2)  # 8 px on each side
    assert border_share(np.ones((100, 100))) == pytest.approx(1 - 0.84 ** 2)
    heat = np.zeros((100, 100))
    heat[0, 50] = 1.0  # in the band
    heat[50, 50] = 3.0  # in the middle
    heat[95, 95] = -5.0  # negative: ignored
    assert border_share(heat) == pytest.approx(0.25)
    assert border_share(np.where(band, 1.0, 0.0)) == pytest.approx(1.0)
    assert border_share(np.zeros((100, 100))) is None


def test_outside_body_share_on_a_synthetic_body():
    from skimage.draw import disk

    image = np.full((120, 120), 20, np.uint8)
    image[disk((60, 60), 40)] = 180  # the body
    image[disk((60, 45), 12)] = 60  # a dark lung inside it
    image[5:10, 5:12] = 250  # a bright marker outside
    body = body_mask(image)
    assert body[60, 60] and body[60, 45] and not body[7, 8] and not body[2, 60]
    assert body.mean() == pytest.approx(np.pi * 40 ** 2 / 120 ** 2, rel=0.05)
    inside = np.zeros((120, 120))
    inside[60, 45] = 1.0  # on the lung
    outside = np.zeros((120, 120))
    outside[7, 8] = 1.0  # on the marker
    assert outside_body_share(inside, image) == pytest.approx(0.0)
    assert outside_body_share(outside, image) == pytest.approx(1.0)
    shares = shortcut_shares(outside, image)
    assert shares["border_share"] == pytest.approx(1.0)
    assert shares["outside_body_area"] == pytest.approx(1 - body.mean(), abs=0.01)
    warnings = shortcut_warnings(shares, "Grad-CAM")
    assert len(warnings) == 2 and "border" in warnings[0] and "outside the body" in warnings[1]
    assert shortcut_warnings(shortcut_shares(inside, image)) == []


def test_phantom_lungs_are_inside_the_body():
    ph = xaixray.data.make_phantoms(3, 96, seed=0)
    for image in ph.images:
        body = body_mask(image)
        assert body[48, 30] and body[48, 66]  # both lung fields
        assert not body[2, 2] and not body[93, 93]  # the corners


# ---------------------------------------------------------------------- the per-image summary
def region_result(classifier, image: np.ndarray, maps: dict, target: int):
    from xaixray.explainers import Explanation, ExplanationSet

    original = np.rint(image[..., 0] * 255).astype(np.uint8)
    proba = classifier.predict_proba_prepared(image[None])[0]
    names = classifier.class_names
    explanations = {m: Explanation(m, target, names[target], float(proba[target]), h, True)
                    for m, h in maps.items()}
    return ExplanationSet("region.png", original, proba, 1, names, {}, explanations)


def test_faithfulness_summary_gives_plain_verdicts(region_classifier, region_image):
    border = border_band((SIZE, SIZE)).astype(np.float32)
    maps = {"true": true_map(), "inverse": 1.0 - true_map(), "border": border}
    result = region_result(region_classifier, region_image, maps, target=1)
    f = xaixray.faithfulness(region_classifier, result, seed=0)
    assert f["settings"]["score"] == "logit" and f["settings"]["grid"] == 16
    assert list(f["methods"]) == ["true", "inverse", "border"]
    true, inverse = f["methods"]["true"], f["methods"]["inverse"]
    assert true["faithful"] and true["verdict"] == "better than random on deletion and insertion"
    assert true["deletion_auc"] < true["deletion_auc_random"]
    assert true["insertion_auc"] > true["insertion_auc_random"]
    assert not inverse["faithful"] and inverse["verdict"].startswith("no better than random")
    assert true["border_share"] == pytest.approx(0.0) and true["warnings"] == []
    assert f["methods"]["border"]["border_share"] == pytest.approx(1.0)
    assert any("outer border" in w for w in f["methods"]["border"]["warnings"])
    curves = true["curves"]
    assert len(curves["fractions"]) == len(curves["deletion"]) == 9  # REPORT_STEPS + 1
    assert curves["deletion_random"] == inverse["curves"]["deletion_random"]
    assert f["notes"] == []  # blurring lowers this class's score, as expected
    # the other class: blurring raises it, and the summary says so
    other = xaixray.faithfulness(region_classifier,
                                 region_result(region_classifier, region_image,
                                               {"true": true_map()}, target=0))
    assert len(other["notes"]) == 1 and "does not lower" in other["notes"][0]
    assert xaixray.metrics.verdict(False, True) == "better than random on insertion only"


def test_a_block_of_images_gives_the_curves_of_each_image_alone(region_classifier,
                                                                 region_image):
    """Folder runs score a block's curves in shared batches, with the intact and fully removed
    images scored once per image: the numbers are those of one image at a time."""
    from xaixray.metrics.perturbation import perturbation_curves_many
    from xaixray.metrics.summary import faithfulness_many

    other = np.clip(region_image[::-1] * 0.9 + 0.05, 0, 1)  # another image, another target
    items = [(region_image, {"true": true_map(), "inverse": 1 - true_map()}, 1, None),
             (other, {"true": true_map()}, 0, None)]
    for removal in ("blur", "road"):
        block = perturbation_curves_many(region_classifier, items, steps=6, removal=removal,
                                         score="logit", n_random=2, seed=3)
        for (image, maps, target, _), found in zip(items, block):
            alone = perturbation_curves(region_classifier, image, maps, target, steps=6,
                                        removal=removal, score="logit", n_random=2, seed=3)
            for name in maps:
                for kind in ("deletion", "insertion"):
                    a, b = found[name][kind], alone[name][kind]
                    np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)
                    np.testing.assert_allclose(a.random_scores, b.random_scores, atol=1e-4)
    # every curve starts and ends on the intact and the fully removed image
    intact, gone = (region_classifier.predict_log_odds_prepared(x[None])[0, 1]
                    for x in (region_image, removed_image(region_image)))
    c = perturbation_curves_many(region_classifier, items[:1], steps=6, score="logit")[0]
    np.testing.assert_allclose(c["true"]["deletion"].scores[[0, -1]], [intact, gone], atol=1e-4)
    np.testing.assert_allclose(c["true"]["insertion"].scores[[0, -1]], [gone, intact],
                               atol=1e-4)
    # the same, scored a few images at a time (bounded memory)
    from xaixray.metrics import perturbation as perturbation_module

    small = pytest.MonkeyPatch()
    small.setattr(perturbation_module, "MAX_ROWS", 5)
    try:
        bounded = perturbation_curves_many(region_classifier, items, steps=6, score="logit",
                                           n_random=2, seed=3)
    finally:
        small.undo()
    for found, alone in zip(bounded, perturbation_curves_many(
            region_classifier, items, steps=6, score="logit", n_random=2, seed=3)):
        for name in found:
            np.testing.assert_allclose(found[name]["insertion"].scores,
                                       alone[name]["insertion"].scores, atol=1e-4)
    # and by hand: every step's image built from the cell ranks, scored one by one
    from xaixray.metrics.perturbation import cell_ids, cell_ranks

    cells, n = cell_ids((SIZE, SIZE), 8)
    rank = cell_ranks(true_map(), cells, n, seed=0)[cells]
    removed = removed_image(region_image)
    counts = np.rint(np.linspace(0, 1, 5) * n)
    curve = perturbation_curves(region_classifier, region_image, {"true": true_map()}, 1,
                                steps=4, grid=8, score="logit")["true"]
    for kind in ("deletion", "insertion"):
        expected = []
        for c in counts:
            kept = rank >= c if kind == "deletion" else rank < c
            x = np.where(kept[..., None], region_image, removed)
            expected.append(region_classifier.predict_log_odds_prepared(x[None])[0, 1])
        np.testing.assert_allclose(curve[kind].scores, expected, atol=1e-4)
    results = [region_result(region_classifier, region_image, {"true": true_map()}, 1),
               region_result(region_classifier, other, {"true": true_map()}, 0)]
    many = faithfulness_many(region_classifier, results, steps=6)
    for result, f in zip(results, many):
        one = xaixray.faithfulness(region_classifier, result, steps=6)
        for key, values in one["methods"]["true"]["curves"].items():
            np.testing.assert_allclose(f["methods"]["true"]["curves"][key], values, atol=1e-4)
        assert f["passed"] == one["passed"] and f["notes"] == one["notes"]


# ---------------------------------------------------------------------- import cost
def test_importing_metrics_stays_light():
    code = ("import sys\nimport xaixray.metrics\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'scipy', 'skimage', 'cv2', 'shap',"
            " 'lime', 'matplotlib') if m in sys.modules]\nassert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
