"""Figures and the self-contained HTML run report, built from a run folder alone."""

from idealfit.report.figures import (
    confusion_matrix,
    image_grid,
    learning_curves,
    predicted_vs_true,
    save_png,
    to_png,
)
from idealfit.report.html import add_extra, build_run_report

__all__ = [
    "add_extra",
    "build_run_report",
    "confusion_matrix",
    "image_grid",
    "learning_curves",
    "predicted_vs_true",
    "save_png",
    "to_png",
]
