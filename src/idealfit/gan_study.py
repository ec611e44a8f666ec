"""`idealfit study gan`: what the discriminator adds, measured like Table 1 of the pix2pix paper.

The same U-Net generator is trained on the same split with L1 alone (`model.gan_weight=0`, the paper's
ablation), with L1 + the conditional GAN (pix2pix), and optionally with the conditional GAN alone. Each
is scored on the test split by L1, PSNR, SSIM, `sharpness_ratio` (1 = as sharp as the real targets)
and the FCN-score (a segmenter of real images applied to the generated ones; the real targets' own
score, `baselines.real`, is the upper bound). The study writes one run folder per variant and seed,
`study.json`, `samples.png` (the same test inputs through every variant) and a self-contained `report.html`.

The claim it checks: with the discriminator the generated images are closer to real sharpness
(|1 − sharpness_ratio| smaller) while the FCN-score stays within FCN_MARGIN of the L1-only one.
A difference counts only when it is clear (`clear_difference`): more than NOISE_SHARE of the larger
value and, with several seeds, more than the larger spread over seeds; otherwise the verdict says there
is no clear difference at this budget rather than naming a winner on a 0.001 difference.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from idealfit.errors import UserError
from idealfit.tasks.translation import SHARP_BAND, sharpness_reading
from idealfit.train.summary_text import few_steps_note

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {  # name -> (what it trains, config keys)
    "L1": ("L1 only: the generator regressed on the targets, no discriminator (the paper's ablation)",
           {"model.gan_weight": 0.0}),
    "L1+cGAN": ("pix2pix: λ·L1 (λ = 100) plus the PatchGAN discriminator's conditional adversarial loss",
                {"model.gan_weight": 1.0}),
    "cGAN": ("the conditional adversarial loss alone, no L1 term", {"model.gan_weight": 1.0, "model.l1_weight": 0.0}),
}
COLUMNS = ("l1", "psnr", "ssim", "sharpness_ratio", "fcn_pixel_accuracy", "fcn_miou")
FCN_MARGIN = 0.10  # the GAN's FCN mean IoU may fall at most this share below the L1-only one
# Differences below this share of the larger value are not read as a winner: another seed (initialization,
# batch order) moves these scores as much (|1 - sharpness_ratio| 0.979 vs 0.999, 2.0%, for seeds 0 and 1 of
# L1 alone in a 2-epoch study of a 160-pair photo -> edges folder, 2026-11-28), and one seed has no spread of
# its own to judge by.
NOISE_SHARE = 0.02
SAMPLES = 6  # test inputs in samples.png
EPOCHS = 10  # per variant: the study stays under 10 minutes on 2 CPU cores (benchmarks/gan.py)


@dataclass
class GanStudyResult:
    rows: list[dict[str, Any]]  # one per variant, then "real" (the FCN-score's upper bound)
    dir: Path
    verdict: dict[str, Any] = field(default_factory=dict)
    report: Path | None = None
    samples: Path | None = None

    def table(self) -> str:
        """The fixed-width table `idealfit study gan` prints: mean (± std over seeds) per column."""
        head = ["variant", *COLUMNS, "seconds"]
        lines = [head]
        for r in self.rows:
            lines.append([r["variant"]] + [_cell(r.get(c), c) for c in (*COLUMNS, "seconds")])
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        text = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
                for line in lines]
        text.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(t.rstrip() for t in text)


def _cell(v: dict | None, column: str = "") -> str:
    if v is None:
        return "-"
    digits = 0 if column == "seconds" else 2 if column == "psnr" else 3
    return f"{v['mean']:.{digits}f}" + (f" ± {v['std']:.{digits}f}" if v.get("std") else "")


def gan_study(*, data: str | Path = "labels2shapes", seeds: Sequence[int] = (0,), epochs: int | None = None,
              cgan_only: bool = False, set: dict[str, Any] | None = None, out: str | Path | None = None,
              progress: Callable[[str], Any] | None = print) -> GanStudyResult:
    """L1 only vs L1 + cGAN (and, with `cgan_only`, cGAN alone) on the same paired data and split.

    Args:
        data: paired images: "labels2shapes" (default), "edges2shapes", an A/B folder or an NPZ of pairs.
        seeds: one run per seed per variant (default (0,)); each seed draws its own split.
        epochs: epochs per variant (default EPOCHS).
        cgan_only: also train the adversarial loss alone (the paper's third row; unstable, often garbage).
        set: config keys for every variant, e.g. {"model.widths": [8, 16, 32]}; the variants' own keys win.
        out: study folder (default runs/<timestamp>-study-gan).
        progress: called with one line per finished run (default print; None = silent).
    """
    from idealfit.train.distributed import ONLY_TRAIN, refuse_under_torchrun

    refuse_under_torchrun("study gan", ONLY_TRAIN)
    from idealfit.study import _check_seeds, _study_dir, _write_json, mean_std

    data, say = str(data), progress or (lambda *_: None)
    _check_pairs(data, set)
    names = [n for n in VARIANTS if cgan_only or n != "cGAN"]
    base = {"model.name": "pix2pix", "train.checkpoint_every": 0, **(set or {})}  # a study never resumes a variant
    epochs = EPOCHS if epochs is None else epochs
    if epochs < 1:
        raise UserError(f"epochs must be at least 1; got {epochs}")
    base["train.epochs"] = epochs
    variants = [(n, VARIANTS[n][0], {**base, **VARIANTS[n][1]}) for n in names]
    from idealfit.config import resolve

    for _, _, overrides in variants:  # every user error before any work
        resolve(overrides={"data.name": data, **overrides})
    seeds = _check_seeds(seeds)
    study_dir = _study_dir(out, "gan")
    study_dir.mkdir(parents=True, exist_ok=True)
    rows, real, k = [], [], 0
    for name, description, overrides in variants:
        records = []
        for seed in seeds:
            k += 1
            run_dir = study_dir / f"{name.lower()}-seed{seed}"
            rec, summary = _one_run(overrides, data=data, seed=seed, out=run_dir)
            records.append(rec)
            if name == names[0] and "real" in summary["baselines"]:
                real.append(summary["baselines"]["real"]["test"])
            if k == 1 and (few := few_steps_note(summary["train_samples"], _batch_size(run_dir), epochs)):
                # a flat tie between variants of a few steps each is the budget's doing, not the variants'
                say(few.replace(" in all over", " per variant, over"))
            say(f"[{k}/{len(variants) * len(seeds)}] {name:<8} seed {seed}: l1 {rec['l1']:.4f}  sharpness "
                f"{rec['sharpness_ratio']:.3f}" + (f"  fcn miou {rec['fcn_miou']:.3f}" if "fcn_miou" in rec else "")
                + f"  {rec['seconds']:.0f} s training, {rec['wall_seconds']:.0f} s in all")
        row = {"variant": name, "description": description, "settings": overrides, "per_seed": records}
        for key in (*COLUMNS, "seconds"):
            if all(key in r for r in records):
                row[key] = mean_std([r[key] for r in records])
        rows.append(row)
    if real:
        rows.append({"variant": "real", "description": "the real test targets, scored by the same segmenter "
                     "(the FCN-score's upper bound; sharpness 1 by definition)", "settings": {},
                     "per_seed": real, "sharpness_ratio": mean_std([1.0] * len(real)),
                     **{key: mean_std([r[key] for r in real]) for key in ("fcn_pixel_accuracy", "fcn_miou")}})
    result = GanStudyResult(rows, study_dir, verdict=judge(rows))
    _write_json(study_dir, {"study": "gan", "data": data, "seeds": seeds, "epochs": epochs, "verdict": result.verdict,
                            "rows": rows})
    result.samples = _samples(study_dir, data, [r for r in rows if r["variant"] != "real"], set)
    result.report = _write_report(result, data)
    return result


def _batch_size(run_dir: Path) -> int:
    """The batch a variant trained with: its resolved config's (session picks it by the data's size)."""
    from idealfit.run_read import load_config

    return load_config(run_dir).train.batch_size


def _check_pairs(data: str, set: dict[str, Any] | None) -> None:
    from idealfit.study import _dataset_kind

    kind, _ = _dataset_kind(data, set)
    if kind != "image_pair":
        raise UserError(f"study gan compares image-to-image translation; {data} holds {kind} data: use "
                        "--data labels2shapes, edges2shapes or a folder with A/ and B/ images")


def _one_run(overrides: dict[str, Any], *, data: str, seed: int, out: Path) -> tuple[dict, dict]:
    from idealfit.api import train

    t0 = time.perf_counter()
    run = train(data=data, seed=seed, out=out, set=overrides, verbose=False, progress=False)
    s = run.summary
    rec = {"seed": seed, **{c: s["metrics"]["test"][c] for c in COLUMNS if c in s["metrics"]["test"]},
           # training time; the wall time adds data, metrics, report and, once per split, the FCN-score's segmenter
           "seconds": s["seconds"], "wall_seconds": round(time.perf_counter() - t0, 1), "epochs": s["epochs_run"],
           "run_dir": out.name,
           "discriminator_won": (s.get("gan") or {}).get("discriminator_won")}
    return rec, s


def clear_difference(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two scores ({"mean", "std"} over seeds) differ by more than noise: by more than NOISE_SHARE
    of the larger magnitude, and by more than the larger std over seeds (0 for one seed)."""
    gap = abs(a["mean"] - b["mean"])
    return gap > NOISE_SHARE * max(abs(a["mean"]), abs(b["mean"])) and gap > max(a.get("std") or 0.0,
                                                                                  b.get("std") or 0.0)


def judge(rows: list[dict]) -> dict[str, Any]:
    """The study's claim, measured: L1+cGAN vs L1 on |1 − sharpness_ratio| and on the FCN mean IoU;
    "clear" False (and no winner in the text) when the sharpness gaps differ by no more than noise."""
    by = {r["variant"]: r for r in rows}
    if "L1" not in by or "L1+cGAN" not in by:
        return {}
    l1, gan = by["L1"], by["L1+cGAN"]
    off = {n: abs(1 - r["sharpness_ratio"]["mean"]) for n, r in (("L1", l1), ("L1+cGAN", gan))}
    clear = clear_difference(*({"mean": off[n], "std": by[n]["sharpness_ratio"].get("std")} for n in off))
    # above 1 is not "sharper than real" but noise or grid artefacts: an overshoot is never "closer to real", however
    # small its |1 − ratio| (L1 0.191 vs L1+cGAN 1.751 was read as closer to real on 0.809 vs 0.751)
    ratio = gan["sharpness_ratio"]["mean"]
    over = ratio > 1 + SHARP_BAND
    out: dict[str, Any] = {"sharper": clear and off["L1+cGAN"] < off["L1"] and not over, "clear": clear,
                           "sharpness_gap": off, "overshoot": over}
    if "fcn_miou" in l1 and "fcn_miou" in gan:
        a, b = l1["fcn_miou"]["mean"], gan["fcn_miou"]["mean"]
        out["fcn_miou"] = {"L1": a, "L1+cGAN": b}
        out["fcn_within_margin"] = b >= (1 - FCN_MARGIN) * a
    gaps = f"|1 − sharpness_ratio| {off['L1+cGAN']:.3f} vs {off['L1']:.3f}"
    if over:
        sharp = (f"L1+cGAN overshoots: sharpness_ratio {ratio:.3f} is {sharpness_reading(ratio)}, so it is not closer "
                 f"to real sharpness than L1 alone ({l1['sharpness_ratio']['mean']:.3f}, "
                 f"{sharpness_reading(l1['sharpness_ratio']['mean'])}) whatever {gaps} says; judge samples.png by eye")
    elif clear:
        sharp = f"L1+cGAN is {'closer to' if out['sharper'] else 'no closer to'} real sharpness than L1 alone ({gaps})"
    else:
        seeds = len(l1.get("per_seed") or [None])
        sharp = (f"no clear difference in sharpness at this budget ({gaps}: within {NOISE_SHARE:.0%}"
                 f"{' and the spread over seeds' if seeds > 1 else ', one seed'}); train longer (--epochs) or add "
                 "seeds (--seeds) to tell them apart")
    if "fcn_within_margin" in out:
        a, b = out["fcn_miou"]["L1"], out["fcn_miou"]["L1+cGAN"]
        near = not clear_difference(l1["fcn_miou"], gan["fcn_miou"])
        rel = ("level with" if near else "above" if b > a else "within" if out["fcn_within_margin"] else "more than")
        tail = f" {int(FCN_MARGIN * 100)}% below" if rel in ("within", "more than") else ""
        sharp += f"; {'its' if clear and not over else 'the L1+cGAN'} FCN mean IoU {b:.3f} is {rel}{tail} the L1-only {a:.3f}"
    out["text"] = sharp + "."
    return out


def _samples(study_dir: Path, data: str, rows: list[dict], set: dict[str, Any] | None) -> Path | None:
    """samples.png: the first test inputs of seed 0, then every variant's generated image, then the target."""
    from idealfit.config import resolve
    from idealfit.data.prepare import load_dataset
    from idealfit.report.sheets import to_rgb8, write_sheet

    preds = []
    for r in rows:
        with np.load(study_dir / r["per_seed"][0]["run_dir"] / "predictions.npz") as f:
            preds.append((f["index"][:SAMPLES], f["y_pred"][:SAMPLES], f["y_true"][:SAMPLES]))
    if not len(preds[0][0]):
        return None
    data_keys = {k: v for k, v in (set or {}).items() if k.startswith("data.")}
    ds = load_dataset(resolve(overrides={**data_keys, "data.name": data}).data)
    index, _, real = preds[0]
    sheet = [[to_rgb8(ds.x[i])] + [to_rgb8(p[1][j]) for p in preds] + [to_rgb8(real[j])]
             for j, i in enumerate(index)]
    return write_sheet(study_dir / "samples.png", sheet, scale=2)


def _write_report(result: GanStudyResult, data: str) -> Path:
    from idealfit.report.html import CSS, _img, section_html
    from idealfit.run_files import atomic_write

    head = "".join(f"<th>{escape(h)}</th>" for h in ("variant", *COLUMNS, "seconds"))
    body = "".join("<tr><th>" + escape(r["variant"]) + "</th>" + "".join(
        f"<td>{escape(_cell(r.get(c), c))}</td>" for c in (*COLUMNS, "seconds")) + "</tr>" for r in result.rows)
    seeds = ", ".join(str(p["seed"]) for p in result.rows[0]["per_seed"])
    table = (f"<p>{escape(result.verdict.get('text', ''))}</p><table><tr>{head}</tr>{body}</table>"
             f'<p class="note">Test split, seeds {escape(seeds)}; seconds: training time. l1: mean absolute error (lower is better); psnr, '
             "ssim: closeness to the target, which rewards the blurry average of all plausible outputs; "
             "sharpness_ratio: high-frequency energy of the generated images over the real ones' (1 = as sharp as "
             "real, below 1 = blurry); fcn_*: a U-Net trained on the real training targets segments the generated "
             "images, scored against the label maps (the paper's FCN-score; the real row is its upper bound). "
             "For scale, pix2pix on Cityscapes labels→photo: per-pixel accuracy / IoU L1 0.42 / 0.11, L1+cGAN "
             "0.66 / 0.17, real 0.80 / 0.21.</p>")
    sections = [("table", "L1 vs L1 + cGAN", table)]
    if result.samples is not None:
        cols = " | ".join(["input", *(r["variant"] for r in result.rows if r["variant"] != "real"), "real target"])
        sections.append(("samples", "The same test inputs through every variant",
                         f"<figure>{_img(result.samples.read_bytes(), 'generated samples')}<figcaption>"
                         f"{escape(cols)}</figcaption></figure>"))
    runs = "".join(f"<li><b>{escape(r['variant'])}</b>: {escape(r['description'])}" + "".join(
        f' — <a href="{escape(p["run_dir"])}/report.html">seed {p["seed"]}</a>' for p in r["per_seed"]
        if "run_dir" in p) + "</li>" for r in result.rows)
    sections.append(("runs", "Variants and their runs", f"<ul>{runs}</ul>"))
    page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>GAN study · {escape(data)}</title>'
            f"<style>{CSS} td {{ white-space: nowrap; }}</style></head><body><header><h1>GAN study · "
            f'{escape(data)}</h1><p class="meta">idealfit study · {dt.datetime.now():%Y-%m-%d %H:%M}</p></header>'
            f"<main>{''.join(section_html(*s) for s in sections)}</main></body></html>\n")
    return atomic_write(result.dir / "report.html", page.encode("utf-8"))


def load_gan_study(study_dir: str | Path) -> dict[str, Any]:
    """study.json of a GAN study, as written."""
    return json.loads((Path(study_dir) / "study.json").read_text())
