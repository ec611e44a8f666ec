"""How the diagnosis reads a GAN run (pix2pix): whether the run trained adversarially, which of its own scores to
compare instead of L1, whether its images are sharper than the rival's, and what its verdict rests on."""

from __future__ import annotations

from idealfit.diagnose_advice import GAN_NOTE
from idealfit.tasks import TASKS


def adversarial(history: list[dict]) -> bool:
    """Whether the run trained adversarially: its history logs a GAN's parts (train_g_adv, train_d_loss)."""
    return any(r.get(k) is not None for r in history for k in ("train_g_adv", "train_d_loss"))


def _val_sharpness(final: dict[str, dict] | None, baselines: dict | None, ev: dict) -> tuple[float, float] | None:
    """(network, rival) validation sharpness_ratio, or None when either is unknown."""
    net = ((final or {}).get("val") or {}).get("sharpness_ratio")
    base = (((baselines or {}).get(ev.get("baseline")) or {}).get("val") or {}).get("sharpness_ratio")
    if not isinstance(net, (int, float)) or not isinstance(base, (int, float)):
        return None
    return net, base


def no_sharper(final: dict[str, dict] | None, baselines: dict | None, ev: dict) -> str | None:
    """Words for a GAN whose generated images are no sharper on validation than the rival's (the mean image): its
    worse L1 then buys nothing; None when they are sharper or either sharpness is unknown."""
    pair = _val_sharpness(final, baselines, ev)
    if pair is None or pair[0] > pair[1]:
        return None
    net, base = pair
    return f"val sharpness_ratio {net:.3g}, the mean target image's {base:.3g}; 1 = as sharp as the real targets"


def l1_traded(final: dict[str, dict] | None, baselines: dict | None, ev: dict) -> bool:
    """Whether a GAN's generated images are sharper on validation than its L1 rival's (the mean image): its L1 is
    then traded for sharpness by design, so an L1 worse than the mean image's, or flat, is no sign of underfitting
    (the verdict would rest on the comparison its own reasons call expected)."""
    pair = _val_sharpness(final, baselines, ev)
    return pair is not None and pair[0] > pair[1]


def gan_scores(final: dict[str, dict] | None) -> str:
    """Which of a GAN run's own scores to compare instead of L1: the FCN-score only where the run has one
    (it needs the class maps behind the inputs: photos and edge maps have none)."""
    fcn = any("fcn_miou" in (scores or {}) for scores in (final or {}).values())
    if fcn:
        return "compare sharpness_ratio and the FCN-score instead (idealfit study gan measures both against L1 alone)"
    return ("compare sharpness_ratio instead (idealfit study gan measures it against L1 alone; this run has no "
            "FCN-score: its inputs are not class maps)")


def gan_note(history: list[dict], task: str) -> str:
    """What the verdict of a GAN run rests on, and (the task's reading of the discriminator's loss) whether the
    discriminator won outright, which leaves the generator's images resting on the L1 term alone."""
    gan = TASKS[task].history_facts(list(history)).get("gan", {})
    won = (f"; the discriminator won outright for {gan['longest_d_won_epochs']} epochs in a row (summary.json's "
           "gan), so the adversarial term taught the generator little then" if gan.get("discriminator_won") else "")
    return GAN_NOTE + won


def gan_images_advice(final: dict[str, dict] | None, baselines: dict | None) -> str:
    """A GAN's "good fit" advice: its L1 curves levelled off, which says nothing of whether its images look real;
    the numbers that do (validation sharpness_ratio, test FCN-score against the real images') are named."""
    from idealfit.tasks.translation import sharpness_reading

    val, test = ((final or {}).get("val") or {}), ((final or {}).get("test") or {})
    said = []
    if isinstance(val.get("sharpness_ratio"), (int, float)):
        said.append(f"val sharpness_ratio {val['sharpness_ratio']:.3g}: {sharpness_reading(val['sharpness_ratio'])}")
    real = (((baselines or {}).get("real") or {}).get("test") or {}).get("fcn_miou")
    if isinstance(test.get("fcn_miou"), (int, float)) and isinstance(real, (int, float)):
        said.append(f"test FCN mean IoU {test['fcn_miou']:.3g} against the real images' {real:.3g}")
    now = f" (now {'; '.join(said)})" if said else ""
    return ("Not \"keep this setup\" yet: level L1 curves say nothing of whether the images look real; judge that "
            f"by sharpness_ratio near 1 and the FCN-score{now}, and train longer (train.epochs) while they improve.")
