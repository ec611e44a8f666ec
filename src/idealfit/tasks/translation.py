"""Image-to-image translation (pix2pix): an image in, an image out, judged as images.

Metrics (on images in [0, 1]): `l1` (mean absolute error per value), `psnr` (dB, mean over images),
`ssim` (mean over images), `sharpness_ratio` (high-frequency energy of the generated images over that of
the targets: 1 = as sharp as real, below 1 = blurry, the typical L1-only result, above 1 = more high-frequency
energy than real: noise or the grid artefacts of transposed convolutions, not detail). The loss of the
supervised (L1-only) step is L1; a GAN step adds its adversarial parts, logged as `g_adv` and `d_loss`.
Adversarial losses have no under/overfitting U-shape: the diagnosis reads the validation L1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from idealfit.errors import UserError
from idealfit.tasks.base import MetricInfo, Task
from idealfit.tasks.fcn_score import fcn_scores, segmenter
from idealfit.tasks.image_metrics import finish_image_metrics, image_sums

MIN_SIDE = 11  # SSIM's Gaussian window
SHARP_BAND = 0.1  # a sharpness_ratio within this of 1 reads "about as sharp as the real targets"


def sharpness_reading(ratio: float) -> str:
    """How to read one sharpness_ratio (generated / real high-frequency energy): below 1 blurry, above 1 not
    sharper but noisier (noise and grid artefacts count as high frequencies too), so closeness to 1 is the aim."""
    if abs(ratio - 1) <= SHARP_BAND:
        return "about as sharp as the real targets"
    if ratio < 1:
        return "blurrier than the real targets"
    return ("more high-frequency energy than the real targets: noise or grid artefacts, not detail "
            "(1 = as sharp as real)")


D_WON = 0.05  # discriminator BCE below this: it tells real from generated pairs almost perfectly
D_WON_EPOCHS = 5  # ... for this many epochs in a row: reported as the discriminator winning outright


class Translation(Task):
    name = "translation"
    metric = "l1"
    metrics = {"l1": MetricInfo(False, False, "mean absolute error per pixel value (images in [0, 1])"),
               "psnr": MetricInfo(True, False, "peak signal-to-noise ratio, dB"),
               "ssim": MetricInfo(True, True, "structural similarity"),
               "sharpness_ratio": MetricInfo(True, False, "high-frequency energy, generated / real (1 = as sharp)"),
               "fcn_pixel_accuracy": MetricInfo(True, True, "FCN-score: pixel accuracy of a segmenter of real "
                                                "images on the generated ones (test split)"),
               "fcn_miou": MetricInfo(True, True, "FCN-score: its mean IoU (test split)")}
    epoch_metrics = ("l1", "psnr", "ssim", "sharpness_ratio")
    epoch_extras = ("g_adv", "d_loss")  # logged when a GAN step reports them
    scales_targets = True  # records the target images' channels (no scaling: images stay in [0, 1])
    augments_targets = True  # a flip or crop moves the target image with the input

    def fit_targets(self, y_train: np.ndarray) -> dict[str, Any]:
        if min(y_train.shape[2:]) < MIN_SIDE:
            raise UserError(f"translation compares images by their structure (SSIM, an 11×11 window), so they need a "
                            f"side of at least {MIN_SIDE} pixels; these are {'×'.join(map(str, y_train.shape[2:]))}: "
                            f"set data.image_size to {MIN_SIDE} or more")
        return {"channels": int(y_train.shape[1]), "side": list(y_train.shape[2:])}  # what the generator must output

    def out_dim(self, *, num_classes: int, input_shape: tuple[int, ...], targets: dict | None = None) -> int:
        return targets["channels"] if targets else 3

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(out, y)

    def stats(self, out, y, loss):
        s = super().stats(out, y, loss)
        s.update(image_sums(out.float().clamp(0, 1), y.float()))  # l1, psnr, ssim, high-frequency energies
        return s

    def finish(self, sums: dict[str, Any], state) -> dict[str, float]:
        n = sums["n"]
        out = {"loss": sums["loss"] / n, **finish_image_metrics(sums)}
        for k in self.epoch_extras:
            if k in sums:
                out[k] = sums[k] / n
        return out

    def test_metrics(self, prep, predictions: dict[str, np.ndarray]) -> dict[str, float]:
        """fcn_pixel_accuracy, fcn_miou: the FCN-score of the generated test images, where the dataset
        knows the classes behind each input (embedded pairs, colour-coded label maps, an NPZ's masks)."""
        masks = self._masks(prep, "test")
        if masks is None:
            return {}
        return fcn_scores(self._segmenter(prep), predictions["y_pred"], masks)

    # evaluate_metrics: none (the base's). The FCN-score needs a segmenter trained on the run's training split,
    # which evaluate does not read again; evaluate scores the sums (finish) only.

    def _masks(self, prep, split: str) -> np.ndarray | None:
        masks = prep.dataset.masks
        return None if masks is None or prep.dataset.paths is not None else masks[prep.indices[split]]

    def _segmenter(self, prep) -> torch.nn.Module:
        """The FCN-score's segmenter, trained on this split's real training targets (cached on disk)."""
        if getattr(self, "_fcn_prep", None) is not prep:  # once per run: test metrics and baselines share it
            self._fcn = segmenter(prep.y["train"], self._masks(prep, "train"),
                                  num_classes=int(prep.dataset.masks.max()) + 1, seed=int(prep.indices.get("seed", 0)))
            self._fcn_prep = prep
        return self._fcn

    def decode(self, out: torch.Tensor, state) -> np.ndarray:
        return out.float().clamp(0, 1).numpy()  # (N, 3, H, W) images in [0, 1]

    def prediction_arrays(self, out, y, state):
        return {"y_true": y.float().numpy(), "y_pred": self.decode(out, state)}

    def callbacks(self, run_dir, prep, *, device: torch.device) -> list:
        from idealfit.report.translation import ProgressGrid

        return [ProgressGrid(run_dir, prep.x["val"], prep.y["val"], device=device)]

    def history_facts(self, history: list[dict]) -> dict[str, Any]:
        """gan: the discriminator's loss per epoch read for its failure mode: below D_WON (it tells real from
        generated almost perfectly) for D_WON_EPOCHS epochs or more, the generator gets no useful gradient."""
        d = [r.get("train_d_loss") for r in history if r.get("train_d_loss") is not None]
        if not d:
            return {}
        longest = run = 0
        for v in d:
            run = run + 1 if v < D_WON else 0
            longest = max(longest, run)
        won = longest >= D_WON_EPOCHS
        note = (f"the discriminator won outright for {longest} epochs in a row (its loss below {D_WON}): the "
                "generator learns little from it then; narrow the discriminator (model.d_width), or raise model.l1_weight" if won else
                "the discriminator and the generator stayed in play (a GAN's losses do not fall together; "
                "judge the images and the validation l1)")
        return {"gan": {"final_d_loss": d[-1], "longest_d_won_epochs": longest, "discriminator_won": won,
                        "note": note}}

    def figures(self, run_dir, prep, predictions, model) -> None:
        from idealfit.report.translation import write_examples

        write_examples(run_dir, prep, predictions)

    def baselines(self, prep, *, seed: int) -> dict[str, dict[str, Any]]:
        """mean: every output the training split's mean target image (what an L1 regression without its
        input would approach); scored with this task's metrics."""
        from idealfit.baselines import SPLITS
        from idealfit.train.meter import Meter

        mean = torch.from_numpy(prep.y["train"].mean(axis=0, dtype=np.float64).astype(np.float32))
        out: dict[str, dict[str, Any]] = {"mean": {}}
        for s in SPLITS:
            y = torch.from_numpy(prep.y[s])
            meter = Meter()
            for i in range(0, len(y), 256):
                t = y[i : i + 256]
                pred = mean.expand_as(t)
                meter.add(self.stats(pred, t, self.loss(pred, t)))
            out["mean"][s] = {k: v for k, v in self.finish(meter.sums(), None).items() if k != "loss"}
        if self._masks(prep, "test") is not None:  # the FCN-score of the mean image, and of the real targets
            net = self._segmenter(prep)
            out["real"] = {}
            for s in ("val", "test"):
                masks = self._masks(prep, s)
                out["mean"][s].update(fcn_scores(net, mean.expand(len(masks), *mean.shape).numpy(), masks))
                out["real"][s] = fcn_scores(net, prep.y[s], masks)  # the upper bound
        return out
