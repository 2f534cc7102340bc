"""Seed 000: train the CNN+LSTM hybrid, evaluate it (confusion matrix, ROC), explain a prediction.

    python examples/seed000_cnn_lstm.py --quick             # synthetic phantoms, under a minute
    python examples/seed000_cnn_lstm.py --data chest_xray   # the Kaggle folder (train/, test/)

The seed reads a CNN's feature maps as a sequence with an LSTM (224x224x3, He initialisation,
softmax). --quick trains it for a few epochs on 64x64 phantoms, which only shows the workflow.
"""

import argparse
from pathlib import Path

import xaixray
from xaixray.data import make_phantoms
from xaixray.evaluation import format_metrics
from xaixray.plots import plot_confusion_matrix, plot_roc
from xaixray.reports import save_figure

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="phantoms and a bundled X-ray")
source.add_argument("--data", type=Path, help="Kaggle-layout folder with train/ and test/")
parser.add_argument("--out", type=Path, default=Path("example-out/seed000"))
args = parser.parse_args()

if args.quick:  # small inputs and synthetic data: the workflow in seconds
    clf = xaixray.build("cnn_lstm", input_size=(64, 64), seed=0)
    train, val, test = (make_phantoms(n, 64, seed=s) for n, s in ((240, 0), (60, 1), (60, 2)))
    epochs = 4
else:  # the seed's own settings; validation is split from train/ by patient
    clf = xaixray.build("cnn_lstm", seed=0)
    train, val, test = args.data, None, args.data  # evaluate() reads DIR/test/
    epochs = 20

# Adam, sparse categorical cross-entropy, balanced class weights, the seeds' augmentation,
# early stopping and learning-rate reduction on plateau
xaixray.train(clf, train, val, epochs=epochs, batch_size=32, verbose=2)

result = xaixray.evaluate(clf, test)  # probabilities, metrics at the model's threshold
print(format_metrics(result.metrics))
save_figure(plot_confusion_matrix(result.metrics, title="CNN+LSTM"), args.out / "confusion.png")
save_figure(plot_roc(result.y_true, result.p_positive, clf.threshold), args.out / "roc.png")

# explain one bundled X-ray: Grad-CAM follows the convolutions into the LSTM
xray = [p for p in xaixray.sample_images() if "PNEUMONIA" in p.name][0]
[explained] = xaixray.explain(clf, xray, methods=["gradcam", "lime"], num_samples=300)
page = xaixray.write_report(explained, args.out / "report", overwrite=True)
print(f"{xray.name}: {explained.prediction_name} (P = {explained.probability:.2f}); open {page}")
