"""``xaixray models``: list the model zoo."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the architectures of the model zoo",
                       description="List the architectures xaixray can build, with their inputs.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import models

    print(f"{'name':<14} {'seed':<5} {'input':<14} {'scaling':<12} {'output':<8} summary")
    for name in models.available():
        a = models.get(name)
        shape = "x".join(str(s) for s in a.preprocessing.model_input_shape)
        print(f"{name:<14} {a.seed:<5} {shape:<14} {a.preprocessing.scaling:<12} "
              f"{a.output:<8} {a.summary}")
    return 0
