"""The README's commands and snippets run as written, on the bundled sample X-rays.

Blocks that install (``pip install ...``) or say ``# needs ...`` (data a fresh checkout does not
have) are skipped; every other ``bash`` and ``python`` block runs in a fresh folder, in order.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)


def runnable_blocks() -> list[tuple[str, str]]:
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    return [(lang, code) for lang, code in blocks
            if not code.startswith(("pip install", "# needs"))]


def test_the_readme_has_runnable_shell_and_python_blocks():
    langs = [lang for lang, _ in runnable_blocks()]
    assert "bash" in langs and "python" in langs


@pytest.mark.parametrize("index", range(len(runnable_blocks())))
def test_readme_block_runs_as_written(index, tmp_path):
    lang, code = runnable_blocks()[index]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    if lang == "bash":  # the code under test, whichever `xaixray` is on PATH
        script = f'xaixray() {{ "{sys.executable}" -m xaixray "$@"; }}\nset -e\n{code}'
        cmd = ["bash", "-c", script]
    else:
        cmd = [sys.executable, "-c", code]
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"README block {index} failed:\n{code}\n{result.stderr[-3000:]}"
    if lang == "bash":
        one = tmp_path / "report" / "PNEUMONIA_person1946_bacteria_4874"
        assert (one / "report.html").is_file()
        assert (tmp_path / "gradcam" / "index.html").is_file()
    else:
        assert (tmp_path / "python-report" / "report.json").is_file()
