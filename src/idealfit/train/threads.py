"""How many CPU threads a run trains on: `train.threads=auto` times a few steps and picks.

torch uses one intra-op thread per core by default. For the small models of a course that is a
trap on a shared machine: the threads of one operation wait for each other, and when another
process holds a core every step waits for it. On our 2-core machine, beside one busy process, the
default digits run took 15.6 s of training on 2 threads against 1.1 s on 1; idle, 2 threads took
0.7 s. No fixed rule gets both cases right, so `auto` measures: it times forward + backward steps
of a throw-away copy of the model on each candidate count (1, half the cores, all cores; rounds
alternate so that a passing load hits all alike) and keeps the fastest, preferring fewer threads
when they are within 10%. The probe uses its own random inputs and a forked RNG, so it changes
nothing in the run; it costs a few hundredths of a second on small models, and on big ones one full step
plus a few on a smaller batch (`_probe`).

The choice is recorded in config.yaml (like model.name=auto), so `--resume` continues on the same
count: results are bit-for-bit reproducible for a given thread count, not across counts.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections.abc import Iterator

import torch

TOLERANCE = 1.10  # fewer threads win unless more threads are at least this much faster
# A recurrent layer runs its time steps one after another: L small matrix products, each a point where the
# threads wait for each other, so a core taken by another process stalls every time step. On our busy 2-core
# machine a 2-layer GRU or LSTM of 64 (mnist1d, batch 64) took 0.47-1.4 s per step on 2 threads against
# 0.05-0.08 s on 1, and an LSTM run that auto had put on 2 threads trained 597 s instead of 58 s
# (benchmarks/sequences.py). A probe of a step or two can catch a quiet moment, so for a recurrent model
# more threads must win by this much.
RECURRENT_TOLERANCE = 1.5
PROBE_SECONDS = 0.015  # per candidate and round: several steps of a small model, little of a run
ROUNDS = 2  # at most: a second round when the first is close, so that a passing load cannot decide it
BIG_STEP = 0.05  # seconds: a bigger model's probe times steps on a batch cut to about this long
CLEAR = 1.3  # a first round whose slowest candidate is this much slower than the fastest needs no second


def available_cores() -> int:
    """Cores this process may run on, capped by torch's own setting (OMP_NUM_THREADS, a caller's
    torch.set_num_threads): auto never uses more threads than that."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cores, torch.get_num_threads()))


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Run the block on `n` intra-op threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def choose_threads(setting: str, *, model: torch.nn.Module, input_shape: tuple[int, ...], batch_size: int,
                   device: torch.device) -> int:
    """The thread count for a run: `setting` as a number, or for "auto" the fastest measured count.

    Args:
        setting: "auto" or a whole number as text (config `train.threads`).
        model: the run's model (not modified: the probe trains a copy).
        input_shape: one sample's shape as the model takes it. batch_size: the run's batch size.
        device: the training device; on a GPU the CPU threads matter little and auto keeps torch's count.
    """
    if setting != "auto":
        return int(setting)
    cores = available_cores()
    if cores == 1 or device.type != "cpu":
        return cores if device.type == "cpu" else torch.get_num_threads()
    candidates = sorted({1, max(1, cores // 2), cores})
    recurrent = any(isinstance(m, torch.nn.RNNBase) for m in model.modules())
    return pick(_probe(model, input_shape, batch_size, candidates),
                tolerance=RECURRENT_TOLERANCE if recurrent else TOLERANCE)


def pick(times: dict[int, float], *, tolerance: float = TOLERANCE) -> int:
    """The fewest threads whose step time is within `tolerance` of the fastest: fewer threads leave
    cores to the machine's other users for (almost) nothing."""
    best = min(times.values())
    return min(n for n, t in times.items() if t <= best * tolerance)


def _probe(model: torch.nn.Module, input_shape: tuple[int, ...], batch_size: int,
           candidates: list[int]) -> dict[int, float]:
    """Seconds per forward + backward step of a copy of `model`, the best round of each candidate.

    One step first pays the one-off costs (allocations, first calls), which would otherwise count against
    the first candidate; when it takes over BIG_STEP, the timed steps use a batch cut to about BIG_STEP's
    worth (at least 2 samples), since what is measured is how the threads share the machine, not the
    run's speed. Beside a busy process the probe of a 2.1 M-parameter CNN at batch 64 (0.4-0.8 s steps) took
    a median of 3.4 s before; see the README's Measured table for after. A second round runs only when the
    first is close (within CLEAR)."""
    probe = copy.deepcopy(model).train()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((max(2, min(batch_size, 256)), *input_shape), generator=gen)  # BatchNorm needs 2
    best: dict[int, float] = {n: float("inf") for n in candidates}
    with torch.random.fork_rng(devices=[]):  # dropout in the probe must not move the run's RNG
        with num_threads(candidates[0]):
            t0 = time.perf_counter()
            _step(probe, x)  # the warm-up
            first = time.perf_counter() - t0
        if first > BIG_STEP:
            x = x[: max(2, int(len(x) * BIG_STEP / first))]
        for _ in range(ROUNDS):
            for n in candidates:
                with num_threads(n):
                    best[n] = min(best[n], _time_steps(probe, x, limit=3 * min(best.values())))
            if max(best.values()) >= CLEAR * min(best.values()):
                break
    return best


def _step(model: torch.nn.Module, x: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    model(x).float().sum().backward()


def _time_steps(model: torch.nn.Module, x: torch.Tensor, *, limit: float) -> float:
    """Mean seconds per step over about PROBE_SECONDS; gives up early once a step is over `limit`."""
    steps, t0 = 0, time.perf_counter()
    while True:
        _step(model, x)
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= PROBE_SECONDS or elapsed / steps > limit:
            return elapsed / steps
