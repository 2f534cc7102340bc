"""Three classes: NORMAL, BACTERIA and VIRAL pneumonia, trained, evaluated and explained.

    python examples/three_class_subtypes.py --quick          # phantoms, about a minute
    python examples/three_class_subtypes.py --data chest_xray  # the Kaggle folder (long)

The Kaggle folder has NORMAL/ and PNEUMONIA/ only; the subtype is in the file names
(person*_bacteria_*, person*_virus_*), which `xaixray train --classes 3` reads. --quick writes
phantoms of three kinds in that layout (one large dense opacity for BACTERIA, several small
faint ones over both lungs for VIRAL) and runs the same commands. The prediction is the most
probable class; `xaixray evaluate` reports per-class metrics, the confusion matrix and
one-vs-rest ROC AUCs; `--target` explains any class.
"""

import argparse
import subprocess
import sys
from pathlib import Path

from xaixray.data import write_subtype_folder

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
source = parser.add_mutually_exclusive_group(required=True)
source.add_argument("--quick", action="store_true", help="phantoms of three kinds")
source.add_argument("--data", type=Path, help="a Kaggle-layout folder (DIR/train, DIR/test)")
parser.add_argument("--out", type=Path, default=Path("example-out/three-class"))
args = parser.parse_args()


def xaixray(*argv: object) -> None:
    print("$ xaixray " + " ".join(map(str, argv)), flush=True)
    subprocess.run([sys.executable, "-m", "xaixray", *map(str, argv)], check=True)


args.out.mkdir(parents=True, exist_ok=True)
data = write_subtype_folder(args.out / "phantoms", 180, 48) if args.quick else args.data
model = args.out / "subtypes.keras"
quick = ["--arch", "simple_cnn", "--channels", 1, "--input-size", 48, "--epochs", 12,
         "--no-augment", "--batch-size", 16, "--patience", 12]
xaixray("train", "--data", data, "--out", model, "--classes", 3, "--overwrite",
        *(quick if args.quick else ["--arch", "compact_cnn", "--epochs", 15]))
xaixray("inspect", model)
xaixray("evaluate", model, data, "--plots", args.out / "plots", "--overwrite")
test_images = sorted((Path(data) / "test" / "PNEUMONIA").iterdir())
viral = next(p for p in test_images if "_virus_" in p.name)
xaixray("explain", model, viral, "--methods", "gradcam", "--target", "VIRAL",
        "--out", args.out / "explained", "--overwrite", "--no-faithfulness")
