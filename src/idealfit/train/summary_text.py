"""What `idealfit train` prints when a run ends: its metrics, epochs, time, baselines, folder and diagnosis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idealfit.baselines import format_baselines
from idealfit.diagnose import format_diagnosis
from idealfit.diagnose_evidence import best_epoch_words
from idealfit.diagnose_forecast import naive_on_test
from idealfit.tasks import get_task
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


def threads_note(device: torch.device | str, threads: int | None, processes: dict | None = None, *,
                  auto: bool = False) -> str:
    """" (2 threads)" on the CPU; under torchrun " (1 thread each, 2 processes, gloo)" (" (2 processes, nccl)" on CUDA).
    `auto`: the count was measured by train.threads=auto, which the start line says (config.yaml records the count)."""
    cpu = str(device) == "cpu" and threads
    parts = [f"{threads} thread{'s' if threads > 1 else ''}{' each' if processes else ''}"
             + (", chosen by train.threads=auto" if auto else "")] if cpu else []
    parts += [processes_note(processes)] if processes else []
    return f" ({', '.join(parts)})" if parts else ""
