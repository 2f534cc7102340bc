"""Known truth on real X-rays: do the maps find an implant the model provably relies on?

Usage::

    python benchmarks/known_truth.py [--data ../shared/data/chest_xray] [--archs compact_cnn]
                                     [--variants lesion,shortcut] [--n-train 600] [--n-val 60]
                                     [--n-test 60] [--precise-bn]
                                     [--size 128] [--epochs 8] [--methods gradcam,lime,shap]
                                     [--copies 1] [--contrast 0.3] [--loss LOSS] [--layer-sweep]
                                     [--param METHOD.KEY=VALUE ...]
                                     [--out benchmarks/results/known_truth] [--reuse]

For each variant of :func:`xaixray.data.make_implants` (``lesion``: a soft opacity in a lung
field against a ring-shaped control of the same area and added intensity; ``shortcut``: a burned-in
"L" marker whose corner gives the label) and each architecture:

1. implants into real NORMAL X-rays of ``--data``'s ``train/``, patients split between the
   training, validation and test images (no patient in two of them); with ``--copies K`` every
   training X-ray is used K times, each time with a fresh implant and label (so the same film
   appears with and without a lesion, and only the implant tells them apart); ``--contrast`` is
   the lesion's peak added brightness (:data:`xaixray.data.implants.CONTRAST`);
2. trains the zoo model with ``xaixray.train`` (no augmentation: a flip would move the marker;
   no lung crop: it would cut the marker off; no early stopping before ``--epochs``, since the
   validation loss of a BatchNorm CNN is noisy in its first epochs: the epoch with the best
   validation loss is kept, chosen on the validation films, never on the test films);
   ``--precise-bn`` then recomputes the BatchNorm statistics over the training images;
3. **proves reliance**: on the correctly predicted positives, the implant is replaced by the
   surrounding tissue (noisy linear imputation, ``xaixray.metrics.imputation``, over the mask
   dilated by 2 px); the share whose decision flips, or whose log-odds fall at least 90% of the
   way to the threshold, is the reliance share. Maps are judged only where it is high (>= 0.95);
4. explains the correctly predicted test images with every method, and scores pointing game
   (peak in the mask, 2 px tolerance), relevance mass and top-area IoU against the masks (lesion:
   the positives; shortcut: every image, whose marker is the evidence either way).

The test images are written with ``NAME_mask.png`` beside them, so ``xaixray audit MODEL DIR``
works on them from the shell. ``--layer-sweep`` adds Layer-CAM at every convolutional layer
(``layercam@LAYER``): a CAM is as fine as its layer's feature map. Prints a table and writes
``known_truth.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

import numpy as np

import xaixray
from xaixray.data import load_folder, make_implants, write_implants
from xaixray.data.implants import CONTRAST
from xaixray.explainers import PreparedImage, explain_images, make_explainers
from xaixray.imaging import load_image
from xaixray.metrics import localization
from xaixray.metrics.imputation import impute

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "chest_xray"
# the arguments a saved model was trained with: --reuse loads it only when they match
RECIPE = ("data", "n_train", "n_val", "n_test", "size", "epochs", "seed", "copies", "contrast",
          "loss", "precise_bn")


def normal_xrays(data: Path, n_train: int, n_val: int, n_test: int, seed: int
                 ) -> tuple[list, list, list]:
    """Real NORMAL X-rays for training, validation and testing, from disjoint patients."""
    from sklearn.model_selection import GroupShuffleSplit

    images = load_folder(data, split="train")
    normal = images.subset(np.nonzero(images.labels == 0)[0])
    rng = np.random.default_rng(seed)
    parts, rest = [], np.arange(len(normal))
    for n in (n_test, n_val):
        split = GroupShuffleSplit(1, test_size=n / len(rest), random_state=seed)
        keep, taken = next(split.split(rest, groups=np.asarray(normal.patients)[rest]))
        parts.append(rng.permutation(rest[taken])[:n])
        rest = rest[keep]
    test_idx, val_idx = parts
    train_idx = rng.permutation(rest)[:n_train]
    return tuple([load_image(normal.paths[i]) for i in idx]
                 for idx in (train_idx, val_idx, test_idx))


def reliance(clf: xaixray.Classifier, images: np.ndarray, masks: np.ndarray) -> list[bool]:
    """Per image: does replacing the implant by its surroundings (nearly) flip the decision?"""
    from scipy.ndimage import binary_dilation

    pos = clf.positive_index
    before = clf.predict_log_odds_prepared(clf.preprocessing.prepare(list(images)))[:, pos]
    healed = [np.clip(impute(im / 255.0, ~binary_dilation(m, iterations=2),
                             rng=np.random.default_rng(i)) * 255, 0, 255).astype(np.uint8)
              for i, (im, m) in enumerate(zip(images, masks))]
    after = clf.predict_log_odds_prepared(clf.preprocessing.prepare(healed))[:, pos]
    t = float(np.log(clf.threshold / (1 - clf.threshold)))
    return [bool(a < t or (b - a) >= 0.9 * (b - t)) for b, a in zip(before, after)]


def layer_sweep(clf: xaixray.Classifier, images: list, masks: list) -> dict[str, dict]:
    """Layer-CAM at every layer with a kernel and a 4-D output: ``{"layercam@LAYER": scores}``."""
    from xaixray.explainers.cams import LayerCAM

    layers = [la.name for la in clf.model.layers
              if hasattr(la, "kernel") and len(la.output.shape) == 4]
    out = {}
    for name in layers:
        maps = [e.heatmap for e in LayerCAM(clf, layer=name).explain_prepared_many(
            images, [None] * len(images))]
        found = [localization(h, m, tolerance=2) for h, m in zip(maps, masks)]
        side = clf.model.get_layer(name).output.shape[1]
        out[f"layercam@{name} ({side}x{side})"] = {
            key: [f[key] for f in found]
            for key in ("pointing_game", "relevance_mass", "top_area_iou")}
    return out


def run_one(arch: str, variant: str, train_x: list, val_x: list, test_x: list,
            args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    train = make_implants(list(train_x) * args.copies, args.size, variant, seed=args.seed,
                          contrast=args.contrast)
    val = make_implants(val_x, args.size, variant, seed=args.seed + 2, contrast=args.contrast)
    test = make_implants(test_x, args.size, variant, seed=args.seed + 1,
                         contrast=args.contrast)
    folder = args.out / f"{variant}-test"
    if folder.exists():  # this run's own test images, never a stale set
        shutil.rmtree(folder)
    write_implants(test, folder, prefix=variant)
    saved = args.out / f"{arch}-{variant}.keras"
    recipe = {k: str(getattr(args, k)) for k in RECIPE}
    if args.reuse and saved.exists():  # a model this script trained before, on the same images
        clf, history = xaixray.Classifier.load(saved), {}
        if clf.info.get("known_truth") != recipe:
            raise SystemExit(f"{saved}: trained with {clf.info.get('known_truth')}, not with "
                             f"this run's {recipe}; drop --reuse to train again")
    else:
        clf = xaixray.build(arch, input_size=(args.size, args.size), channels=1, crop="none",
                            weights=None, seed=args.seed, loss=args.loss)
        history = xaixray.train(clf, (train.images, train.labels),
                                validation=(val.images, val.labels), epochs=args.epochs,
                                augment=False, batch_size=32, seed=args.seed,
                                patience=args.epochs,  # BatchNorm makes early epochs noisy
                                precise_bn=args.precise_bn)
        clf.info["known_truth"] = recipe
        clf.save(saved, overwrite=True)
    trained = time.perf_counter() - start
    proba = clf.predict_proba(list(test.images))
    predicted = clf.decide(proba)
    pos = clf.positive_index
    correct = predicted == test.labels
    accuracy = float(correct.mean())
    positives = np.nonzero(correct & (test.labels == 1))[0]
    relies = reliance(clf, test.images[positives], test.masks[positives]) if len(positives) \
        else []
    scored = positives if variant == "lesion" else np.nonzero(correct)[0]
    explainers, errors = make_explainers(clf, args.methods.split(","), seed=args.seed,
                                         params=_params(args.param))
    prepared = PreparedImage.load_many(clf, list(test.images[scored]),
                                       [f"{variant}-{i:04d}" for i in scored])
    per_method: dict[str, dict[str, list]] = {m: {"pointing_game": [], "relevance_mass": [],
                                                 "top_area_iou": []} for m in explainers}
    for k in range(0, len(prepared), 8):
        for result, i in zip(explain_images(clf, prepared[k:k + 8], explainers, errors),
                             scored[k:k + 8]):
            for m, e in result.explanations.items():
                loc = localization(e.heatmap, test.masks[i], tolerance=2)
                for key in per_method[m]:
                    per_method[m][key].append(loc[key])
    if args.layer_sweep:  # Layer-CAM at each convolutional layer: how fine must a CAM be?
        per_method.update(layer_sweep(clf, prepared, [test.masks[i] for i in scored]))
    methods = {m: {key: (float(np.mean([v for v in vals if v is not None]))
                         if any(v is not None for v in vals) else None)
                   for key, vals in d.items()} | {"n": len(d["pointing_game"])}
               for m, d in per_method.items()}
    return {"arch": arch, "variant": variant, "accuracy": accuracy, "loss": args.loss,
            "precise_bn": args.precise_bn, "n_val": len(val.labels),
            "val_accuracy": (history.get("val_accuracy") or [None])[-1],
            "n_train": len(train.labels), "contrast": args.contrast,
            "epochs_run": len(history.get("loss", [])), "n_test": len(test.labels),
            "train_accuracy": (history.get("accuracy") or [None])[-1],
            "n_positives_correct": int(len(positives)),
            "reliance_share": float(np.mean(relies)) if relies else None,
            "methods": methods, "errors": errors, "params": args.param, "train_seconds": trained,
            "seconds": time.perf_counter() - start, "test_folder": str(folder),
            "p_positive_mean": float(proba[:, pos].mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--archs", default="compact_cnn")
    ap.add_argument("--variants", default="lesion,shortcut")
    ap.add_argument("--n-train", type=int, default=600)
    ap.add_argument("--n-val", type=int, default=60,
                    help="validation X-rays (their own patients) that pick the best epoch")
    ap.add_argument("--n-test", type=int, default=60)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--methods", default="gradcam,gradcam++,lime,shap")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layer-sweep", action="store_true",
                    help="also score Layer-CAM at every convolutional layer")
    ap.add_argument("--copies", type=int, default=1,
                    help="implants per training X-ray (each with its own label)")
    ap.add_argument("--contrast", type=float, default=CONTRAST,
                    help="peak added brightness of a lesion, on [0, 1]")
    ap.add_argument("--loss", choices=("focal", "binary_crossentropy"),
                    help="train with this loss instead of the architecture's own")
    ap.add_argument("--param", action="append", default=[], metavar="METHOD.KEY=VALUE",
                    help="an explainer option, e.g. lime.n_segments=150 (repeatable)")
    ap.add_argument("--precise-bn", action="store_true",
                    help="recompute BatchNorm statistics after training (xaixray.train's "
                         "precise_bn)")
    ap.add_argument("--reuse", action="store_true",
                    help="load the models an earlier run saved in --out instead of training "
                         "(refused when they were trained with other arguments)")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "known_truth")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train_x, val_x, test_x = normal_xrays(args.data, args.n_train, args.n_val, args.n_test,
                                          args.seed)
    rows = []
    for variant in args.variants.split(","):
        for arch in args.archs.split(","):
            print(f"{arch} on {variant} implants ...", flush=True)
            rows.append(run_one(arch, variant, train_x, val_x, test_x, args))
            r = rows[-1]
            print(f"  accuracy {r['accuracy']:.3f}, validation {_f(r['val_accuracy'])}, "
                  f"reliance {_f(r['reliance_share'])} on {r['n_positives_correct']} positives, "
                  f"{r['seconds']:.0f} s", flush=True)
    print(f"\n{'variant':<10}{'arch':<15}{'acc':>6}{'reliance':>10}{'method':>34}{'n':>5}"
          f"{'pointing':>10}{'mass':>7}{'IoU':>7}")
    for r in rows:
        for m, s in r["methods"].items():
            rel = "–" if r["reliance_share"] is None else f"{r['reliance_share']:.2f}"
            print(f"{r['variant']:<10}{r['arch']:<15}{r['accuracy']:>6.2f}{rel:>10}{m:>34}"
                  f"{s['n']:>5}{_f(s['pointing_game']):>10}{_f(s['relevance_mass']):>7}"
                  f"{_f(s['top_area_iou']):>7}")
    path = args.out / "known_truth.json"
    path.write_text(json.dumps({"machine": platform.platform(), "args": {
        k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))
    print(f"\nwrote {path}")


def _params(items: list[str]) -> dict[str, dict]:
    """``["lime.n_segments=150"]`` -> ``{"lime": {"n_segments": 150}}``."""
    import ast

    out: dict[str, dict] = {}
    for item in items:
        key, _, value = item.partition("=")
        method, _, option = key.partition(".")
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass  # a plain string, e.g. shap.masker=inpaint_telea
        out.setdefault(method, {})[option] = value
    return out


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
