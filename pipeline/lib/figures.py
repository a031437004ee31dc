"""The canvas of the PNG figures under reports/figures/, for people who read files rather than run
`dvc plots`; each stage's figures are in a module of their own (history_figure for train,
score_figures for evaluate), so that editing one re-runs only the stage that draws it.

Matplotlib loads inside the functions (a stage pays for it only when it draws), through its
object API on the Agg canvas rather than pyplot, which would look for a GUI backend.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.lib.files import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new(width: float, height: float) -> "Figure":
    """A figure of this size (inches) on the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def save(figure: "Figure", path: Path) -> None:
    """PNG without the Matplotlib version in its metadata: same drawing, same bytes."""
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
