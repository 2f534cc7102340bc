"""Atomic writes: complete or untouched, no leftovers, and the permissions the umask gives."""

from __future__ import annotations

import os
import stat

import pytest

from xaixray.files import atomic_path, write_json, write_text


@pytest.fixture
def umask():
    """Set the process umask for one test, then restore it."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mask", [0o077, 0o027, 0o022, 0o002])
def test_outputs_get_the_permissions_the_umask_gives(tmp_path, umask, mask):
    umask(mask)
    plain = tmp_path / "plain.txt"
    with open(plain, "w") as f:  # what any program would create
        f.write("x")
    write_text(tmp_path / "a.txt", "x")
    write_json(tmp_path / "b.json", {"x": 1})
    with atomic_path(tmp_path / "c.bin") as tmp:  # a writer that opens the path itself
        with open(tmp, "wb") as f:
            f.write(b"x")
    expected = 0o666 & ~mask
    assert _mode(plain) == expected
    for name in ("a.txt", "b.json", "c.bin"):
        assert _mode(tmp_path / name) == expected, (name, oct(_mode(tmp_path / name)))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_reports_and_models_respect_a_restrictive_umask(tmp_path, umask, tiny_classifier):
    from xaixray import explain, write_report

    umask(0o077)
    [result] = explain(tiny_classifier, _gray(), methods=("gradcam",))
    write_report(result, tmp_path / "report")
    tiny_classifier.save(tmp_path / "m.keras")
    written = [*(tmp_path / "report").iterdir(), tmp_path / "m.keras"]
    assert len(written) == 4
    for path in written:
        assert _mode(path) == 0o600, (path.name, oct(_mode(path)))


def test_a_failed_write_leaves_nothing(tmp_path):
    from xaixray.files import TEMP_PREFIX

    (tmp_path / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "keep.txt") as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("disk full")
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def _gray():
    import numpy as np

    return np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8)
