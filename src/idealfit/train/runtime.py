"""Where and how the model runs: the device (and, later, precision and processes) in one place.

Single process today. This is where torchrun's RANK / WORLD_SIZE, DDP, autocast and torch.compile
plug in, with the shape of Lightning Fabric's small API: `device`, `wrap`, `autocast`,
`all_reduce_sum`, `is_main`.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from idealfit.errors import UserError
from idealfit.train.speed import Speed


def pick_device(name: str) -> torch.device:
    """`auto` = CUDA, else Apple's MPS, else the CPU; a named GPU that is not there is a UserError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"train.device={name} but PyTorch sees no CUDA GPU here; use --device cpu (or auto)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("train.device=mps but this machine has no Apple GPU; use --device cpu (or auto)")
    return torch.device(name)


@dataclass
class Runtime:
    """One process on one device."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    speed: Speed = field(default_factory=Speed)  # bf16 autocast, channels_last, torch.compile (train/speed.py)

    @classmethod
    def from_name(cls, name: str) -> Runtime:
        return cls(pick_device(name))

    @property
    def is_main(self) -> bool:
        """Only the main process writes files."""
        return self.rank == 0

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module the loop calls forward on (DDP / compile wrap here); the raw one is kept for saving."""
        return self.speed.wrap(model)

    def autocast(self):
        """The context of the forward pass and the loss: bf16 autocast under train.precision=bf16."""
        return self.speed.autocast(self.device)

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        return t

    @contextmanager
    def interrupts(self):
        """Around the loop: yields `poll()`, called after each step. One process lets Ctrl-C raise anywhere."""
        yield lambda: None

    # --- processes: train/distributed.py's DistributedRuntime (torchrun) overrides these; one process needs none ---
    def shard(self, batches, *, train: bool):
        """This process's part of a split's batches (training: of every global batch)."""
        return batches

    def agree(self, fn):
        """`fn()` run once (by the main process), its result (or UserError) shared with every process."""
        return fn()

    def finish_alone(self, step) -> None:
        """After the loop, the main process evaluates and writes without the others."""

    def callbacks(self, *, seed: int, augment) -> list:
        """Loop callbacks the processes need (per-rank random streams)."""
        return []

    def wait_for_main(self) -> None:
        """Every process waits here until the main one has written the whole run folder."""

    def record(self) -> dict | None:
        """The processes a run used, for summary.json's "distributed" (None: one process)."""
        return None


@contextmanager
def deferred_interrupts():
    """Ctrl-C (SIGINT) recorded, and raised as KeyboardInterrupt by `poll()` between two steps. Why: under torchrun
    a KeyboardInterrupt raised inside DDP's backward (its gradient hook's all-reduce) is swallowed into a broken
    collective, and the process then waits for its peers until the timeout; raised between steps it leaves
    cleanly and its peers' next collective fails at once. A second SIGINT waits too: a terminal's Ctrl-C reaches
    the workers, and torchrun then sends each one its own."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield lambda: None
        return
    pending: list[bool] = []

    def handler(signum, frame):
        pending.append(True)

    def poll() -> None:
        if pending:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield poll
    finally:
        signal.signal(signal.SIGINT, previous)
