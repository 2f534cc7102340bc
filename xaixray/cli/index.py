"""``xaixray index``: one index and summary over the report folders of a (sharded) run."""

from __future__ import annotations

import argparse

from .common import existing_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "index", help="merge the reports in a folder (e.g. from --shard runs) into one index",
        description="Write OUT_DIR/index.html and OUT_DIR/summary.json over every complete "
                    "report folder in OUT_DIR, listing the failures the shards recorded and the "
                    "shards that did not finish. Run it after every shard has finished: it "
                    "removes the temporary files and folders of killed runs, which would also "
                    "remove those of shards still running.")
    p.add_argument("out", type=existing_path, metavar="OUT_DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..run import index_reports

    index, summary = index_reports(args.out)
    s = json.loads(summary.read_text(encoding="utf-8"))
    print(f"{s['reports']} report(s), {len(s['failures'])} failure(s) from "
          f"{len(s['shards']) or 'no'} shard file(s); open {index}")
    for line in s["failures"]:
        print(f"  could not be explained: {line}")
    if s["unfinished_shards"]:
        print(f"  shards that did not finish (run them again with --resume): "
              f"{', '.join(s['unfinished_shards'])}")
    return 1 if s["failures"] or s["unfinished_shards"] else 0
