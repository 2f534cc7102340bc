"""Atomic file writing shared by every writer: nothing half-written is ever left behind."""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

TEMP_PREFIX = ".xaixray-"
"""Temporary files that :func:`atomic_path` writes before moving them into place start so."""


def json_ready(obj: Any) -> Any:
    """``obj`` with only JSON types: NumPy scalars and arrays become Python numbers and lists,
    tuples become lists, non-finite floats become ``None`` and anything else its ``str``
    (paths, for example)."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


def to_json(obj: Any) -> str:
    """Indented JSON text of :func:`json_ready` ``(obj)``, non-ASCII characters kept."""
    return json.dumps(json_ready(obj), indent=2, ensure_ascii=False) + "\n"


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success move it into place, else remove it.

    Whoever writes the temporary file, ``path`` is either untouched or complete. The temporary
    file ends in ``suffix`` (default: ``path``'s), for writers that go by the suffix. It is
    created as a plain ``open()`` would create a new file, so the user's umask (and a folder's
    default ACL) decide who may read the result: reports hold patient images.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_name(path.parent, path.suffix if suffix is None else suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield a new, empty temporary folder beside ``folder``; on success rename it to
    ``folder``, else remove it with its contents.

    ``folder`` must not exist yet: it then appears complete or not at all, even when the
    writing is interrupted (Ctrl-C). The folder gets the permissions ``mkdir`` gives.

    Raises
    ------
    FileExistsError
        If ``folder`` exists by the time the temporary folder is moved into place.
    """
    import shutil

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(_new_name(folder.parent, "", make_folder=True))
    try:
        yield tmp
        if folder.exists():
            raise FileExistsError(errno.EEXIST, "already exists", str(folder))
        os.rename(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _new_name(folder: Path, suffix: str, make_folder: bool = False) -> str:
    """Create an empty, new file (or folder) ``folder/.xaixray-<random><suffix>`` with mode
    0o666 (0o777) less the umask, as ``open()`` (``mkdir``) would: ``tempfile.mkstemp``
    (``mkdtemp``) would make it 0o600 (0o700) whatever the umask says."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(6)}{suffix}")
        try:
            if make_folder:
                os.mkdir(name, 0o777)
            else:
                os.close(os.open(name, flags, 0o666))
        except FileExistsError:
            continue
        return name
    raise FileExistsError(f"{folder}: cannot create a temporary file")


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write UTF-8 text.

    Undecodable file names reach Python as surrogates; they are written as backslash escapes.
    """
    return write_bytes(path, text.encode("utf-8", "backslashreplace"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON (see :func:`to_json`)."""
    return write_text(path, to_json(obj))
