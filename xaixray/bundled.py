"""What ships inside the package: the default model, its model card and sample X-rays."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
SAMPLE_SUFFIXES = (".jpeg", ".jpg", ".png")


def default_model_path() -> Path:
    """The bundled default model (``xaixray/assets/default.keras``)."""
    return ASSETS / "default.keras"


def model_card_path() -> Path:
    """The bundled default model's card (``xaixray/assets/MODEL_CARD.md``)."""
    return ASSETS / "MODEL_CARD.md"


def sample_images() -> list[Path]:
    """The sample X-rays shipped with the package (Kermany et al. 2018, CC BY 4.0), sorted."""
    folder = ASSETS / "samples"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)


__all__ = ["ASSETS", "default_model_path", "model_card_path", "sample_images"]
