"""Training one model over several processes: torchrun's environment, DistributedDataParallel, shards.

`torchrun --nproc_per_node=N -m idealfit train ...` starts N copies of the command; each finds its
RANK / WORLD_SIZE / MASTER_ADDR in the environment torchrun sets, and `DistributedRuntime` (the
runtime of train/runtime.py, multi-process) joins them in one process group: gloo on the CPU, NCCL on
CUDA. The choices, in one place:

- Global batch: `train.batch_size` is the batch of one optimizer step over all processes, split over
  the ranks (not multiplied by them), so a config trains the same model on 1 or N processes and the
  learning rate needs no rescaling. Every rank draws the same shuffled order (same seed, same
  generator); rank r takes the r-th of N near-equal contiguous parts of each global batch.
- Gradients: DDP averages them over ranks; our comm hook weights rank r's gradient by its share of
  the global batch (n_r / n), so an uneven last batch still gives the gradient of the global mean
  loss, as one process would.
- Metrics: each rank's per-batch sums are added over ranks once per epoch (one all_reduce of the
  Meter's flat vector), so every rank computes the same metrics, early stopping and diagnosis.
- Files: only rank 0 claims, locks and writes the run folder; the others write nothing.
- BatchNorm: per rank on the CPU (SyncBatchNorm is CUDA-only in PyTorch), SyncBatchNorm on CUDA
  unless `train.sync_batchnorm=false`.
- The end: every rank waits (`wait_for_main`) until rank 0 has written the whole run folder, then
  all leave the process group together. A rank that tore its group down and exited while rank 0 still
  evaluated made the exit race: 2 of 8 speech runs died with SIGABRT ("terminate called without an
  active exception") and torchrun killed rank 0 before it wrote summary.json.
- A rank that crashes: torchrun stops the others; a peer that vanishes otherwise (a node lost)
  makes the waiting collectives fail after IDEALFIT_DIST_TIMEOUT seconds (default 600) instead of
  hanging for ever. Ctrl-C in any rank acts between two steps: that rank leaves (train/runtime.py), so the
  others' next collective fails at once; the run continues from its last checkpoint.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from idealfit.errors import UserError
from idealfit.train.callbacks import Callback, FitState
from idealfit.train.runtime import Runtime, deferred_interrupts, pick_device

TIMEOUT_ENV = "IDEALFIT_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 600
# The final wait, on a group of its own: rank 0 evaluates every split, fits the baselines and builds the
# report alone, which on a big data set can outlast the collectives' timeout. A rank 0 that dies meanwhile
# is stopped with the others by torchrun; one that raises still reaches the wait (session.py).
FINAL_WAIT_S = 24 * 3600


def world_size_from_env() -> int:
    """WORLD_SIZE as torchrun sets it (1 when not launched by torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise UserError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number; launch with torchrun, "
                        "which sets it") from None


def launched() -> bool:
    """True in a process that torchrun started as one of several (WORLD_SIZE > 1)."""
    return world_size_from_env() > 1


ONLY_TRAIN = "run it without torchrun: only `idealfit train` (fit.train) trains over torchrun processes"


def refuse_under_torchrun(command: str, hint: str) -> None:
    """A UserError for commands that must not run once per torchrun process."""
    if launched():
        raise UserError(f"idealfit {command} does not run under torchrun (every one of the "
                        f"{world_size_from_env()} processes would run it whole); {hint}")


def convert_batchnorm(model: torch.nn.Module, *, device: torch.device, sync: bool) -> torch.nn.Module:
    """SyncBatchNorm for every BatchNorm layer on CUDA when `sync`; otherwise the model unchanged
    (PyTorch's SyncBatchNorm runs on CUDA only, so on the CPU each rank normalizes its own part)."""
    if sync and device.type == "cuda":
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def check_model(model: torch.nn.Module) -> None:
    """Refuse a model DDP would train wrongly: pix2pix's step calls its generator and discriminator
    directly, around the DDP wrapper, so their gradients would never be averaged over ranks."""
    if getattr(model[-1] if isinstance(model, torch.nn.Sequential) else model, "discriminator", None) is not None:
        raise UserError("pix2pix trains two networks in turns, which idealfit does not spread over torchrun "
                        "processes; train it in one process (without torchrun), or set model.gan_weight=0 "
                        "for the L1-only generator")


def _timeout_seconds() -> float:
    text = os.environ.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT_S))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UserError(f"{TIMEOUT_ENV}={text!r} must be a number of seconds > 0 (default {DEFAULT_TIMEOUT_S})")
    return seconds


@dataclass
class _Share:
    """Rank r's part of the current global batch, read by the gradient hook."""

    weight: float = 1.0  # n_r / n: the weight of this rank's gradient in the sum over ranks


def _weighted_allreduce(share, bucket):  # no annotations: DDP compares them to its classes, and ours are strings
    """DDP comm hook: Σ_r (n_r / n) · g_r, the gradient of the global batch's mean loss. DDP's default
    hook, the plain mean over ranks, is that only when every rank holds as many samples.

    Args:
        share: this rank's `_Share` of the current batch. bucket: a dist.GradBucket of gradients.
    Returns: a Future of the reduced (flat) bucket.
    """
    buf = bucket.buffer().mul_(share.weight)
    return dist.all_reduce(buf, async_op=True).get_future().then(lambda f: f.value()[0])


@dataclass
class DistributedRuntime(Runtime):
    """One of `world_size` processes training one model with DistributedDataParallel."""

    local_rank: int = 0
    sync_batchnorm: bool = True
    alone: bool = False  # after the loop: rank 0 evaluates and writes with no collective
    share: _Share = field(default_factory=_Share)
    final_group: Any = None  # a gloo group with a long timeout, for `wait_for_main` only
    backend: str = "gloo"

    @classmethod
    def from_env(cls, device_name: str, *, sync_batchnorm: bool = True) -> DistributedRuntime:
        """Join the process group torchrun described in the environment (idempotent)."""
        rank, world = int(os.environ.get("RANK", "0")), world_size_from_env()
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = pick_device(device_name)
        if device.type == "mps":
            raise UserError("training under torchrun on Apple's MPS is not supported by PyTorch's process "
                            "groups; use --device cpu")
        if device.type == "cuda":
            if device.index is not None and int(os.environ.get("LOCAL_WORLD_SIZE", "1")) > 1:
                raise UserError(f"train.device={device_name} would put every process of this node on one GPU; "
                                "under torchrun each process takes the GPU of its LOCAL_RANK: use --device cuda "
                                "(or auto), and CUDA_VISIBLE_DEVICES to choose the GPUs")
            if device.index is None:  # one GPU per process on this node
                if local >= torch.cuda.device_count():
                    raise UserError(f"torchrun started {local + 1}+ processes on a node with "
                                    f"{torch.cuda.device_count()} GPU(s); use --nproc_per_node "
                                    f"{torch.cuda.device_count()} or fewer")
                device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            seconds = _timeout_seconds()
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                    timeout=dt.timedelta(seconds=seconds))
            # joined once per process and left at its exit: a script that calls fit.train again reuses the
            # group (destroying it and joining again reuses torchrun's store keys, which races in PyTorch)
            atexit.register(end_process_group)
        final = dist.new_group(backend="gloo", timeout=dt.timedelta(seconds=FINAL_WAIT_S))  # every rank calls it
        return cls(device, rank=rank, world_size=world, local_rank=local, sync_batchnorm=sync_batchnorm,
                   final_group=final, backend=str(dist.get_backend()))

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        from idealfit.train.speed import Speed

        model = convert_batchnorm(model, device=self.device, sync=self.sync_batchnorm)
        # the speed paths (train/speed.py): the layout changes before DDP lays out its gradient buckets,
        # torch.compile wraps DDP (PyTorch's recommended order: its DDPOptimizer splits graphs at buckets)
        Speed(channels_last=self.speed.channels_last).wrap(model)
        ddp = DistributedDataParallel(model, device_ids=[self.device] if self.device.type == "cuda" else None)
        ddp.register_comm_hook(self.share, _weighted_allreduce)
        return torch.compile(ddp) if self.speed.compile else ddp

    def interrupts(self):
        return deferred_interrupts()

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.alone:
            return t
        # NCCL reduces CUDA tensors only; a Meter of plain numbers builds its vector on the CPU
        moved = t.to(self.device)
        dist.all_reduce(moved)
        return moved.to(t.device)

    def shard(self, batches, *, train: bool):
        if train:
            return ShardedBatches(batches, rank=self.rank, world_size=self.world_size, share=self.share)
        return _eval_shard(batches, rank=self.rank, world_size=self.world_size)

    def agree(self, fn: Callable[[], Any]) -> Any:
        """`fn()` on rank 0, its result sent to every rank; a UserError on rank 0 is raised on all."""
        box: list[Any] = [None]
        if self.is_main:
            try:
                box[0] = ("ok", fn())
            except UserError as exc:
                box[0] = ("error", str(exc))
        dist.broadcast_object_list(box, src=0)
        kind, value = box[0]
        if kind == "error":
            raise UserError(value) if self.is_main else UserError(f"rank 0 stopped: {value}")
        return value

    def finish_alone(self, step) -> None:
        """After the loop, rank 0 evaluates the final model and writes on its own: no DDP forward (its
        buffer broadcast is a collective) and no all-reduce."""
        self.alone = True
        step.forward = step.model

    def callbacks(self, *, seed: int, augment) -> list[Callback]:
        return [RankSeeds(rank=self.rank, seed=seed, augment=augment)] if self.rank else []

    def wait_for_main(self) -> None:
        """A barrier of every rank once rank 0 has written the run folder (or failed to): no rank tears the
        process group down or exits while another still runs."""
        dist.barrier(group=self.final_group)

    def record(self) -> dict[str, Any]:
        """{"processes", "nodes", "backend"}: torchrun sets GROUP_WORLD_SIZE (its nodes) and LOCAL_WORLD_SIZE."""
        nodes = os.environ.get("GROUP_WORLD_SIZE")
        local = os.environ.get("LOCAL_WORLD_SIZE")
        if nodes is None and local:
            nodes = str(max(1, self.world_size // max(1, int(local))))
        return {"processes": self.world_size, "nodes": int(nodes) if nodes else None, "backend": self.backend}


def processes_note(record: dict[str, Any] | None) -> str:
    """"2 processes, gloo" or "4 processes on 2 nodes, nccl" for the start and time lines ("" for one)."""
    if not record:
        return ""
    nodes = record.get("nodes")
    where = f" on {nodes} nodes" if nodes and nodes > 1 else ""
    return f"{record['processes']} processes{where}, {record.get('backend', '?')}"


class RankSeeds(Callback):
    """Ranks other than 0 draw their own dropout masks and augmentations: the same seed on every rank
    would repeat one rank's draws on the others' samples. Rank 0 keeps the run's (checkpointed) streams,
    the others are re-seeded from (seed, rank, epoch) at the start of every fit, resumed ones too."""

    def __init__(self, *, rank: int, seed: int, augment):
        self.rank, self.seed, self.augment = rank, seed, augment

    def on_fit_start(self, state: FitState) -> None:
        mixed = ((self.seed * 1_000_003 + self.rank) * 1_000_003 + state.epoch) % 2**62  # manual_seed takes < 2**64
        torch.manual_seed(mixed)
        gen = getattr(self.augment, "generator", None)
        if gen is not None:
            gen.manual_seed(mixed + 1)


def split_bounds(a: int, b: int, *, rank: int, world_size: int) -> tuple[int, int]:
    """Rank `rank`'s contiguous part of [a, b): N near-equal parts, the first (b - a) % N one longer."""
    n = b - a
    base, extra = divmod(n, world_size)
    start = a + rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class ShardedBatches:
    """The training batches of one rank: each global batch of the shared shuffled order, split.

    Draws the order exactly as one process does (in memory: `TensorBatches`' generator calls; streamed
    image files: the DataLoader's own sampler), so the union over ranks of batch i is one process's
    batch i. A last global batch too small to give every rank 2 samples (batch normalization needs 2)
    joins the one before it.
    """

    def __init__(self, batches, *, rank: int, world_size: int, share: _Share | None = None):
        self.inner, self.rank, self.world_size = batches, rank, world_size
        self.share = share or _Share()
        n = batches.num_samples
        if n < 2 * world_size:
            raise UserError(f"{n} training samples cannot give each of {world_size} processes 2; "
                            "use fewer processes or more data")
        loader = getattr(batches, "loader", None)  # StreamBatches: a DataLoader over image files
        self.bounds = _fold_last(n, loader.batch_size if loader else batches.batch_size, min_size=2 * world_size)
        self.stream = None if loader is None else _rank_loader(loader, self.bounds, rank=rank, world_size=world_size)

    def __len__(self) -> int:
        return len(self.bounds)

    @property
    def num_samples(self) -> int:
        return self.inner.num_samples

    @property
    def generator(self) -> torch.Generator | None:
        return self.inner.generator

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.stream is not None:
            for (a, e), (xb, yb) in zip(self.bounds, self.stream, strict=True):
                self.share.weight = len(yb) / (e - a)
                yield xb.to(self.inner.device, non_blocking=True), yb.to(self.inner.device, non_blocking=True)
            return
        b = self.inner
        n = len(b.y)
        if b.weights is not None:  # the same draws as TensorBatches.__iter__
            order = torch.multinomial(b.weights, n, replacement=True, generator=b.generator).to(b.x.device)
        elif b.shuffle:
            order = torch.randperm(n, generator=b.generator).to(b.x.device)
        else:
            order = torch.arange(n, device=b.x.device)
        for a, e in self.bounds:
            lo, hi = split_bounds(a, e, rank=self.rank, world_size=self.world_size)
            self.share.weight = (hi - lo) / (e - a)
            idx = order[lo:hi]
            yield b.x[idx], b.y[idx]


class _RankBatchSampler(torch.utils.data.Sampler):
    """Indices of this rank's part of each global batch, from one pass of the loader's sampler (random,
    weighted or sequential: the draws of one process)."""

    def __init__(self, sampler, bounds: list[tuple[int, int]], *, rank: int, world_size: int):
        self.sampler, self.bounds, self.rank, self.world_size = sampler, bounds, rank, world_size

    def __len__(self) -> int:
        return len(self.bounds)

    def __iter__(self) -> Iterator[list[int]]:
        order = list(self.sampler)
        for a, e in self.bounds:
            lo, hi = split_bounds(a, e, rank=self.rank, world_size=self.world_size)
            yield order[lo:hi]


def _rank_loader(loader, bounds, *, rank: int, world_size: int) -> torch.utils.data.DataLoader:
    """The loader's dataset, workers and generator, batched by `_RankBatchSampler`."""
    return torch.utils.data.DataLoader(
        loader.dataset, batch_sampler=_RankBatchSampler(loader.sampler, bounds, rank=rank, world_size=world_size),
        num_workers=loader.num_workers, persistent_workers=loader.num_workers > 0,
        generator=loader.generator)  # each epoch's worker seed drawn first, as one process's loader does


def _fold_last(n: int, batch_size: int, *, min_size: int) -> list[tuple[int, int]]:
    bounds = [(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < min_size:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def _eval_shard(batches, *, rank: int, world_size: int):
    """Rank `rank`'s contiguous part of an evaluation split, batched as before; its sums are added over
    ranks. Every rank must get a sample: a rank with none would skip the all-reduce the others wait in."""
    from idealfit.data.batching import TensorBatches

    n = batches.num_samples
    if 0 < n < world_size:
        raise UserError(f"the validation split has {n} sample(s), fewer than the {world_size} processes; "
                        "raise data.val_fraction or use fewer processes")
    lo, hi = split_bounds(0, n, rank=rank, world_size=world_size)
    if hasattr(batches, "loader"):  # streamed image files: the same loader over this rank's files
        loader = batches.loader
        part = torch.utils.data.Subset(loader.dataset, range(lo, hi))
        batches.loader = torch.utils.data.DataLoader(part, batch_size=loader.batch_size, shuffle=False,
                                                     num_workers=loader.num_workers,
                                                     persistent_workers=loader.num_workers > 0)
        return batches
    return TensorBatches(batches.x[lo:hi], batches.y[lo:hi], batch_size=batches.batch_size, shuffle=False)


def runtime_for(device_name: str, *, sync_batchnorm: bool = True) -> Runtime:
    """The runtime of `idealfit train`: distributed when torchrun started several processes."""
    if launched():
        return DistributedRuntime.from_env(device_name, sync_batchnorm=sync_batchnorm)
    return Runtime.from_name(device_name)


# What gloo and NCCL say when another process of the group is gone (killed, out of memory, its machine lost)
PEER_LOST_SIGNS = ("Connection reset by peer", "Application timeout caused pair closure", "Connection closed by peer", "Broken pipe", "Connection refused",
                   "Timed out", "timed out", "Socket closed", "communicator was aborted", "failed to recv")


def peer_lost(exc: BaseException) -> str | None:
    """What says, in `exc` raised by a process of a group, that another process of it is gone: torch's own
    distributed errors (DistError: backend, network and store failures, timeouts), or the RuntimeError that gloo
    raises through DDP's gradient hook ("... gloo/transport/tcp/pair.cc:537] Read error ...: Connection reset by
    peer"). None for anything else, which keeps its traceback (our bug, or the user's data)."""
    text = str(exc)
    sign = next((s for s in PEER_LOST_SIGNS if s in text), None)
    if isinstance(exc, getattr(dist, "DistError", ())):
        return sign or type(exc).__name__
    backend = any(b in text for b in ("gloo", "NCCL", "nccl", "c10d", "ProcessGroup"))
    return sign if isinstance(exc, RuntimeError) and backend and sign else None


def lost_peer_error(run_dir, sign: str) -> UserError:
    """The one line for a process lost mid-run: what happened, and the command that continues the run (a run lost
    before its first checkpoint was removed, or starts again from its config, as any run: session.py)."""
    return UserError(f"a process of this torchrun group was lost ({sign}), so training stopped{_go_on(run_dir)}")


class GroupInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) in one process of a torchrun group: it leaves the group, so the others' collectives fail
    at once and they stop with the lost-process line; the CLI prints this message and exits 130."""


def interrupted_error(run_dir) -> GroupInterrupted:
    return GroupInterrupted(f"this process leaves its torchrun group, which stops the others{_go_on(run_dir)}")


def _go_on(run_dir) -> str:
    """How a run stopped mid-way under torchrun continues: from its last checkpoint, with torchrun again (a run
    stopped before its first checkpoint was removed, or starts again from its config, as any run: session.py)."""
    if not (Path(run_dir) / "checkpoint.pt").is_file():
        return " before its first checkpoint; start the run again with the same torchrun command"
    return (f"; {run_dir} keeps its last checkpoint: continue with "
            f"`torchrun <the same options> -m idealfit train --resume {run_dir}`")


def end_process_group() -> None:
    """Leave the process group (a no-op when none): at the exit of a process that joined it."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
