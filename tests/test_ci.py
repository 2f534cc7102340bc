"""CI lints before it tests, and tests with exactly the README's command."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_ruff_then_the_readme_test_command():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    ruff = next(i for i, line in enumerate(lines) if line.endswith("ruff check ."))
    assert ruff < len(lines) - 1
    assert f"\n{lines[-1]}\n" in (ROOT / "README.md").read_text()
    assert lines[-1].endswith("python -m pytest -q")
