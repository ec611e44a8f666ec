"""The learning-rate range test: schedule, smoothing, divergence stop, suggestion rule and the `lr-find` command."""

import argparse

import numpy as np
import pytest

from idealfit import study_commands
from idealfit.errors import UserError
from idealfit.lr_find import (
    DIVERGE,
    descent_clarity,
    format_lr,
    local_slopes,
    lr_find,
    lr_schedule,
    smooth,
    suggest_lr,
)

TINY = {"model.hidden": [16], "train.batch_size": 32}


def test_schedule_is_geometric_from_start_to_end():
    lrs = lr_schedule(1e-6, 1.0, 100)
    assert lrs[0] == pytest.approx(1e-6) and lrs[-1] == pytest.approx(1.0)
    assert np.allclose(lrs[1:] / lrs[:-1], 10 ** (6 / 99))


def test_smooth_is_the_bias_corrected_ema():
    raw = [3.0, 1.0, 2.0, 5.0]
    beta, avg, expected = 0.9, 0.0, []
    for i, v in enumerate(raw):  # by hand: EMA_i = β·EMA_{i−1} + (1−β)·l_i, divided by 1 − β^(i+1)
        avg = beta * avg + (1 - beta) * v
        expected.append(avg / (1 - beta ** (i + 1)))
    assert smooth(raw, beta=beta) == pytest.approx(expected)
    assert smooth(raw, beta=beta)[0] == 3.0  # the first value is the first loss, not 0.1 of it


def _descent_with_early_spike():
    """Flat, a sharp early spike, a smooth descent centred at step 60, then divergence after step 85."""
    lrs = lr_schedule(1e-6, 1.0, 100)
    i = np.arange(100)
    losses = 2.3 - 2.0 / (1 + np.exp(-(i - 60) / 4))  # logistic descent: steepest at i = 60
    losses[3:6] += [3.0, 6.0, 3.0]  # the spike: its fall (step 4 to 6) is steeper than the descent
    losses[86:] += 0.5 * (i[86:] - 85) ** 1.5
    return lrs, losses


def test_suggestion_skips_an_early_spike_and_picks_the_steepest_descent():
    lrs, losses = _descent_with_early_spike()
    assert suggest_lr(lrs, losses) == pytest.approx(lrs[60])
    # without the skip the spike wins: the line through its fall is steeper than the descent's
    assert suggest_lr(lrs, losses, skip=0.0) < lrs[20]
    # window=0 is the point-slope rule of before: central differences fall fastest at step 5, (l[6] − l[4]) / 2
    assert suggest_lr(lrs, losses, skip=0.0, window=0.0) == pytest.approx(lrs[5])


def test_suggestion_fits_a_line_through_noisy_minibatch_losses():
    """Few rows, batches of 32: each minibatch loss is noisy. The smoothed curve's point slope finds a dip
    of the noise; the line through a decade of losses finds the descent (steepest at step 60)."""
    lrs, i = lr_schedule(1e-6, 1.0, 100), np.arange(100)
    clean = 1.2 - 0.6 / (1 + np.exp(-(i - 60) / 6))
    near_now = near_before = 0
    for seed in range(12):
        raw = clean * np.exp(np.random.default_rng(seed).normal(0, 0.25, 100))  # 25% minibatch noise
        smoothed = smooth(list(raw))
        near_now += abs(np.searchsorted(lrs, suggest_lr(lrs, smoothed, raw=raw)) - 60) <= 12
        near_before += abs(np.searchsorted(lrs, suggest_lr(lrs, smoothed, window=0.0)) - 60) <= 12
    assert near_now >= 10 and near_before <= 6  # measured: 11 and 5 of 12


def test_local_slopes_are_least_squares_lines():
    x = np.linspace(0.0, 3.0, 31)
    y = 2.0 * x + np.sin(7 * x)
    got = local_slopes(x, y, window=1.0)
    for i in (0, 15, 30):
        near = np.abs(x - x[i]) <= 0.5 + 1e-12
        assert got[i] == pytest.approx(np.polyfit(x[near], y[near], 1)[0])


def test_suggestion_ignores_the_divergence_after_the_minimum():
    lrs = lr_schedule(1e-5, 1.0, 50)
    losses = np.r_[np.linspace(2.0, 1.0, 30), np.linspace(1.0, 1.2, 10), [40.0] * 10]  # rises, then blows up
    got = suggest_lr(lrs, losses)
    assert lrs[5] <= got <= lrs[29]


def test_suggestion_without_descent_is_a_tenth_of_the_minimum():
    lrs = lr_schedule(1e-4, 1.0, 20)
    rising = np.linspace(1.0, 3.0, 20)
    assert suggest_lr(lrs, rising) == pytest.approx(lrs[0])  # lr at the minimum / 10, clipped to the start
    lrs = lr_schedule(1e-6, 100.0, 40)  # skip = 4 points; a factor 1.6 per step
    dip_right_after_the_skip = np.r_[[1.0] * 5, [0.5], np.linspace(2.0, 3.0, 34)]
    assert suggest_lr(lrs, dip_right_after_the_skip) == pytest.approx(lrs[5] / 10)


def test_a_flat_noisy_sweep_suggests_nothing_and_a_noisy_descent_still_a_rate():
    """A forecasting run starts at its AR fit: its sweep is flat minibatch noise, and the smoothed curve's
    minimum is a dip of that noise (newcomer 3: 2.85e-05 on daily sales). No rate is read off it."""
    lrs, i = lr_schedule(1e-6, 1.0, 100), np.arange(100)
    flat = descended = 0
    for seed in range(50):
        noise = np.exp(np.random.default_rng(seed).normal(0, 0.25, 100))  # 25% minibatch noise, as there
        flat += suggest_lr(lrs, smooth(list(0.065 * noise)), raw=0.065 * noise) is None
        raw = (1.2 - 0.6 / (1 + np.exp(-(i - 60) / 6))) * noise  # the same noise over a real descent
        descended += suggest_lr(lrs, smooth(list(raw)), raw=raw) is not None
    assert flat >= 48 and descended == 50  # the rule's 3 standard errors: ~1% of pure-noise sweeps pass
    assert suggest_lr(lrs, smooth(list(noise)), raw=noise, clear=0.0) is not None  # rule off: a noise dip's rate
    assert descent_clarity(lrs, smooth(list(raw)), raw=raw) > 5 * descent_clarity(lrs, smooth(list(noise)), raw=noise)
    rising_noise = np.r_[[1.0] * 10, [0.9, 0.95], 1.0 + 0.01 * np.random.default_rng(0).normal(size=88)]
    assert suggest_lr(lrs, rising_noise) is None  # a minimum right after the skip, then flat: no fallback


def test_a_short_sweep_compares_at_least_three_steps_each_side():
    """10 steps over 6 decades: fewer than 3 per decade, so each side of the comparison takes 3 steps."""
    lrs = lr_schedule(1e-6, 1.0, 10)
    losses = np.array([2.3, 2.3, 2.3, 2.2, 1.8, 1.0, 0.5, 0.4, 0.45, 3.0])
    assert descent_clarity(lrs, losses) > 3 and lrs[3] <= suggest_lr(lrs, losses) <= lrs[7]


def test_lr_find_on_a_small_problem(tmp_path):
    res = lr_find(data="digits", model="mlp", start=1e-4, end=1.0, steps=30, set=TINY, out=tmp_path / "f.png")
    lrs = np.asarray(res.lrs)
    assert lrs[0] == pytest.approx(1e-4) and np.allclose(lrs[1:] / lrs[:-1], 10 ** (4 / 29))
    assert len(res.losses) == len(res.raw_losses) == len(lrs) and res.losses == pytest.approx(smooth(res.raw_losses))
    assert min(res.losses) < 0.7 * res.losses[0]  # the sweep trains: the loss falls before it diverges
    assert 1e-4 <= res.suggestion <= 1.0
    assert res.suggestion <= lrs[int(np.argmin(res.losses))]  # at or before the minimum, below divergence
    assert res.figure_path == tmp_path / "f.png" and res.figure_path.read_bytes()[:4] == b"\x89PNG"


def test_train_threads_pins_the_sweep_as_it_pins_training(tmp_path):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        res = lr_find(data="digits", model="mlp", start=1e-4, end=1.0, steps=6, out=tmp_path / "f.png",
                      set={**TINY, "train.threads": 1})
        assert res.threads == 1 and torch.get_num_threads() == 2  # the sweep ran on 1, then restored
        two = lr_find(data="digits", model="mlp", start=1e-4, end=1.0, steps=6, out=tmp_path / "g.png",
                      set={**TINY, "train.threads": 2})
        assert two.threads == 2
    finally:
        torch.set_num_threads(before)


def test_lr_find_stops_when_the_loss_diverges(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = lr_find(data="digits", model="mlp", start=1e-3, end=1e4, steps=60,
                  set={**TINY, "train.optimizer": "sgd", "train.momentum": 0.0, "model.batchnorm": False})
    assert res.diverged and len(res.lrs) < 60
    (png,) = (tmp_path / "runs").iterdir()  # the default place: runs/<timestamp>-digits-mlp-lr-find.png
    assert png.name.endswith("-digits-mlp-lr-find.png") and res.figure_path.resolve() == png.resolve()
    best = np.minimum.accumulate(res.losses)
    assert all(s <= DIVERGE * b for s, b in zip(res.losses[:-1], best[:-1], strict=True))
    assert res.suggestion < res.lrs[-1]


def test_lr_find_user_errors():
    with pytest.raises(UserError, match="0 < start < end"):
        lr_find(start=1.0, end=1e-3)
    with pytest.raises(UserError, match="at least 5 steps"):
        lr_find(steps=2)
    with pytest.raises(UserError, match="did you mean train.optimizer"):
        lr_find(set={"train.optimiser": "sgd"})
    with pytest.raises(UserError, match="did you mean 'digits'"):
        lr_find(data="digts")


def _parse(argv):
    parser = argparse.ArgumentParser(prog="idealfit")
    study_commands.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_lr_find_command_prints_the_suggestion(tmp_path, capsys):
    out = tmp_path / "lr.png"
    args = _parse(["lr-find", "--model", "mlp", "--set", "model.hidden=[16]", "--set", "train.batch_size=32",
                   "--steps", "20", "--start", "1e-4", "--end", "1", "--out", str(out)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    line = next(t for t in text.splitlines() if t.startswith("suggested learning rate: "))
    shown = line.split()[3]
    assert 1e-4 <= float(shown) <= 1.0 and out.is_file()
    # the command to use it keeps every --set (the sweep ran with them) and gives the very number suggested
    assert (f"idealfit train --data digits --model mlp --set 'model.hidden=[16]' --set train.batch_size=32 "
            f"--lr {shown}\n") in text
    assert "on 1 thread" in text or "on 2 threads" in text


def test_format_lr_rounds_to_the_digits_it_shows():
    assert format_lr(2.848e-3) == "0.00285" and format_lr(2.848e-5) == "2.85e-05"  # it printed 0.0028 before
    assert float(format_lr(2.848e-3)) == pytest.approx(2.848e-3, rel=2e-3)


def test_lr_find_command_on_a_flat_sweep_keeps_the_default_lr(tmp_path, capsys):
    """A forecasting run (it starts at the AR fit): the sweep is flat, so the command suggests no rate."""
    t = np.arange(300)
    sales = 50 + 10 * np.sin(2 * np.pi * t / 7) + np.random.default_rng(0).normal(0, 1, 300)
    csv = tmp_path / "daily.csv"
    csv.write_text("date,sales\n" + "".join(f"2024-01-01,{v:.3f}\n".replace("2024-01-01", str(
        np.datetime64("2024-01-01") + int(i))) for i, v in enumerate(sales)))
    args = _parse(["lr-find", "--data", str(csv), "--target", "sales", "--set", "data.task=forecasting",
                   "--set", "train.threads=1", "--steps", "40", "--out", str(tmp_path / "lr.png")])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "no clear descent" in text and "keep the default lr 0.001" in text and "(3 needed)" in text
    assert "suggested learning rate" not in text
    assert "--lr" not in text and (tmp_path / "lr.png").is_file()


def test_lr_find_command_rejects_bad_input(tmp_path):
    args = _parse(["lr-find", "--set", "train.lr", "--out", str(tmp_path / "x.png")])
    with pytest.raises(UserError, match="--set takes section.key=value"):
        args.func(args)
    args = _parse(["lr-find", "--data", "nosuch.csv", "--out", str(tmp_path / "x.png")])
    with pytest.raises(UserError, match="no dataset or path named 'nosuch.csv'"):
        args.func(args)
    with pytest.raises(SystemExit) as exc:
        _parse(["lr-find", "--steps", "ten"])
    assert exc.value.code == 2
    assert not (tmp_path / "x.png").exists()


def test_lr_find_refuses_a_learning_rate(cli_error, tmp_path, monkeypatch):
    """The sweep sets the rate itself: a train.lr would be silently ignored, so it is refused."""
    monkeypatch.chdir(tmp_path)
    cli_error(["lr-find", "--set", "train.lr=0.01", "--out", str(tmp_path / "x.png")],
              "sweeps the learning rate itself", "train.lr", "--start and --end")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "runs").exists()
    with pytest.raises(UserError, match="takes no train.lr"):
        lr_find(set={"train.lr": 0.1})


def test_a_plot_name_without_png_gets_it_and_another_format_is_refused_before_the_sweep(tmp_path, capsys, cli_error):
    from idealfit.report.figures import png_path

    args = _parse(["lr-find", "--model", "mlp", "--set", "model.hidden=[8]", "--steps", "10", "--out",
                   str(tmp_path / "lrf")])
    assert args.func(args) == 0
    assert (tmp_path / "lrf.png").is_file() and not (tmp_path / "lrf").exists()
    assert f"{tmp_path / 'lrf.png'}" in capsys.readouterr().out
    msg = cli_error(["lr-find", "--steps", "10", "--out", str(tmp_path / "lr.jpg")], "writes a PNG image", "lr.png")
    assert not (tmp_path / "lr.jpg").exists() and "sweep" not in msg
    assert png_path("runs/run.v2") == png_path("runs/run.v2.png")  # a dot in a name is no format
    cli_error(["augment", "--out", str(tmp_path / "grid.svg")], "--out", "writes a PNG image")
    (tmp_path / "plots").mkdir()
    cli_error(["augment", "--out", str(tmp_path / "plots")], "is a folder")
