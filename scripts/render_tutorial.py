"""Execute the tutorial (``examples/tutorial.py``, jupytext percent format) in a clean kernel.

    python scripts/render_tutorial.py --quick                 # writes docs/tutorial.ipynb
    python scripts/render_tutorial.py --quick --out /tmp/t.ipynb   # CI: run it, keep nothing

The docs site renders the committed ``docs/tutorial.ipynb`` with its outputs (mkdocs-jupyter,
``execute: false``); re-render it with ``--quick`` whenever the tutorial or the display changes,
so that the page matches the code. Needs ``pip install 'xaixray[notebook]'``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "examples" / "tutorial.py")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "tutorial.ipynb")
    parser.add_argument("--quick", action="store_true", help="XAIXRAY_QUICK=1 in the kernel")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args()

    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(args.source)
    os.environ["XAIXRAY_QUICK"] = "1" if args.quick else "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MPLBACKEND", "Agg")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cwd:  # a clean kernel in an empty folder
        NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                       resources={"metadata": {"path": cwd}}).execute()
    for cell in nb.cells:  # outputs only: no timings or kernel noise in the committed file
        cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type == "code":
            cell["outputs"] = [o for o in cell["outputs"] if o.get("name") != "stderr"]
    nb.metadata.pop("jupytext", None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, args.out)
    print(f"executed {args.source.name} in {time.perf_counter() - start:.0f} s -> {args.out} "
          f"({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
