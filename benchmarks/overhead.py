"""idealfit's loop against a minimal hand-written PyTorch loop on the default digits CNN.

Both train the same model (same init), on the same in-memory tensors, with the same batch size,
optimizer, per-step schedule and number of epochs, and both evaluate the validation split once per
epoch (what any loop that reports validation metrics must do). idealfit's side runs with the
progress bar and per-epoch metrics on. The runs alternate in one process; we print the median time
of each and their ratio. For scale, a DataLoader over a TensorDataset is timed as a third variant,
and idealfit's loop again with its per-epoch checkpoint and metrics.csv writes (what `idealfit
train` adds for crash safety).

End to end (`--end-to-end`, on by default): the whole `idealfit.train(data="digits", epochs=15)` call
(data, split, preprocessing, model, loop, checkpoints, final metrics, run folder, report) against a
hand-written script that does the same job for the same model: load the digits with scikit-learn,
split, standardize, train with the same optimizer and schedule while watching validation, test, save
the weights. Early stopping is off on both sides so both train every epoch.

Run: python benchmarks/overhead.py [--repeats 7] [--epochs 10] [--tiny]
Targets: idealfit loop / hand loop <= 1.05 (issue 2); end to end <= 1.15 (issue 8).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import idealfit
from idealfit.config import resolve
from idealfit.data.batching import TensorBatches
from idealfit.data.prepare import load_dataset, prepare
from idealfit.data.split import split_indices
from idealfit.models.build import build_model
from idealfit.tasks import TASKS
from idealfit.train.callbacks import FitState
from idealfit.train.loop import fit
from idealfit.train.optim import build_optimizer, build_scheduler
from idealfit.train.session import Checkpointer
from idealfit.train.step import SupervisedStep


def setup():
    cfg = resolve(overrides={"model.name": "cnn"})  # what model.name=auto picks for the digits
    ds = load_dataset(cfg.data)
    prep = prepare(ds, split_indices(ds, val_fraction=0.15, test_fraction=0.15, seed=0))
    tensors = {s: (torch.from_numpy(prep.x[s]), torch.from_numpy(prep.y[s])) for s in ("train", "val")}
    return cfg, prep, tensors


def make(cfg, prep, steps_per_epoch):
    torch.manual_seed(0)
    model = build_model(cfg.model, input_shape=prep.input_shape, out_dim=prep.out_dim, norm=prep.state["norm"])
    opt = build_optimizer(model.parameters(), cfg.train)
    sched = build_scheduler(opt, cfg.train, steps_per_epoch=steps_per_epoch)
    return model, opt, sched


def _plain_epochs(model, opt, sched, epochs, batches, val):
    """The loop a careful user writes by hand: step over `batches()`, then evaluate validation."""
    xv, yv = val
    for _ in range(epochs):
        model.train()
        for xb, yb in batches():
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            out = model(xv)
            _val = (torch.nn.functional.cross_entropy(out, yv).item(), (out.argmax(1) == yv).float().mean().item())


def hand_loop(cfg, prep, tensors, epochs):
    """Slicing a random permutation of in-memory tensors."""
    x, y = tensors["train"]
    bs = cfg.train.batch_size
    model, opt, sched = make(cfg, prep, -(-len(y) // bs))
    g = torch.Generator().manual_seed(0)

    def batches():
        for idx in torch.randperm(len(y), generator=g).split(bs):
            yield x[idx], y[idx]

    _plain_epochs(model, opt, sched, epochs, batches, tensors["val"])


def dataloader_loop(cfg, prep, tensors, epochs):
    """The same loop fed by torch's DataLoader over a TensorDataset (no workers)."""
    x, y = tensors["train"]
    dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=cfg.train.batch_size,
                                     shuffle=True, generator=torch.Generator().manual_seed(0))
    model, opt, sched = make(cfg, prep, len(dl))
    _plain_epochs(model, opt, sched, epochs, lambda: dl, tensors["val"])


def idealfit_loop(cfg, prep, tensors, epochs, *, checkpoints=False):
    (x, y), (xv, yv) = tensors["train"], tensors["val"]
    g = torch.Generator().manual_seed(0)
    train_b = TensorBatches(x, y, batch_size=cfg.train.batch_size, shuffle=True, generator=g)
    val_b = TensorBatches(xv, yv, batch_size=1024, shuffle=False)
    model, opt, sched = make(cfg, prep, len(train_b))
    task = TASKS["classification"]
    state = FitState(SupervisedStep(model, {"main": opt}, {"main": sched}, task=task), epochs=epochs)
    with tempfile.TemporaryDirectory() as d:
        cbs = [Checkpointer(Path(d), generator=g, early=None)] if checkpoints else []
        fit(state, train_b, val_b, task=task, callbacks=cbs, progress=True)


def hand_script(epochs: int, out: Path) -> float:
    """The whole job by hand, as a careful user writes it; returns the test accuracy."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x, y = (d.images / 16.0).astype(np.float32)[:, None], d.target.astype(np.int64)
    x_rest, x_te, y_rest, y_te = train_test_split(x, y, test_size=0.15, random_state=0, stratify=y)
    x_tr, x_va, y_tr, y_va = train_test_split(x_rest, y_rest, test_size=0.15 / 0.85, random_state=1, stratify=y_rest)
    norm = {"kind": "standard", "mean": [float(x_tr.mean())], "std": [float(x_tr.std())]}
    cfg = resolve(overrides={"model.name": "cnn", "train.epochs": epochs})
    torch.manual_seed(0)
    model = build_model(cfg.model, input_shape=(1, 8, 8), out_dim=10, norm=norm)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    bs = cfg.train.batch_size
    opt = build_optimizer(model.parameters(), cfg.train)
    sched = build_scheduler(opt, cfg.train, steps_per_epoch=-(-len(yt) // bs))
    g = torch.Generator().manual_seed(0)
    _plain_epochs(model, opt, sched, epochs, lambda: ((xt[i], yt[i]) for i in torch.randperm(len(yt), generator=g).split(bs)),
                  (torch.from_numpy(x_va), torch.from_numpy(y_va)))
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(x_te)).argmax(1).numpy() == y_te).mean()
    torch.save(model.state_dict(), out / "model.pt")
    return float(acc)


def idealfit_script(epochs: int, out: Path) -> float:
    # the hand script's thread count, so that the ratio is idealfit's own cost (train.threads=auto's
    # gain on a busy machine is benchmarks/threads.py's subject)
    run = idealfit.train(data="digits", epochs=epochs, out=out / "run", verbose=False,
                         set={"train.progress": False, "train.early_stopping": False,
                              "train.threads": torch.get_num_threads()})
    return run.summary["metrics"]["test"]["accuracy"]


def end_to_end(*, repeats: int, epochs: int) -> None:
    times: dict[str, list[float]] = {"hand script": [], "idealfit.train": []}
    accs: dict[str, list[float]] = {k: [] for k in times}
    fns = {"hand script": hand_script, "idealfit.train": idealfit_script}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in fns.items():  # warm-up: imports and first-call costs hit neither side's timing
            (Path(tmp) / f"warm-{name}").mkdir()
            fn(1, Path(tmp) / f"warm-{name}")
        for r in range(repeats):
            for name, fn in fns.items():
                out = Path(tmp) / f"{r}-{name.replace(' ', '_')}"
                out.mkdir()
                t0 = time.perf_counter()
                accs[name].append(fn(epochs, out))
                times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["hand script"])
    print(f"end to end, digits CNN, {epochs} epochs, {repeats} alternating repeats (medians), "
          f"{torch.get_num_threads()} thread(s) on both sides:")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:>24}: median {med:.3f} s  ratio {med / base:.3f}x  test accuracy {statistics.median(accs[name]):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--e2e-epochs", type=int, default=15, help="epochs of the end-to-end comparison")
    ap.add_argument("--no-end-to-end", action="store_true", help="time the loops only")
    ap.add_argument("--tiny", action="store_true", help="one repeat of one epoch: checks that it runs")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for every variant (default: torch's)")
    args = ap.parse_args()
    if args.tiny:
        args.repeats, args.epochs, args.e2e_epochs = 1, 1, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, prep, tensors = setup()
    variants = {"hand loop": hand_loop, "idealfit": idealfit_loop,
                "idealfit + checkpoints": lambda *a: idealfit_loop(*a, checkpoints=True),
                "DataLoader": dataloader_loop}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():  # warm-up
        fn(cfg, prep, tensors, 1)
    for _ in range(args.repeats):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn(cfg, prep, tensors, args.epochs)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["hand loop"])
    print(f"digits CNN, {args.epochs} epochs, batch {cfg.train.batch_size}, {args.repeats} alternating repeats, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:>24}: median {med:.3f} s  ratio {med / base:.3f}x")
    if not args.no_end_to_end:
        end_to_end(repeats=args.repeats, epochs=args.e2e_epochs)
    if args.tiny:
        print("--tiny: a smoke test (one repeat, one epoch) that checks the script runs; its figures are no "
              "measurement (run it without --tiny for those)")


if __name__ == "__main__":
    main()
