"""``xaixray samples``: list the bundled sample X-rays, or copy them into a folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "samples", help="list the bundled sample X-rays, or copy them into a folder",
        description="The chest X-rays bundled with xaixray (Kermany et al. 2018, CC BY 4.0): two "
                    "NORMAL and two PNEUMONIA. Without --copy, print their paths.")
    p.add_argument("--copy", type=Path, metavar="DIR",
                   help="copy them into DIR (created if needed; existing files are kept)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bundled import sample_images
    from ..files import write_bytes
    from .common import warn

    samples = sample_images()
    if args.copy is None:
        for path in samples:
            print(path)
        return 0
    if args.copy.exists() and not args.copy.is_dir():
        warn("samples", f"error: {args.copy}: exists and is not a folder")
        return 1
    for path in samples:
        target = args.copy / path.name
        if target.exists():
            print(f"kept {target} (already there)")
            continue
        write_bytes(target, path.read_bytes())
        print(f"copied {target}")
    return 0
