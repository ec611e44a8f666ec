"""The table defaults' budget in optimizer steps (config.table_budget): a small table trains for as many
steps as a larger one, recorded in config.yaml, and never over epochs or patience the user set."""

import math

import numpy as np
import pytest
import yaml

import idealfit as fit
from idealfit.config import TABLE_DEFAULTS, TABLE_MIN_STEPS, TABLE_PATIENCE_STEPS, RunConfig, table_budget
from idealfit.train.callbacks import Callback


class StopAfterOne(Callback):
    """Ends the run after its first epoch, noting the epoch bound the loop trained under."""

    def on_epoch_end(self, state):
        self.epochs = state.epochs
        state.stop = True


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = [f"{a:.4f},{b:.4f},{c:.4f},{'yes' if a + b > 0 else 'no'}" for a, b, c in x]
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,y\n" + "\n".join(rows) + "\n")
    return path


def test_table_budget_counts_steps_and_only_raises_defaulted_fields():
    cfg = RunConfig()
    cfg.train.epochs, cfg.train.patience = 200, 20
    assert table_budget(cfg, ["train.epochs", "train.patience"], steps_per_epoch=4) == {
        "train.epochs": math.ceil(TABLE_MIN_STEPS / 4), "train.patience": math.ceil(TABLE_PATIENCE_STEPS / 4)}
    assert (cfg.train.epochs, cfg.train.patience) == (math.ceil(TABLE_MIN_STEPS / 4), math.ceil(TABLE_PATIENCE_STEPS / 4))
    big = RunConfig()
    big.train.epochs, big.train.patience = 200, 20
    table_budget(big, ["train.epochs", "train.patience"], steps_per_epoch=10_000)  # a large table: 200 epochs stay
    assert (big.train.epochs, big.train.patience) == (200, 20)
    given = RunConfig()
    given.train.epochs, given.train.patience = 7, 3
    assert table_budget(given, ["train.patience"], steps_per_epoch=1) == {"train.patience": TABLE_PATIENCE_STEPS}
    assert given.train.epochs == 7  # not defaulted (the user's): kept


def test_a_small_table_trains_the_step_budget_and_records_it(table, tmp_path):
    stop = StopAfterOne()
    run = fit.train(data=str(table), target="y", out=tmp_path / "auto", callbacks=[stop], verbose=False,
                    set={"train.progress": False, "train.threads": 1})
    n_train = len(np.load(tmp_path / "auto" / "split.npz")["train"])
    steps = math.ceil(n_train / TABLE_DEFAULTS["train.batch_size"])  # 42 rows at batch 32: 2 steps per epoch
    epochs, patience = math.ceil(TABLE_MIN_STEPS / steps), math.ceil(TABLE_PATIENCE_STEPS / steps)
    assert epochs > TABLE_DEFAULTS["train.epochs"] and patience > TABLE_DEFAULTS["train.patience"]
    assert stop.epochs == run.config.train.epochs == epochs  # the loop's bound (and the schedule's length)
    assert run.config.train.patience == patience
    saved = yaml.safe_load((tmp_path / "auto" / "config.yaml").read_text())["train"]
    assert (saved["epochs"], saved["patience"]) == (epochs, patience)


def test_epochs_or_patience_the_user_sets_are_kept(table, tmp_path):
    stop = StopAfterOne()
    run = fit.train(data=str(table), target="y", epochs=50, out=tmp_path / "given", callbacks=[stop], verbose=False,
                    set={"train.progress": False, "train.threads": 1, "train.patience": 5})
    assert stop.epochs == run.config.train.epochs == 50 and run.config.train.patience == 5
    saved = yaml.safe_load((tmp_path / "given" / "config.yaml").read_text())["train"]
    assert (saved["epochs"], saved["patience"]) == (50, 5)
