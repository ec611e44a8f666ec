"""What `idealfit train` prints when a run ends: its metrics, epochs, time, baselines, folder and diagnosis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idealfit.baselines import format_baselines
from idealfit.diagnose import format_diagnosis
from idealfit.diagnose_advice import FEW_STEPS, steps_in_run
from idealfit.diagnose_evidence import best_epoch_words
from idealfit.diagnose_forecast import naive_on_test
from idealfit.tasks import get_task
from idealfit.tasks.translation import sharpness_reading
from idealfit.train.distributed import processes_note
from idealfit.train.speed import compile_note, speed_note

if TYPE_CHECKING:
    import torch

    from idealfit.run import Run


def format_summary(run: Run) -> str:
    """The short end-of-run summary printed by `idealfit train`."""
    s, m = run.summary, run.summary["metrics"]
    key = s["metric"]
    pct = get_task(s["task"]).metrics[key].bounded
    fmt = (lambda v: f"{100 * v:.2f}%") if pct else (lambda v: f"{v:.4g}")
    units = "  (standardized units, as the baselines)" if s["task"] == "reconstruction" else ""
    lines = [f"{key:>10}: train {fmt(m['train'][key])}  val {fmt(m['val'][key])}  test {fmt(m['test'][key])}{units}"]
    if "r2" in m["test"]:
        lines.append(f"{'r2':>10}: train {m['train']['r2']:.3f}  val {m['val']['r2']:.3f}  test {m['test']['r2']:.3f}")
    if "sharpness_ratio" in m["test"]:  # the diagnosis of a GAN points at it: shown, with how to read it
        r = m["test"]["sharpness_ratio"]
        lines.append(f"{'sharpness':>10}: train {m['train']['sharpness_ratio']:.3g}  val {m['val']['sharpness_ratio']:.3g}"
                     f"  test {r:.3g} (sharpness_ratio, generated / real: test {sharpness_reading(r)})")
    if "fcn_miou" in m["test"]:
        real = (s.get("baselines") or {}).get("real", {}).get("test", {})
        lines.append(f"{'fcn-score':>10}: test pixel accuracy {m['test']['fcn_pixel_accuracy']:.3f}, mean IoU "
                     f"{m['test']['fcn_miou']:.3f} (real images: {real.get('fcn_pixel_accuracy', float('nan')):.3f}, "
                     f"{real.get('fcn_miou', float('nan')):.3f}; a segmenter of real images reads the generated ones)")
    if "anomaly_auroc" in m["test"]:
        pca = (s.get("baselines") or {}).get("pca", {}).get("test", {}).get("anomaly_auroc")
        vs = f"; PCA's error: {pca:.3f}" if pca is not None else ""
        lines.append(f"{'anomalies':>10}: ROC AUC {m['test']['anomaly_auroc']:.3f} on test (classes other than "
                     f"data.normal_classes, ranked by reconstruction error; 0.5 = chance{vs})")
    stop = (" (stopped early)" if s["stopped_early"] else " (interrupted)" if s.get("interrupted")
            else " (diverged)" if s.get("diverged") else "")
    lines += [f"{'epochs':>10}: {s['epochs_run']}{stop}, best epoch {best_epoch_words(s)}",
              f"{'time':>10}: {s['seconds']:.{2 if s['seconds'] < 1 else 1}f} s on {s['device']}"
              + threads_note(s["device"], s.get("threads"), s.get("distributed")) + speed_note(s.get("speed"))
              + compile_note(s.get("compile_seconds")),
              f"{'params':>10}: {s['params']:,}",
              *([format_baselines(s["baselines"], key, pct=pct)] if s.get("baselines") else []),
              *([f"{'vs naive':>10}: {note}"] if (note := naive_on_test(s)) else []),
              f"{'run':>10}: {run.dir}  (report: {run.dir / 'report.html'})"]
    if s.get("interrupted"):
        lines.append(f"{'continue':>10}: idealfit train --resume {run.dir}")
    if s.get("gan"):
        lines.append(f"{'gan':>10}: {s['gan']['note']}")
    if "diagnosis" in s:
        lines += ["", format_diagnosis(s["diagnosis"])]
    return "\n".join(lines)


FEW_PER_EPOCH = 4  # an epoch of fewer optimizer steps is mostly bookkeeping: said at the start of the run


def few_steps_note(samples: int, batch_size: int, epochs: int) -> str | None:
    """Said at the start of a run whose epochs take fewer than FEW_PER_EPOCH optimizer steps and whose whole run
    fewer than diagnose_advice.FEW_STEPS (a 28-pair folder at batch 16: 2 steps per epoch), so that a flat curve
    is not read as the model's fault; a short run of full epochs (digits, 1 epoch) is what the user asked for."""
    per, total = steps_in_run(samples, batch_size, epochs)
    if per >= FEW_PER_EPOCH or total >= FEW_STEPS:
        return None
    return (f"note: {samples:,} training samples at train.batch_size={batch_size} make {per} optimizer "
            f"step{'s' * (per != 1)} per epoch, {total} in all over {epochs} epoch{'s' * (epochs != 1)}: too few to "
            f"learn much; lower train.batch_size (e.g. --set train.batch_size={max(1, batch_size // 8)}) or raise "
            "train.epochs")


def translation_eval_notes(summary: dict, metrics: dict) -> list[str]:
    """What `idealfit evaluate` adds for a translation run: how to read its sharpness_ratio, and why it prints no
    FCN-score (the segmenter that scores it is trained on the run's training targets and needs the class maps
    behind the inputs, which evaluate's data does not carry), with the run's own test FCN-score where it has one."""
    notes = []
    if (r := metrics.get("sharpness_ratio")) is not None:
        notes.append(f"sharpness_ratio {float(r):.3g}: {sharpness_reading(float(r))}")
    own = (summary.get("metrics") or {}).get("test") or {}
    if "fcn_miou" not in metrics:
        tail = (f"; this run's test split scored pixel accuracy {own['fcn_pixel_accuracy']:.3f}, mean IoU "
                f"{own['fcn_miou']:.3f} at training (summary.json)" if "fcn_miou" in own
                else "; this run has none: its inputs are not class maps")
        notes.append("no FCN-score here: it needs the segmenter trained on the run's training targets and the class "
                     "maps behind the inputs, which training measures once, on its own test split" + tail)
    return notes


def threads_note(device: torch.device | str, threads: int | None, processes: dict | None = None, *,
                  auto: bool = False) -> str:
    """" (2 threads)" on the CPU; under torchrun " (1 thread each, 2 processes, gloo)" (" (2 processes, nccl)" on CUDA).
    `auto`: the count was measured by train.threads=auto, which the start line says (config.yaml records the count)."""
    cpu = str(device) == "cpu" and threads
    parts = [f"{threads} thread{'s' if threads > 1 else ''}{' each' if processes else ''}"
             + (", chosen by train.threads=auto" if auto else "")] if cpu else []
    parts += [processes_note(processes)] if processes else []
    return f" ({', '.join(parts)})" if parts else ""
