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


LATENT = "latent.png"


def write_latent(run_dir: Path, prep, model, *, limit: int = 2000) -> None:
    """latent.png: the test samples' codes in 2-D (the code itself when model.latent is 2, else its first two
    principal components), coloured by class where the data has labels; added to the report."""
    import torch

    from idealfit.report.figures import save_png
    from idealfit.report.html import add_extra

    ae = next((m for m in model.modules() if hasattr(m, "encode")), None)
    x = prep.x["test"][:limit]
    if ae is None or len(x) < 3:
        return
    was = ae.training
    ae.eval()
    with torch.no_grad():
        z = ae.encode(torch.from_numpy(x).to(next(ae.parameters()).device)).cpu().numpy()
    ae.train(was)
    how = "the 2-D code"
    if z.shape[1] > 2:
        from sklearn.decomposition import PCA

        z, how = PCA(n_components=2, random_state=0).fit_transform(z), f"the first two principal components of the {z.shape[1]}-D code"
    labels = prep.dataset.y[prep.indices["test"][:limit]] if prep.dataset.class_names else None
    save_png(_scatter(z, labels, prep.dataset.class_names), run_dir / LATENT)
    add_extra(run_dir, section="Latent space", caption=f"test samples in {how}" + (", coloured by class" if labels is not None else ""),
              path=LATENT)


def _scatter(z, labels, names):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], s=6, alpha=0.6)
    else:
        for k, name in enumerate(names):
            pick = labels == k
            if pick.any():
                ax.scatter(z[pick, 0], z[pick, 1], s=6, alpha=0.7, label=str(name), color=plt.cm.tab10(k % 10))
        ax.legend(fontsize=7, markerscale=2, loc="best", ncol=2)
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    fig.tight_layout()
    return fig
