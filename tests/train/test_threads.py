"""train.threads: a number is used as given; auto measures, is recorded, and leaves the caller's setting."""

import pytest
import torch
import yaml

import idealfit as fit
from idealfit.config import resolve
from idealfit.errors import UserError
from idealfit.train.threads import choose_threads, num_threads, pick

QUICK = {"train.progress": False}


def test_pick_prefers_fewer_threads_unless_clearly_faster():
    assert pick({1: 1.0, 2: 0.5}) == 2
    assert pick({1: 1.0, 2: 0.95}) == 1  # within 10%: one thread leaves a core free
    assert pick({1: 0.01, 2: 0.3}) == 1  # beside a busy process
    assert pick({1: 1.0, 4: 0.6, 8: 0.58}) == 4


def test_a_number_is_used_as_given_and_auto_respects_the_callers_cap():
    model = torch.nn.Linear(3, 2)
    assert choose_threads("3", model=model, input_shape=(3,), batch_size=8, device=torch.device("cpu")) == 3
    with num_threads(1):  # e.g. OMP_NUM_THREADS=1: auto never goes above it, and needs no probe
        assert choose_threads("auto", model=model, input_shape=(3,), batch_size=8, device=torch.device("cpu")) == 1


def test_the_probe_leaves_the_model_and_rng_alone():
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with num_threads(2):
        n = choose_threads("auto", model=model, input_shape=(4,), batch_size=1, device=torch.device("cpu"))
    assert n in (1, 2)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("value", ["0", "abc", "2.5", "5000"])
def test_bad_thread_counts_are_refused(value):
    with pytest.raises(UserError, match="train.threads must be auto or a whole number"):
        resolve(overrides={"train.threads": value})


def test_auto_is_recorded_used_on_resume_and_restored_afterwards(tmp_path):
    out = tmp_path / "r"
    before = torch.get_num_threads()
    run = fit.train(data="xo", epochs=1, out=out, set=QUICK, verbose=False)
    assert torch.get_num_threads() == before
    recorded = yaml.safe_load((out / "config.yaml").read_text())["train"]["threads"]
    assert recorded.isdigit() and int(recorded) == run.summary["threads"] <= max(1, before)
    run = fit.train(data="xo", epochs=1, out=tmp_path / "one", set={**QUICK, "train.threads": 1}, verbose=False)
    assert run.summary["threads"] == 1
    again = fit.train(resume=tmp_path / "one", epochs=2, set=QUICK, verbose=False)
    assert again.summary["threads"] == 1 and torch.get_num_threads() == before


def test_a_recurrent_model_needs_more_threads_to_win_clearly(monkeypatch):
    """Its time steps make many small thread synchronizations: 2 threads must be 1.5x faster, not 1.1x."""
    import importlib

    threads = importlib.import_module("idealfit.train.threads")  # idealfit.train is also the function fit.train

    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "_probe", lambda *a: {1: 1.0, 2: 0.75})  # 2 threads 1.33x faster
    cpu = torch.device("cpu")
    dense = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(40, 4))
    gru = torch.nn.GRU(1, 8)  # only its type is read: the probe's times are given
    assert choose_threads("auto", model=dense, input_shape=(1, 40), batch_size=8, device=cpu) == 2
    assert choose_threads("auto", model=gru, input_shape=(1, 40), batch_size=8, device=cpu) == 1
    assert pick({1: 1.0, 2: 0.6}, tolerance=threads.RECURRENT_TOLERANCE) == 2  # still taken when clearly faster


class _Recorder(torch.nn.Module):
    """A linear layer that records the batch size of every forward pass."""

    def __init__(self):
        super().__init__()
        self.lin, self.seen = torch.nn.Linear(4, 2), []

    def forward(self, x):
        self.seen.append(len(x))
        return self.lin(x)


def test_a_big_models_probe_times_a_cut_batch_after_one_full_warm_up_step(monkeypatch):
    import importlib

    threads = importlib.import_module("idealfit.train.threads")
    model = _Recorder()
    monkeypatch.setattr(threads.copy, "deepcopy", lambda m: m)  # see the probe's own passes
    monkeypatch.setattr(threads, "BIG_STEP", 0.0)  # every step counts as big
    times = threads._probe(model, (4,), 64, [1, 2])
    assert set(times) == {1, 2} and all(t > 0 for t in times.values())
    assert model.seen[0] == 64 and set(model.seen[1:]) == {2}  # the warm-up on the run's batch, then 2 samples
    model.seen.clear()
    monkeypatch.setattr(threads, "BIG_STEP", 1e9)  # a small model: the whole batch throughout
    threads._probe(model, (4,), 64, [1, 2])
    assert set(model.seen) == {64}


def test_the_start_line_says_when_auto_chose_the_count(tmp_path, capsys):
    from idealfit.cli import main

    assert main(["train", "--data", "xo", "--epochs", "1", "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    start = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("training "))
    n = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())["train"]["threads"]
    assert f"on cpu ({n} thread{'s' if int(n) > 1 else ''}, chosen by train.threads=auto)" in start
    assert main(["train", "--data", "xo", "--epochs", "1", "--out", str(tmp_path / "b"), "--no-progress",
                 "--set", "train.threads=1"]) == 0
    start = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("training "))
    assert "on cpu (1 thread)," in start  # set by the user: nothing was chosen
    assert main(["train", "--resume", str(tmp_path / "a"), "--epochs", "2", "--no-progress"]) == 0
    assert "chosen by" not in capsys.readouterr().out  # a resume continues on the recorded count
