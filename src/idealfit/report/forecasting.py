"""Figures of a forecasting run: the series with the test period's truth and forecasts (the model's and the
linear AR baseline's), and the test error per horizon step beside the baselines'."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FORECAST = "forecast.png"
STEPS = "forecast_steps.png"
HISTORY_SHOWN = 3  # history before the test period: this many times the test period's length


def write_figures(run_dir: Path, prep, predictions: dict[str, np.ndarray]) -> None:
    """forecast.png and forecast_steps.png, added to the report's "Forecasts" section."""
    from idealfit.report.figures import save_png
    from idealfit.report.html import add_extra
    from idealfit.tasks.forecasting import baseline_forecasts, scores

    ds, test = prep.dataset, prep.indices["test"]
    info = ds.meta["series"]
    if not len(test):
        return
    base = {k: v["test"] for k, v in baseline_forecasts(ds, prep.indices).items()}
    naive = prep.state["target"]["naive_mae"]
    y_true, y_pred = predictions["y_true"], predictions["y_pred"]
    import matplotlib.pyplot as plt

    for fig, name in ((_forecast_figure(ds, test, y_pred, base["ar"]), FORECAST),):
        save_png(fig, run_dir / name)
        plt.close(fig)
    steps = {"model": scores(y_true, y_pred, naive_mae=naive)["mae_per_step"]}
    steps.update({k: scores(y_true, v, naive_mae=naive)["mae_per_step"] for k, v in base.items()})
    fig = _steps_figure(steps)
    save_png(fig, run_dir / STEPS)
    plt.close(fig)
    h = info["horizon"]
    add_extra(run_dir, section="Forecasts", path=FORECAST,
              caption=f"test period: truth, the model's and the linear AR baseline's forecasts {_ahead(1)}"
                      + (f" and {_ahead(h)}" if h > 1 else "") + f" (target {info['target']})")
    add_extra(run_dir, section="Forecasts", path=STEPS,
              caption="test MAE per horizon step: the model beside the "
                      + ("naive, seasonal naive" if "seasonal_naive" in base else "naive") + " and AR baselines")


def _ahead(h: int) -> str:
    return f"{h} step{'s' if h > 1 else ''} ahead"


def _forecast_figure(ds, test: np.ndarray, y_pred: np.ndarray, ar: np.ndarray):
    import matplotlib.pyplot as plt

    from idealfit.data.series import time_labels

    info = ds.meta["series"]
    w, h = info["window"], info["horizon"]
    series = ds.values[:, 0]
    first = test + w  # each test sample's first target step
    start = max(0, int(first[0]) - HISTORY_SHOWN * (len(series) - int(first[0])))
    fig, ax = plt.subplots(figsize=(9, 3.4))
    t = np.arange(start, len(series))
    ax.plot(t, series[start:], color="0.65", lw=1, label="history and truth")
    ax.axvline(first[0] - 0.5, color="0.3", ls=":", lw=1)
    for k, style in ((0, "-"), (h - 1, "--")) if h > 1 else ((0, "-"),):
        ax.plot(first + k, y_pred[:, k], style, color="tab:blue", lw=1.3, label=f"model, {_ahead(k + 1)}")
        ax.plot(first + k, ar[:, k], style, color="tab:orange", lw=1, label=f"linear AR, {_ahead(k + 1)}")
    ticks = np.linspace(start, len(series) - 1, 6).round().astype(int)
    ax.set_xticks(ticks, time_labels(info, ticks), fontsize=8)
    ax.set_ylabel(info["target"])
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    fig.tight_layout()
    return fig


def _steps_figure(steps: dict[str, list[float]]):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    names = list(steps)
    horizon = len(steps["model"])
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        ax.bar(np.arange(1, horizon + 1) + (i - (len(names) - 1) / 2) * width, steps[name], width, label=name)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("test MAE")
    ax.set_xticks(np.arange(1, horizon + 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
