"""The seam a GAN needs: a step with two named optimizers and schedules trains through the same loop,
and a checkpoint taken mid-way resumes to exactly the uninterrupted result."""

import torch
from torch import nn

from idealfit.data.batching import TensorBatches
from idealfit.tasks import get_task
from idealfit.train.callbacks import FitState
from idealfit.train.checkpoint import load_checkpoint
from idealfit.train.loop import fit
from idealfit.train.session import Checkpointer
from idealfit.train.step import SupervisedStep


class TwoNetStep(SupervisedStep):
    """Two networks updated in turns, each by its own optimizer and schedule (as a GAN's D then G)."""

    def train(self, batch):
        xb, yb = batch
        stats = None
        for name in ("first", "second"):
            opt = self.optimizers[name]
            out = self.model(xb)
            loss = self.task.loss(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self.schedulers[name].step()
            stats = self.task.stats(out.detach(), yb, loss)
        return stats


def _make(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.Linear(8, 1))
    opts = {"first": torch.optim.Adam(model[0].parameters(), lr=1e-2),
            "second": torch.optim.SGD(model[1].parameters(), lr=1e-2, momentum=0.9)}
    scheds = {k: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5) for k, o in opts.items()}
    return TwoNetStep(model, opts, scheds, task=get_task("regression"))


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g)
    return TensorBatches(x, x.sum(1), batch_size=8, shuffle=False), TensorBatches(x, x.sum(1), batch_size=40, shuffle=False)


def test_two_named_optimizers_log_their_rates_and_resume_exactly(tmp_path):
    train, val = _data()
    straight = FitState(_make(), epochs=4)
    fit(straight, train, val, task=get_task("regression"), progress=False)
    assert {"lr_first", "lr_second"} <= set(straight.history[-1]) and "lr" not in straight.history[-1]

    first = FitState(_make(), epochs=2)
    fit(first, train, val, task=get_task("regression"), progress=False,
        callbacks=[Checkpointer(tmp_path, generator=torch.Generator(), early=None)])
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert set(ckpt["optimizers"]) == set(ckpt["schedulers"]) == {"first", "second"}
    resumed = FitState(_make(seed=99), epochs=4)  # other initial weights: everything must come from the file
    resumed.step.load_state_dict(ckpt)
    resumed.epoch, resumed.history = ckpt["epoch"], ckpt["history"]
    fit(resumed, train, val, task=get_task("regression"), progress=False)
    for a, b in zip(straight.step.model.parameters(), resumed.step.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-7)
    assert [r["lr_second"] for r in resumed.history] == [r["lr_second"] for r in straight.history]
