"""The package's layers depend one way: each part imports only the parts below it.

Every import counts: module-level, inside functions and under ``TYPE_CHECKING``. The layer order
is the one ``docs/architecture.md`` describes; a new top-level module must be given a layer here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xaixray"

# bottom to top; a part may import its own modules and any part of a lower layer
LAYERS: list[set[str]] = [
    {"errors", "files", "labels", "version", "bundled", "display"},
    {"imaging"},
    {"anatomy"},
    {"preprocessing"},
    {"prediction_sets"},  # applies stored conformal quantiles; fitting them is evaluation's
    {"preprocessing_inference"},  # reads a foreign model's preprocessing from its layers
    {"model_description"},  # what xaixray will do with a model (Classifier.describe)
    {"classifier"},
    {"models"},
    {"data"},
    {"evaluation"},
    {"training"},
    {"explainers"},
    {"metrics"},
    {"plots"},
    {"reports"},
    {"run"},
    {"serve"},
    {"cli"},  # the command line is a shell over everything, the web app included
    {"__init__", "__main__"},  # the facade: ``import xaixray`` and ``python -m xaixray``
]
RANK = {part: i for i, layer in enumerate(LAYERS) for part in layer}


def _part(module: str) -> str:
    """``xaixray.explainers.gradcam`` -> ``explainers``; ``xaixray`` -> ``__init__``."""
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else "__init__"


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, absolute module)`` for every import of the package in one file."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from PACKAGE import name``: the submodule ``name`` if there is one, else PACKAGE
            found += [(node.lineno, _submodule_or_package(target, a.name, root))
                      for a in node.names]
    return [(line, m) for line, m in found if m == root.name or m.startswith(root.name + ".")]


def _submodule_or_package(package: str, name: str, root: Path) -> str:
    candidate = root.parent.joinpath(*f"{package}.{name}".split("."))
    if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
        return f"{package}.{name}"
    return package


def layering_violations(root: Path = PACKAGE) -> list[str]:
    """One line per import that goes up (or sideways) the layers, or per unplaced module."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        here = _part(_module_name(path, root)) if path.parent != root else path.stem
        if here not in RANK:
            problems.append(f"{path.relative_to(root.parent)}: '{here}' has no layer in "
                            "tests/test_layering.py (and docs/architecture.md)")
            continue
        for line, module in _imported_modules(path, root):
            there = _part(module)
            if there == here or there not in RANK:
                continue  # its own modules; names imported from the package root are checked
            if RANK[there] >= RANK[here]:
                problems.append(f"{path.relative_to(root.parent)}:{line}: '{here}' imports "
                                f"'{module}', which is not in a lower layer")
    return problems


def test_every_import_points_down_the_layers():
    assert layering_violations() == []


def test_the_check_fails_on_an_upward_import(tmp_path):
    root = tmp_path / "xaixray"
    (root / "explainers").mkdir(parents=True)
    (root / "__init__.py").write_text("from .version import __version__\n")
    (root / "version.py").write_text("__version__ = '0'\n")
    (root / "classifier.py").write_text(
        "from .errors import ModelError\n\n"
        "def build():\n    from .models import registry\n")  # up, inside a function
    (root / "errors.py").write_text("class ModelError(Exception):\n    pass\n")
    (root / "explainers" / "__init__.py").write_text("from .base import Explainer\n")
    (root / "explainers" / "base.py").write_text(
        "from ..classifier import Classifier\nfrom .. import __version__\n")  # down, then up
    (root / "gadgets.py").write_text("x = 1\n")  # a module without a layer
    problems = layering_violations(root)
    assert len(problems) == 3, problems
    assert any("'classifier' imports 'xaixray.models'" in p for p in problems)
    assert any("'explainers' imports 'xaixray'," in p for p in problems)
    assert any("'gadgets' has no layer" in p for p in problems)


def test_import_xaixray_is_light_and_reaches_every_subpackage():
    code = ("import sys, xaixray\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'shap', 'lime', 'matplotlib', 'cv2',"
            " 'sklearn', 'xaixray.classifier') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "assert 'compact_cnn' in xaixray.models.available()\n"
            "assert xaixray.reports.FILES and xaixray.run.explain_paths and xaixray.evaluate\n"
            "assert xaixray.explain is xaixray.run.explain and callable(xaixray.train)\n"
            "assert 'tensorflow' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
