"""The tutorial notebook the docs render is the executed ``examples/tutorial.py``, kept small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RENDERED = ROOT / "docs" / "tutorial.ipynb"


def test_the_rendered_notebook_is_the_tutorial_executed_without_errors():
    jupytext = pytest.importorskip("jupytext")
    source = jupytext.read(ROOT / "examples" / "tutorial.py")
    rendered = json.loads(RENDERED.read_text(encoding="utf-8"))
    code = [c for c in rendered["cells"] if c["cell_type"] == "code"]
    # re-render with scripts/render_tutorial.py --quick when this fails
    assert ["".join(c["source"]) for c in code] == \
        [c.source for c in source.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "not executed"
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) >= 6 and all("data:image/png;base64," in "".join(o["data"]["text/html"])
                                  for o in html[1:])  # every result after the model's summary
    assert RENDERED.stat().st_size < 600_000  # outputs at modest resolution
