"""The report's translation figure: test inputs, generated images and the real targets, side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from idealfit.report.sheets import to_rgb8, write_sheet
from idealfit.train.callbacks import Callback

EXAMPLES = 6
FIGURE = "translation.png"


def write_examples(run_dir: Path, prep, predictions: dict[str, np.ndarray], *, scale: int = 2) -> None:
    """translation.png (one row per test sample: input | generated | target), added to the report."""
    from idealfit.report.html import add_extra

    inputs, fake, real = prep.x["test"][:EXAMPLES], predictions["y_pred"][:EXAMPLES], predictions["y_true"][:EXAMPLES]
    if not len(inputs):
        return
    write_sheet(run_dir / FIGURE, [[to_rgb8(a), to_rgb8(f), to_rgb8(r)] for a, f, r in zip(inputs, fake, real, strict=True)],
                scale=scale)
    add_extra(run_dir, section="Generated images", caption="test samples: input, generated, real target",
              path=FIGURE)


class ProgressGrid(Callback):
    """The same validation inputs generated at several epochs (progress you can see): `progress.png`, one
    row per example (input | after epoch e1 | e2 | ... | target), added to the report at the end of training.

    Args:
        x, y: the validation inputs and targets (model-ready arrays); the first `examples` are drawn.
        every: draw after every this many epochs (default: about 5 columns over the run, and the last epoch).
    """

    def __init__(self, run_dir: Path, x: np.ndarray, y: np.ndarray, *, device: torch.device, examples: int = 4,
                 every: int | None = None):
        self.run_dir, self.every = Path(run_dir), every
        self.x = torch.from_numpy(np.ascontiguousarray(x[:examples])).to(device)
        self.y = np.asarray(y[:examples])
        self.columns: list[tuple[int, np.ndarray]] = []

    def on_epoch_end(self, state) -> None:
        every = self.every or max(1, state.epochs // 5)
        if state.epoch % every and state.epoch != state.epochs and not state.stop:
            return
        model = state.model
        was = model.training
        model.eval()
        with torch.no_grad():
            out = model(self.x).float().clamp(0, 1).cpu().numpy()
        model.train(was)
        self.columns.append((state.epoch, out))

    def on_fit_end(self, state) -> None:
        if self.columns:
            write_progress(self.run_dir, self.x.cpu().numpy(), self.columns, self.y)


def write_progress(run_dir: Path, inputs: np.ndarray, columns: list[tuple[int, np.ndarray]], targets: np.ndarray,
                   *, scale: int = 2) -> None:
    from idealfit.report.html import add_extra

    rows = [[to_rgb8(inputs[i])] + [to_rgb8(out[i]) for _, out in columns] + [to_rgb8(targets[i])]
            for i in range(len(inputs))]
    write_sheet(Path(run_dir) / "progress.png", rows, scale=scale)
    epochs = ", ".join(str(e) for e, _ in columns)
    add_extra(run_dir, section="Generated images", caption=f"validation inputs, generated after epochs {epochs}, "
              "real targets", path="progress.png")
