"""How much of a tuning study's wall time is training? `idealfit tune` on digits against the same trainings run by hand.

Runs `idealfit tune` (TPE, median pruner, journal storage in a temporary folder) for --trials trials of a small CNN
on digits, as a command in its own process, then two comparisons:
- the sum of its trials' own times (each trial: Optuna's start to end, i.e. the whole `train` call: data, model,
  epochs, the run folder and its report) against the study's wall time: the share the tuning machinery leaves
  to the trials, with the process start and imports counted as tuning's;
- the baseline: the very same trainings (each trial's drawn values, each for the epochs it ran before it
  finished or was pruned) run one after the other by a plain Python script in its own process (`fit.train`),
  against the study's wall time, and against its CPU time (user + system of each process, which the other jobs
  of a busy machine move far less than wall time). What tuning adds over doing it by hand is then the
  difference: sampling, pruning checks, the journal, the stale-trial check, trials.csv, best.yaml and the
  study's report.

Run: python benchmarks/tune.py [--trials 20] [--epochs 10] [--repeat N]  (N studies, each followed by its
baseline; the medians of both shares last: a busy machine's noise moves single runs by several points)
Target (issue 12): a study of 20 trials on digits spends >= 90% of its wall time inside training.

Evidence (this 2-core CPU machine shared with other engineers' test suites, load 4.5-7.2, 2026-11-28; the same
20 trials each run, 5 complete and 15 pruned): three default runs spent 95.0%, 93.4% and 95.8% of the study's
wall time (14.4, 15.6, 27.2 s) inside its trials; by hand / study 121%, 202%, 96.5% of the wall time and 103%,
134%, 98.7% of the CPU time. Before the study report's SVG charts, the torch-free config checks and cli.entry's
quick exit: 80.0%, 84.0%, 76.7% inside the trials at load 5.7-6.5.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml

from idealfit.tune_space import load_space

SPACE = {"train.lr": {"log_uniform": [1e-3, 3e-2]}, "model.dropout": {"uniform": [0.0, 0.5]},
         "model.widths": {"choice": [[8, 16], [16, 32]]}}


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: what a command cost, whatever else ran."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_run(d: Path, *, trials: int, epochs: int) -> dict:
    """One study in folder `d` and its by-hand baseline right after it: wall, inside, by_hand (s), states, best."""
    (d / "space.yaml").write_text(yaml.safe_dump(SPACE))
    (d / "base.yaml").write_text(yaml.safe_dump({"data": {"name": "digits"}, "train": {"epochs": epochs,
                                                                                       "threads": "1"}}))
    argv = [sys.executable, "-m", "idealfit", "tune", "--config", str(d / "base.yaml"), "--space",
            str(d / "space.yaml"), "--trials", str(trials), "--sampler-seed", "0", "--out", str(d / "study")]
    # (--sampler-seed: TPE's seed, so every run draws the same trials; --seed would be train.seed, as before
    # this benchmark passed it, leaving the sampler unseeded and each run with other trials.)
    cpu0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    study = optuna.load_study(study_name="base", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(d / "study" / "journal.log"))))
    done = [t for t in study.get_trials() if t.datetime_complete is not None]
    inside = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in done)
    space = load_space(d / "space.yaml", config_file=str(d / "base.yaml"), sets={})
    jobs = [{**{k: space[k].value_of(v) for k, v in t.params.items()}, "train.epochs": max(t.intermediate_values),
             "train.progress": False, "train.checkpoint_every": 0, "out": str(d / "by-hand" / str(t.number))}
            for t in done]
    cpu0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-c", BY_HAND, str(d / "base.yaml"), json.dumps(jobs)], check=True)
    by_hand, by_hand_cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    return {"wall": wall, "inside": inside, "by_hand": by_hand, "cpu": cpu, "by_hand_cpu": by_hand_cpu,
            "done": len(done), "best": study.best_value,
            "states": [t.state.name.lower() for t in study.get_trials()]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--repeat", type=int, default=1, help="studies, each followed by its by-hand baseline; "
                   "the medians of both shares are printed last (default 1)")
    p.add_argument("--tiny", action="store_true", help="3 trials of 1 epoch (the test suite's check that it runs)")
    args = p.parse_args()
    trials, epochs = (3, 1) if args.tiny else (args.trials, args.epochs)
    shares, ratios, cpus = [], [], []
    for i in range(max(args.repeat, 1)):  # study, by hand, study, by hand ...: both see the same load drift
        with tempfile.TemporaryDirectory() as tmp:
            r = one_run(Path(tmp), trials=trials, epochs=epochs)
        wall, inside, by_hand, states = r["wall"], r["inside"], r["by_hand"], r["states"]
        shares.append(100 * inside / wall)
        ratios.append(100 * by_hand / wall)
        cpus.append(100 * r["by_hand_cpu"] / r["cpu"])
        run = f"run {i + 1}: " if args.repeat > 1 else ""
        print(f"{run}{len(states)} trials ({states.count('complete')} complete, {states.count('pruned')} pruned) of "
              f"{epochs} epoch(s) at most; best val_loss {r['best']:.4f}")
        print(f"{run}study wall time {wall:.1f} s (its process from start to end); inside the trials {inside:.1f} s: "
              f"{shares[-1]:.1f}% (the rest {wall - inside:.1f} s, {1000 * (wall - inside) / r['done']:.0f} ms per trial)")
        print(f"{run}the same {r['done']} trainings by hand (one plain script, fit.train each): {by_hand:.1f} s; "
              f"by hand / study = {ratios[-1]:.1f}% (tuning adds {wall - by_hand:.1f} s, ×{wall / by_hand:.3f})")
        print(f"{run}CPU time (user + system, which other jobs on the machine move far less than wall time): study "
              f"{r['cpu']:.1f} s, by hand {r['by_hand_cpu']:.1f} s: by hand / study = {cpus[-1]:.1f}%")
    if len(shares) > 1:
        print(f"median of {len(shares)} runs: inside the trials {statistics.median(shares):.1f}% "
              f"(runs: {', '.join(f'{v:.1f}' for v in shares)}); by hand / study {statistics.median(ratios):.1f}% "
              f"(runs: {', '.join(f'{v:.1f}' for v in ratios)}); in CPU time {statistics.median(cpus):.1f}% "
              f"(runs: {', '.join(f'{v:.1f}' for v in cpus)})")


# The baseline: one process that imports idealfit and trains the trials' configurations one after the other.
BY_HAND = """
import json, sys
import idealfit as fit
base, jobs = sys.argv[1], json.loads(sys.argv[2])
for job in jobs:
    out = job.pop("out")
    fit.train(config=base, set=job, out=out, verbose=False)  # quiet, as the trials are
"""

if __name__ == "__main__":
    main()
