"""torchrun + DistributedDataParallel (train/distributed.py): real torchrun processes on the CPU (gloo).

The reference is the one-process run: with no BatchNorm or dropout, N processes splitting each global
batch must train the same weights (float tolerance) and write one run folder, once.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import idealfit
from idealfit.data.batching import TensorBatches
from idealfit.errors import UserError
from idealfit.train.distributed import (
    RankSeeds,
    ShardedBatches,
    _eval_shard,
    check_model,
    convert_batchnorm,
    split_bounds,
)

# digits, 301 training samples in batches of 32: the last global batch (13) splits 7 / 6 over two ranks,
# so the gradient weighting of uneven shares is exercised too
SETS = {"data.train_subset": 301, "model.dropout": 0, "model.batchnorm": False, "train.threads": "1",
        "train.early_stopping": False, "train.schedule": "constant", "train.progress": False}
ARGS = ["--data", "digits", "--model", "mlp", "--batch-size", "32", "--device", "cpu", "--no-progress",
        *[a for k, v in SETS.items() if k != "train.progress" for a in ("--set", f"{k}={v}")]]


def torchrun(cwd: Path, *args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node=N -m idealfit ...` (torchrun's module form: the venv may
    not put the script on PATH); --standalone picks a free port, so parallel tests never collide."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "idealfit", *args]
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r


def one_process(out: Path, epochs: int):
    return idealfit.train(data="digits", model="mlp", epochs=epochs, batch_size=32, device="cpu", out=out,
                          set=SETS, verbose=False)


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-5, atol=1e-6, msg=k)


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One 2-process run of 2 epochs under its default name, shared by the tests below (each torchrun
    start imports torch twice: seconds)."""
    cwd = tmp_path_factory.mktemp("ddp")
    return cwd, torchrun(cwd, "train", *ARGS, "--epochs", "2")


def test_two_processes_train_the_weights_of_one_and_write_one_folder_once(two_process_run, tmp_path):
    cwd, r = two_process_run
    folders = list((cwd / "runs").iterdir())  # the default name: a second writer would claim "...-2"
    assert len(folders) == 1, folders
    two = folders[0]
    assert r.stdout.count("run: ") == 1 and r.stdout.count("training mlp on digits") == 1, r.stdout
    assert sorted(p.name for p in two.iterdir()) == sorted(
        [".lock", "checkpoint.pt", "config.yaml", "metrics.csv", "model.safetensors", "model.txt",
         "predictions.npz", "preprocess.json", "report.html", "split.npz", "summary.json"])
    summary = json.loads((two / "summary.json").read_text())
    assert summary["epochs_run"] == 2 and summary["train_samples"] == 301
    # the processes are on record: summary.json, the start and time lines, the report's run facts
    assert summary["distributed"] == {"processes": 2, "nodes": 1, "backend": "gloo"}
    assert "on cpu (1 thread each, 2 processes, gloo)" in r.stdout.splitlines()[0], r.stdout
    assert "s on cpu (1 thread each, 2 processes, gloo)" in r.stdout, r.stdout
    assert "<dt>processes</dt><dd>2 (gloo), 1 thread each</dd>" in (two / "report.html").read_text()

    one = one_process(tmp_path / "one", epochs=2)
    assert_same_weights(one.dir, two)
    # the per-epoch metrics are sums over both ranks: the same numbers as one process's
    h2 = np.genfromtxt(two / "metrics.csv", delimiter=",", names=True)
    for col in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(h2[col], [row[col] for row in one.history], rtol=1e-5)


def test_resume_of_a_two_process_run_continues_it_exactly(two_process_run, tmp_path):
    src = next((two_process_run[0] / "runs").iterdir())
    shutil.copytree(src, tmp_path / "ddp", ignore=shutil.ignore_patterns(".lock"))
    r = torchrun(tmp_path, "train", "--resume", "ddp", "--epochs", "3", "--no-progress")
    # it had finished its 2 epochs: a new cycle of its (constant) schedule over the added one (train/extend.py)
    assert r.stdout.count("ddp had finished its 2 epochs; training 1 more (to 3) at the constant train.lr") == 1, r.stdout
    assert json.loads((tmp_path / "ddp" / "summary.json").read_text())["epochs_run"] == 3
    one = one_process(tmp_path / "one", epochs=3)  # constant schedule: 2 + 1 epochs = 3 epochs straight
    assert_same_weights(one.dir, tmp_path / "ddp")


RANK1_SEES = """
import atexit
import sys
import torch.distributed as dist
# one write per line: torchrun runs python -u, where print's separate writes of its arguments and its end
# interleave between the two ranks' processes
atexit.register(lambda: sys.stdout.write(f"group at exit: {dist.is_initialized()}\\n"))  # runs after idealfit's
import idealfit as fit
def train(out):
    return fit.train(data="digits", model="mlp", epochs=1, device="cpu", out=out, verbose=False,
                     set={"data.train_subset": 64, "train.progress": False})
run = train(sys.argv[1])
if run.summary is None:  # rank 1: what rank 0 has written by the time train() returns here
    sys.stdout.write(f"rank1 saw {sorted(p.name for p in run.dir.iterdir())}\\n")
train(sys.argv[1] + "-again")  # a second training in the same processes reuses their group
"""


def test_no_rank_leaves_before_rank_0_has_written_the_run_folder(tmp_path):
    """The exit race behind "terminate called without an active exception" (train/distributed.py): rank 1
    tore the group down and exited while rank 0 still evaluated, and torchrun then killed rank 0 before
    summary.json. Now train() returns on rank 1 only after rank 0 has written the report; 2 runs of the exit.
    A script may call fit.train again, and a process leaves the group it joined at its exit."""
    (tmp_path / "rank1_sees.py").write_text(RANK1_SEES)
    for i in range(2):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                            "rank1_sees.py", f"run{i}"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
        seen = next(line for line in r.stdout.splitlines() if line.startswith("rank1 saw"))
        assert "'summary.json'" in seen and "'report.html'" in seen, seen
        assert r.stdout.count("group at exit: False") == 2, r.stdout  # both ranks left it
        for name in (f"run{i}", f"run{i}-again"):
            assert (tmp_path / name / "summary.json").is_file(), name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_rank_killed_mid_run_does_not_hang_the_other(tmp_path):
    """Started by hand (as on two machines, with no torchrun agent to stop the survivor): rank 1 is
    killed once training runs, and rank 0 must fail instead of waiting for it for ever."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
           "WORLD_SIZE": "2", "IDEALFIT_DIST_TIMEOUT": "20", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "idealfit", "train", *ARGS, "--epochs", "500", "--out", "run"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for r in (0, 1)]
    try:
        deadline = time.monotonic() + 300  # not a speed check: only so a broken test cannot hang CI
        while not (tmp_path / "run" / "metrics.csv").exists():
            assert procs[0].poll() is None and time.monotonic() < deadline, procs[0].communicate()[1][-3000:]
            time.sleep(0.1)
        procs[1].send_signal(signal.SIGKILL)
        rc = procs[0].wait(timeout=240)
        assert rc == 2
        err = procs[0].communicate()[1].decode()
        # one line saying what happened and the command that continues, not gloo's 35-line traceback
        assert "Traceback" not in err, err[-3000:]
        lines = [line for line in err.splitlines() if line.startswith("idealfit: error: ")]
        assert len(lines) == 1 and lines[0].startswith("idealfit: error: a process of this torchrun group was lost ("), err
        assert lines[0].endswith("run keeps its last checkpoint: continue with `torchrun <the same options> -m "
                                 "idealfit train --resume run`"), lines[0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
    # the folder stays resumable: one process continues it from its last checkpoint
    done = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["epoch"]
    run = idealfit.train(resume=tmp_path / "run", epochs=done + 1, set={"train.progress": False}, verbose=False)
    assert run.summary["epochs_run"] == done + 1


def _workers(parent: int) -> dict[int, int]:
    """{RANK: pid} of the `idealfit train` processes torchrun (`parent`) started, read from /proc."""
    found = {}
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                env = dict(v.split("=", 1) for v in (d / "environ").read_text().split("\0") if "=" in v)
                if "RANK" in env and b"idealfit" in (d / "cmdline").read_bytes():
                    found[int(env["RANK"])] = int(d.name)
        except (OSError, IndexError, ValueError):  # a process that ended while we read it
            continue
    return found


@pytest.mark.parametrize("rank", [1, 0, "all"])
def test_ctrl_c_in_one_torchrun_process_stops_the_group_at_once(tmp_path, rank):
    """SIGINT to one worker (`kill -INT PID`): it used to catch it and go on alone while its peer waited in a
    collective until IDEALFIT_DIST_TIMEOUT, then a gloo traceback. Now it leaves the group, the peer's collective
    fails at once (closed connection, not the timeout set here), each prints one line, the run resumes.
    "all": a terminal's Ctrl-C (the whole process group, torchrun too, which then signals each worker again)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "IDEALFIT_DIST_TIMEOUT": "60"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "idealfit",
           "train", *ARGS, "--epochs", "500", "--out", "run"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # not a speed check: only so a broken test cannot hang CI
        while not (tmp_path / "run" / "checkpoint.pt").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
            time.sleep(0.1)
        if rank == "all":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(_workers(proc.pid)[rank], signal.SIGINT)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    err = err.decode()
    assert proc.returncode != 0
    ours = [line for line in err.splitlines() if line.startswith("idealfit: ")]
    assert "Traceback" not in "\n".join(line for line in err.splitlines() if "[rank" in line), err[-3000:]
    hint = "run keeps its last checkpoint: continue with `torchrun <the same options> -m idealfit train --resume run`"
    stopped = [line for line in ours if line.startswith("idealfit: interrupted; this process leaves its torchrun")]
    lost = [line for line in ours if line.startswith("idealfit: error: a process of this torchrun group was lost (")]
    # one line from each process: its own interrupt, or (for one that had not seen it yet) its lost peer
    assert len(ours) == 2 and len(stopped) + len(lost) == 2 and len(stopped) >= 1, err[-3000:]
    assert rank == "all" or len(stopped) == 1, ours
    assert all(line.endswith(hint) for line in ours), ours
    assert not any("timeout" in line.lower() or "timed out" in line.lower() for line in lost), lost  # not at 60 s
    done = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["epoch"]
    run = idealfit.train(resume=tmp_path / "run", epochs=done + 1, set={"train.progress": False}, verbose=False)
    assert run.summary["epochs_run"] == done + 1 and not run.summary["interrupted"]


def _batches(n=23, bs=8, **kw):
    x = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    return lambda: TensorBatches(x, torch.arange(n), batch_size=bs, generator=torch.Generator().manual_seed(3), **kw)


@pytest.mark.parametrize("kw", [{}, {"shuffle": False}, {"weights": torch.rand(23) + 0.1}])
def test_the_ranks_shards_make_up_one_process_batches(kw):
    """Same seed, same order: batch i of one process is the union, in rank order, of the ranks' batch i;
    each rank's gradient weight is its share of that batch."""
    make = _batches(**kw)
    whole = [y.tolist() for _, y in make()]
    for world in (2, 3):
        parts, weights = [], []
        for rank in range(world):
            sb = ShardedBatches(make(), rank=rank, world_size=world)
            assert len(sb) == len(whole)
            got = []
            for _, y in sb:
                got.append(y.tolist())
                weights.append(sb.share.weight)
            parts.append(got)
        assert [sum((p[i] for p in parts), []) for i in range(len(whole))] == whole
        per_batch = np.array(weights).reshape(world, -1).sum(0)
        np.testing.assert_allclose(per_batch, 1.0)


@pytest.mark.parametrize("shuffle", [True, False])
def test_streamed_image_files_are_sharded_like_in_memory_data(tmp_path, shuffle):
    """An image folder too large for memory: each rank's DataLoader reads its part of every batch of the
    order one process's loader draws (the same sampler, the same generator)."""
    from PIL import Image

    from idealfit.data.batching import StreamBatches

    paths = []
    for i in range(13):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.full((4, 4), i * 10, np.uint8)).save(paths[-1])

    def make():
        return StreamBatches(paths, np.arange(13), size=4, channels=1, resize="crop", batch_size=5, shuffle=shuffle,
                             generator=torch.Generator().manual_seed(3), device=torch.device("cpu"), workers=0)

    whole = [v for _, y in make() for v in y.tolist()]
    shards = [ShardedBatches(make(), rank=r, world_size=2) for r in range(2)]
    parts = [[(x, y) for x, y in sb] for sb in shards]
    assert shards[0].bounds == [(0, 5), (5, 13)]  # the last 3 cannot give both ranks 2: joined
    assert [v for i in range(2) for p in parts for v in p[i][1].tolist()] == whole
    x, y = parts[1][0]
    np.testing.assert_allclose(x[:, 0, 0, 0].numpy(), y.numpy() * 10 / 255, atol=1e-6)  # the right files' pixels
    val = _eval_shard(make(), rank=1, world_size=2)
    assert [v for _, y in val for v in y.tolist()] == list(range(7, 13))  # contiguous, never shuffled


def test_a_last_batch_too_small_for_every_rank_joins_the_one_before():
    sb = ShardedBatches(_batches(n=19, bs=8)(), rank=1, world_size=2)  # last batch of 3 < 2 per rank
    assert sb.bounds == [(0, 8), (8, 19)]
    assert [len(y) for _, y in sb] == [4, 5]
    with pytest.raises(UserError, match="cannot give each of 3 processes 2"):
        ShardedBatches(_batches(n=5)(), rank=0, world_size=3)


def test_split_bounds_cover_the_batch_in_near_equal_parts():
    parts = [split_bounds(10, 23, rank=r, world_size=4) for r in range(4)]
    assert parts == [(10, 14), (14, 17), (17, 20), (20, 23)]


def test_evaluation_shards_are_contiguous_and_refuse_an_empty_rank():
    b = TensorBatches(torch.zeros(5, 1), torch.arange(5), batch_size=2, shuffle=False)
    assert [y.tolist() for r in range(2) for _, y in _eval_shard(b, rank=r, world_size=2)] == [[0, 1, 2], [3, 4]]  # rank 0: 3 samples, a last batch of 1 folded
    with pytest.raises(UserError, match="validation split has 5 sample"):
        _eval_shard(b, rank=0, world_size=6)


def test_sync_batchnorm_on_cuda_only_and_only_when_asked():
    def net():
        return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))

    def kinds(m):
        return [type(x).__name__ for x in m.modules() if "BatchNorm" in type(x).__name__]

    assert kinds(convert_batchnorm(net(), device=torch.device("cuda"), sync=True)) == ["SyncBatchNorm"]
    assert kinds(convert_batchnorm(net(), device=torch.device("cuda"), sync=False)) == ["BatchNorm2d"]
    assert kinds(convert_batchnorm(net(), device=torch.device("cpu"), sync=True)) == ["BatchNorm2d"]


def test_pix2pix_is_refused_under_torchrun():
    from idealfit.config import ModelConfig
    from idealfit.models.build import build_model

    model = build_model(ModelConfig(name="pix2pix"), input_shape=(3, 16, 16), out_dim=3, norm=None)
    with pytest.raises(UserError, match="pix2pix trains two networks"):
        check_model(model)
    check_model(torch.nn.Sequential(torch.nn.Linear(2, 2)))  # an ordinary model passes


@pytest.mark.parametrize("argv, needle", [
    (["tune", "--space", "space.yaml", "--trials", "2"], "--workers N"),
    (["lr-find", "--data", "digits"], "only `idealfit train` trains over torchrun"),
])
def test_other_commands_are_refused_under_torchrun(argv, needle, monkeypatch, cli_error):
    monkeypatch.setenv("WORLD_SIZE", "2")
    cli_error(argv, f"idealfit {argv[0]} does not run under torchrun", needle)


def test_tune_api_is_refused_under_torchrun(monkeypatch, tmp_path):
    from idealfit.tune import tune

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(UserError, match="tune does not run under torchrun"):
        tune(space_file=tmp_path / "space.yaml", trials=1)


@pytest.mark.parametrize("where, name", [
    ("idealfit.lr_find:lr_find", "lr-find"),
    ("idealfit.study:regularization_study", "study regularization"),
    ("idealfit.study:capacity_study", "study capacity"),
    ("idealfit.gan_study:gan_study", "study gan"),
])
def test_the_python_apis_other_than_train_are_refused_under_torchrun(where, name, monkeypatch, tmp_path):
    import importlib

    module, func = where.split(":")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(UserError, match=f"{name} does not run under torchrun"):
        getattr(importlib.import_module(module), func)(data="digits")
    assert not any(tmp_path.iterdir())  # refused before anything is written


def test_ranks_above_0_draw_their_own_dropout_and_augmentation_streams():
    from types import SimpleNamespace

    from idealfit.train.callbacks import FitState

    def draws(rank, epoch):
        torch.manual_seed(0)  # every rank starts from the run's seed
        aug = SimpleNamespace(generator=torch.Generator().manual_seed(1))
        RankSeeds(rank=rank, seed=0, augment=aug).on_fit_start(FitState(step=None, epochs=3, epoch=epoch))
        return torch.rand(4).tolist(), torch.rand(4, generator=aug.generator).tolist()

    assert draws(1, 0) == draws(1, 0)  # reproducible, also after a resume at the same epoch
    assert draws(1, 0) != draws(2, 0) and draws(1, 0) != draws(1, 1)
    torch.manual_seed(0)
    assert draws(1, 0)[0] != torch.rand(4).tolist()  # not rank 0's stream


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_bad_timeout_is_one_line(value, monkeypatch):
    from idealfit.train.distributed import _timeout_seconds

    monkeypatch.setenv("IDEALFIT_DIST_TIMEOUT", value)
    with pytest.raises(UserError, match="must be a number of seconds > 0"):
        _timeout_seconds()


def test_the_processes_note_names_count_nodes_and_backend():
    from idealfit.train.distributed import processes_note
    from idealfit.train.summary_text import threads_note as _threads_note

    assert processes_note(None) == ""
    assert processes_note({"processes": 2, "nodes": 1, "backend": "gloo"}) == "2 processes, gloo"
    assert _threads_note("cuda:0", None, {"processes": 8, "nodes": 2, "backend": "nccl"}) == \
        " (8 processes on 2 nodes, nccl)"
    assert _threads_note("cpu", 2) == " (2 threads)"
