"""The plain way to explain one X-ray: lime, shap and an eager Grad-CAM as their docs show them.

Usage::

    python benchmarks/plain_explain.py MODEL.keras IMAGE OUT.png [--num-samples 1000]
        [--max-evals 500] [--size H W] [--channels 1|3] [--scaling unit|standardize]

What a researcher writes without xaixray, and what ``benchmarks/bench_explain.py`` runs as a
process against ``xaixray explain`` with the same sample counts: ``keras.models.load_model``,
the image resized and scaled by hand, ``model.predict`` as the classifier function of
``lime_image.LimeImageExplainer`` (its defaults: quickshift segmentation, batch size 10) and of
``shap.Explainer`` with a blur ``shap.maskers.Image`` (the partition explainer), Grad-CAM with
``tf.GradientTape`` on a functional sub-model (the Keras example), and one Matplotlib figure.
Prints each method's seconds.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("image")
    parser.add_argument("out")
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--max-evals", type=int, default=500)
    parser.add_argument("--size", type=int, nargs=2, default=(224, 224))
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--scaling", default="unit", choices=("unit", "standardize"))
    parser.add_argument("--layer", help="Grad-CAM layer (default: the last Conv2D)")
    args = parser.parse_args()

    import cv2
    import keras
    import matplotlib
    import numpy as np
    import shap
    import tensorflow as tf
    from lime import lime_image

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = keras.models.load_model(args.model, compile=False)
    gray = cv2.imread(args.image, cv2.IMREAD_GRAYSCALE)
    h, w = args.size
    rgb = np.repeat(cv2.resize(gray, (w, h))[..., None], 3, axis=2).astype(np.float64)

    def to_input(batch: np.ndarray) -> np.ndarray:  # (n, h, w, 3) in 0-255 -> model input
        x = np.asarray(batch, np.float32) / 255.0
        x = x[..., :1] if args.channels == 1 else x
        if args.scaling == "standardize":
            mean = x.mean(axis=(1, 2, 3), keepdims=True)
            x = (x - mean) / np.maximum(x.std(axis=(1, 2, 3), keepdims=True), 1e-3)
        return x

    def predict(batch: np.ndarray) -> np.ndarray:
        p = model.predict(to_input(batch), verbose=0)
        return np.hstack([1 - p, p]) if p.shape[-1] == 1 else p

    seconds = {}
    start = time.perf_counter()
    lime_result = lime_image.LimeImageExplainer(random_state=0).explain_instance(
        rgb, predict, top_labels=1, num_samples=args.num_samples, random_seed=0)
    seconds["lime"] = time.perf_counter() - start

    start = time.perf_counter()
    label = int(np.argmax(predict(rgb[None])[0]))
    masker = shap.maskers.Image("blur(128,128)", rgb.shape)
    explainer = shap.Explainer(lambda b: predict(b)[:, label], masker)
    shap_values = explainer(rgb[None], max_evals=args.max_evals, batch_size=50, silent=True)
    seconds["shap"] = time.perf_counter() - start

    start = time.perf_counter()
    convs = [la for la in model.layers if isinstance(la, keras.layers.Conv2D)]
    layer = model.get_layer(args.layer) if args.layer else convs[-1]
    grad_model = keras.Model(model.inputs, [layer.output, model.output])
    with tf.GradientTape() as tape:
        fmap, out = grad_model(to_input(rgb[None]))
        score = out[:, 0] if out.shape[-1] == 1 else out[:, label]
    grads = tape.gradient(score, fmap)
    cam = tf.nn.relu(tf.reduce_sum(fmap[0] * tf.reduce_mean(grads[0], axis=(0, 1)), -1))
    cam = cv2.resize(np.asarray(cam), (w, h))
    seconds["gradcam"] = time.perf_counter() - start

    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    axes[0].imshow(rgb[..., 0], cmap="gray")
    axes[1].imshow(rgb[..., 0], cmap="gray")
    axes[1].imshow(cam, cmap="jet", alpha=0.45)
    temp, mask = lime_result.get_image_and_mask(lime_result.top_labels[0], num_features=5)
    axes[2].imshow(mask, cmap="viridis")
    axes[3].imshow(np.asarray(shap_values.values[0]).sum(-1), cmap="bwr")
    fig.savefig(args.out)
    print(" ".join(f"{k}={v:.3f}" for k, v in seconds.items()))


if __name__ == "__main__":
    main()
