"""Figures of a reconstruction run: original, corrupted and reconstructed test examples, and the code
(latent) space coloured by class where the data has labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

EXAMPLES = 6  # test samples shown
FIGURE = "reconstruction.png"


def write_examples(run_dir: Path, prep, predictions: dict[str, np.ndarray]) -> None:
    """reconstruction.png: per test sample, the clean input, the corrupted input the model saw and its
    reconstruction (images side by side; signals and table rows as lines), added to the report."""
    from idealfit.report.figures import save_png
    from idealfit.report.html import add_extra
    from idealfit.tasks.reconstruction import unstandardize

    clean, out = predictions["y_true"][:EXAMPLES], predictions["y_pred"][:EXAMPLES]
    seen = unstandardize(prep.x["test"][:EXAMPLES], prep.state["target"])
    if not len(clean):
        return
    fig = _images(clean, seen, out) if clean.ndim == 4 else _lines(clean, seen, out)
    save_png(fig, run_dir / FIGURE)
    noise = prep.state["reconstruction"]
    what = (f"noise σ = {noise['noise']:g}" + (f", {noise['mask_prob']:.0%} erased" if noise["mask_prob"] else "")
            if noise["noise"] or noise["mask_prob"] else "no corruption")
    add_extra(run_dir, section="Reconstructions", caption=f"test samples: clean, corrupted ({what}), reconstructed",
              path=FIGURE)


def _images(clean, seen, out):
    import matplotlib.pyplot as plt

    n = len(clean)
    fig, axes = plt.subplots(3, n, figsize=(1.6 * n, 5), squeeze=False)
    lo, hi = float(clean.min()), float(clean.max())
    for j in range(n):
        for i, (row, title) in enumerate(((clean, "clean"), (seen, "corrupted"), (out, "reconstructed"))):
            img = row[j]
            ax = axes[i, j]
            ax.imshow(np.clip((img.transpose(1, 2, 0) - lo) / ((hi - lo) or 1), 0, 1).squeeze(),
                      cmap="gray" if img.shape[0] == 1 else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(title)
    fig.tight_layout()
    return fig


def _lines(clean, seen, out):
    import matplotlib.pyplot as plt

    n = len(clean)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.4), squeeze=False, sharey=True)
    for j in range(n):
        ax = axes[0, j]
        ax.plot(seen[j].reshape(-1), color="0.75", lw=1, label="corrupted")
        ax.plot(clean[j].reshape(-1), color="black", lw=1.5, label="clean")
        ax.plot(out[j].reshape(-1), color="tab:orange", lw=1.5, label="reconstructed")
        ax.set_xticks([])
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
