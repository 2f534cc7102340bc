"""Independent shards of one explanation run, so any scheduler can fan it out.

``xaixray explain ... --shard K/N`` explains every N-th input starting at K (0-based), in the
deterministic order of the inputs; the N shards together explain every input exactly once, each
writing its report folders into the same output folder. ``--resume`` skips inputs whose report is
complete. ``xaixray index OUT`` then writes one ``index.html`` and one ``summary.json`` over
everything in the folder. Slurm job arrays, Kubernetes indexed Jobs, Ray or Dask only have to
start the N commands.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import XaixrayError
from ..files import to_json
from ..reports import FILES, INDEX_NAME, atomic_write, write_index

SHARDS_FOLDER = "_shards"  # report folders never start with "_" (see reports.folder_names)
SUMMARY_NAME = "summary.json"


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with ``0 <= K < N``."""
    try:
        k, n = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise XaixrayError(f"shard {text!r}: expected K/N, e.g. 0/4") from None
    if n < 1 or not 0 <= k < n:
        raise XaixrayError(f"shard {text!r}: need 0 <= K < N (K counts from 0)")
    return k, n


def shard_indices(count: int, shard: tuple[int, int] | None) -> list[int]:
    """Indices of the inputs in ``shard`` (every N-th from K), or all of them."""
    if shard is None:
        return list(range(count))
    k, n = shard
    return list(range(k, count, n))


def is_complete(folder: str | os.PathLike) -> bool:
    """Whether a report folder holds every report file.

    Each file is written to a temporary name and renamed into place, ``report.html`` last, so a
    run killed midway leaves no folder that looks complete.
    """
    folder = Path(folder)
    return all((folder / name).is_file() for name in FILES.values())


def clean_temporaries(out: str | os.PathLike) -> list[Path]:
    """Remove what a killed run left half-written in ``out``: report folders and files still
    under their temporary ``.xaixray-*`` names. Only safe when nothing else writes there."""
    out = Path(out)
    stale = sorted(out.glob(".xaixray-*")) + sorted(out.glob("*/.xaixray-*")) \
        if out.is_dir() else []
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def index_entry(folder: Path) -> dict[str, Any]:
    """What the index shows for one complete report folder, from its ``report.json``."""
    report = json.loads((folder / FILES["json"]).read_text(encoding="utf-8"))
    return {"link": f"{folder.name}/{FILES['html']}", "source": report["image"]["source"],
            "prediction": report["prediction"]["class"],
            "prediction_set": (report.get("prediction_set") or {}).get("label"),
            "probability": report["prediction"]["probability"],
            "model": report["model"].get("name"), "errors": report.get("errors", {}),
            "faithful": {m: bool(d.get("faithful")) for m, d in
                         ((report.get("faithfulness") or {}).get("methods") or {}).items()}}


def write_shard_summary(out: Path, shard: tuple[int, int], reports: Iterable[Path],
                        failures: Iterable[str], warnings: Iterable[str], expected: int = 0,
                        interrupted: bool = False) -> Path:
    """Record what one shard did, for :func:`index_reports` to merge: its reports, failures,
    warnings, how many inputs it had and whether it was interrupted."""
    k, n = shard
    reports, failures = [str(p.parent.name) for p in reports], list(failures)
    return atomic_write(out / SHARDS_FOLDER / f"{k}-of-{n}.json", to_json({
        "shard": [k, n], "reports": reports, "failures": failures, "warnings": list(warnings),
        "expected": expected, "interrupted": interrupted,
        "complete": not interrupted and len(reports) + len(failures) >= expected}))


def index_reports(out: str | os.PathLike, title: str | None = None) -> tuple[Path, Path]:
    """Write ``index.html`` and ``summary.json`` over every complete report in ``out``.

    Failures recorded by shards (``_shards/*.json``) are listed too, and shards that were
    interrupted or never finished are named in ``summary.json`` (``unfinished_shards``). Run it
    once every shard has finished: it removes what killed shards left under temporary names.
    Returns both paths.
    """
    out = Path(out)
    if not out.is_dir():
        raise XaixrayError(f"{out}: no such folder")
    clean_temporaries(out)  # every shard has finished: what is still temporary never will
    folders = sorted(f for f in out.iterdir() if f.is_dir() and is_complete(f))
    entries = [index_entry(f) for f in folders]
    failures: list[str] = []
    warnings: list[str] = []
    shards = sorted((out / SHARDS_FOLDER).glob("*.json")) if (out / SHARDS_FOLDER).is_dir() \
        else []
    unfinished, counts = [], set()
    for path in shards:
        record = json.loads(path.read_text(encoding="utf-8"))
        failures += [f for f in record.get("failures", []) if f not in failures]
        warnings += [w for w in record.get("warnings", []) if w not in warnings]
        counts.add(int(record["shard"][1]))
        if not record.get("complete", True):
            unfinished.append(path.stem)
    for n in counts:  # shards that never wrote their summary
        unfinished += [f"{k}-of-{n}" for k in range(n)
                       if not (out / SHARDS_FOLDER / f"{k}-of-{n}.json").exists()]
    if not entries and not failures:
        raise XaixrayError(f"{out}: holds no complete xaixray report")
    models = sorted({str(e["model"]) for e in entries})
    title = title or f"xaixray explanations: {', '.join(models) or 'no reports'}"
    index = write_index(out, entries, failures, title=title)
    summary = atomic_write(out / SUMMARY_NAME, to_json({
        "reports": len(entries), "failures": failures, "warnings": warnings,
        "shards": [p.stem for p in shards], "unfinished_shards": sorted(unfinished),
        "models": models,
        "predictions": dict(Counter(e["prediction"] for e in entries)),
        "index": INDEX_NAME}))
    return index, summary
