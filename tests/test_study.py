"""The regularization and capacity studies, and the `study` / `augment` commands, on tiny settings."""

import argparse
import json

import numpy as np
import pytest
import yaml
from PIL import Image

from idealfit import study_commands
from idealfit.errors import UserError
from idealfit.study import (
    CAPACITY_SUBSET,
    REMEDIES,
    capacity_study,
    describe_test_change,
    gap_closed,
    gap_words,
    mean_std,
    regularization_study,
    regularization_variants,
)
from idealfit.study_report import ONE_SEED_NOTE, StudyResult, table_note

TINY = {"model.widths": [4], "model.hidden": [8]}  # every variant: a few hundred weights
VARIANTS = ["baseline", "early_stopping", "l1", "augmentation", "dropout", "batchnorm", "all"]
ROW_FIELDS = {"variant", "description", "settings", "train_accuracy", "val_accuracy", "test_accuracy", "gap",
              "verdict", "epochs", "seconds", "params", "per_seed"}


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    lines = []
    res = regularization_study(subset=60, epochs=2, set=TINY, out=tmp_path_factory.mktemp("s") / "reg",
                               progress=lines.append)
    return res, lines


@pytest.fixture(scope="module")
def cap(tmp_path_factory):
    return capacity_study(sizes=[[2], [16]], seeds=(0, 1), epochs=3, subset=60,
                          out=tmp_path_factory.mktemp("c") / "cap", progress=None)


def _config(res, name, seed=0):
    return yaml.safe_load((res.dir / f"{name}-seed{seed}" / "config.yaml").read_text())


def test_regularization_study_writes_one_row_per_variant(reg):
    res, lines = reg
    data = json.loads((res.dir / "study.json").read_text())
    assert [r["variant"] for r in data["rows"]] == VARIANTS == [r["variant"] for r in res.rows]
    assert data["metric"] == "accuracy" and data["seeds"] == [0] and data["skipped"] == []
    for row in data["rows"]:
        assert ROW_FIELDS <= set(row)
        (rec,) = row["per_seed"]
        for key in ("train_accuracy", "val_accuracy", "test_accuracy", "gap", "epochs", "seconds"):
            assert row[key] == {"mean": pytest.approx(rec[key]), "std": 0.0}
        assert rec["gap"] == pytest.approx(rec["train_accuracy"] - rec["test_accuracy"])
        run_ev = json.loads((res.dir / rec["run_dir"] / "summary.json").read_text())["diagnosis"]["evidence"]
        assert rec["val_loss_rise"] == pytest.approx(100 * run_ev["val_loss_rise_rel"])  # beside the verdict
        assert rec["val_vs_train"] == pytest.approx(100 * run_ev["metric_gap"])
        assert row["verdict"] == rec["verdict"] in ("underfitting", "good fit", "overfitting")
        assert (res.dir / rec["run_dir"] / "summary.json").is_file()
    assert len(lines) == len(VARIANTS) and lines[0].startswith("[1/7] baseline")


def test_each_variant_trains_with_its_remedy_and_only_it(reg):
    res, _ = reg
    base = _config(res, "baseline")
    assert base["train"]["early_stopping"] is False and base["model"]["batchnorm"] is False
    assert base["model"]["dropout"] == 0 and base["train"]["l1"] == 0 and base["data"]["augment"] == []
    assert base["data"]["train_subset"] == 60 and base["model"]["widths"] == [4]  # subset and `set` reach every run
    assert _config(res, "dropout")["model"]["dropout"] == 0.5
    assert _config(res, "l1")["train"]["l1"] == REMEDIES["l1"][1]["train.l1"]
    assert _config(res, "batchnorm")["model"]["batchnorm"] is True
    assert _config(res, "early_stopping")["train"]["early_stopping"] is True
    assert _config(res, "augmentation")["data"]["augment"][0] == {"name": "crop", "padding": 1}
    both = _config(res, "all")
    assert both["model"]["dropout"] == 0.5 and both["model"]["batchnorm"] and both["train"]["early_stopping"]
    assert both["train"]["l1"] > 0 and len(both["data"]["augment"]) == 3
    only_dropout = {k: v for k, v in _config(res, "dropout")["model"].items() if k != "dropout"}
    assert only_dropout == {k: v for k, v in base["model"].items() if k != "dropout"}


def test_regularization_report_is_self_contained(reg):
    res, _ = reg
    html = (res.dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "<table>" in html
    assert all(f"<th>{v}</th>" in html for v in VARIANTS)
    assert [p.name for p in res.figures] == ["curves.png", "gap.png"] and all(p.is_file() for p in res.figures)


def test_table_has_one_line_per_variant(reg):
    res, _ = reg
    lines = res.table().splitlines()
    assert lines[0].split()[:3] == ["variant", "train", "accuracy"] and set(lines[1]) <= {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == VARIANTS
    assert len({len(line) for line in lines[1:]}) == 1  # aligned columns


def test_one_seed_shows_no_spread_and_says_why(reg, cap):
    res, _ = reg  # one seed: a std of 0.0 is no measurement, so no "± 0.0"
    assert "±" not in res.table()
    assert table_note(res) == ONE_SEED_NOTE and "one seed" in ONE_SEED_NOTE
    html = res.report.read_text()
    assert "Results (one seed)" in html and ONE_SEED_NOTE in html
    assert "± 0.0" not in html
    # two seeds: mean ± std, and no note
    assert "±" in cap.table().splitlines()[2] and table_note(cap) is None
    assert "Results (mean ± std over seeds)" in cap.report.read_text()


def test_mean_std_is_the_sample_std():
    values = [0.9, 0.8, 0.95]
    assert mean_std(values) == {"mean": pytest.approx(np.mean(values)), "std": pytest.approx(np.std(values, ddof=1))}
    assert mean_std([0.7]) == {"mean": 0.7, "std": 0.0}


def test_capacity_rows_are_mean_and_std_of_their_seeds(cap):
    assert [r["variant"] for r in cap.rows] == ["mlp-2", "mlp-16"]
    for row in cap.rows:
        assert [p["seed"] for p in row["per_seed"]] == [0, 1]
        for split in ("train", "val", "test"):
            acc = [p[f"{split}_accuracy"] for p in row["per_seed"]]
            assert row[f"{split}_accuracy"]["mean"] == pytest.approx(np.mean(acc))
            assert row[f"{split}_accuracy"]["std"] == pytest.approx(np.std(acc, ddof=1))
            assert row[f"{split}_error"]["mean"] == pytest.approx(1 - np.mean(acc))
            assert row[f"{split}_error"]["std"] == pytest.approx(np.std(acc, ddof=1))
    # params of an MLP 64 -> h -> 10: 64h + h + 10h + 10
    assert [r["params"] for r in cap.rows] == [75 * 2 + 10, 75 * 16 + 10]


def test_capacity_best_is_the_lowest_validation_error(cap):
    errors = [r["val_error"]["mean"] for r in cap.rows]
    assert cap.best == cap.rows[int(np.argmin(errors))]["variant"]
    data = json.loads((cap.dir / "study.json").read_text())
    assert data["best"] == cap.best and data["study"] == "capacity"
    assert (cap.dir / "capacity.png").read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64," in (cap.dir / "report.html").read_text()
    starred = [line.split()[0] for line in cap.table().splitlines()[2:] if line.split()[0].endswith("*")]
    assert starred == [cap.best + "*"]


def test_gap_closed_on_constructed_rows():
    def row(name, train, test):
        return {"variant": name, "test_accuracy": {"mean": test, "std": 0.0}, "gap": {"mean": train - test}}

    closed = gap_closed([row("baseline", 1.0, 0.9), row("l1", 1.0, 0.9), row("all", 0.99, 0.96)])
    assert closed == pytest.approx({"baseline_gap": 0.1, "all_gap": 0.03, "share": 0.7, "test_gain": 0.06,
                                    "baseline_test": 0.9, "all_test": 0.96})
    assert describe_test_change(closed, "accuracy") == "test accuracy 0.9 -> 0.96 (better by 0.06)"


def test_an_error_metric_reads_its_gap_test_minus_train_and_its_fall_as_a_gain(tmp_path):
    # the newcomer's diabetes study: rmse 71.45 -> 62.48 was printed "test rmse +8.969", as if it rose
    def row(name, train, test, rise):
        stat = {"mean": test, "std": 0.0}
        return {"variant": name, "train_rmse": {"mean": train, "std": 0.0}, "val_rmse": stat, "test_rmse": stat,
                "gap": {"mean": test - train, "std": 0.0}, "val_loss_rise": {"mean": rise, "std": 0.0},
                "val_vs_train": {"mean": 58.0 / train, "std": 0.0},
                "sparsity": {"mean": 2.2, "std": 0.0}, "verdict": "overfitting" if rise > 10 else "good fit",
                "epochs": {"mean": 30, "std": 0.0}, "seconds": {"mean": 1.0, "std": 0.0}, "per_seed": [{"seed": 0}]}

    rows = [row("baseline", 11.37, 71.45, 22.0), row("dropout", 52.45, 61.08, 14.0), row("all", 48.07, 62.48, 0.0)]
    closed = gap_closed(rows)
    assert closed["test_gain"] == pytest.approx(71.45 - 62.48)
    assert describe_test_change(closed, "rmse") == "test rmse 71.45 -> 62.48 (better by 8.97)"
    assert gap_words("rmse") == "test − train" and gap_words("accuracy") == "train − test"
    lines = StudyResult("regularization", rows, tmp_path, metric="rmse").table().splitlines()
    assert "gap (test−train)" in lines[0] and "val loss rise %  val/train  verdict" in lines[0]
    assert lines[3].split()[-5:-2] == ["14.0", "1.106", "overfitting"]  # the verdict beside what it rests on
    assert lines[4].split()[-6:-3] == ["0.0", "1.207", "good"]


def test_variants_follow_the_data_kind():
    table = regularization_variants(kind="table", subset=0.5, epochs=3)
    assert [v[0] for v in table] == [v for v in VARIANTS if v != "augmentation"]
    assert all(v[2]["model.name"] == "mlp" for v in table) and table[-1][2]["data.augment"] == []
    image = regularization_variants(kind="image", set={"model.dropout": 0.2, "train.lr": 0.01})
    assert image[0][2]["model.dropout"] == 0.2 and image[0][2]["model.name"] == "cnn"
    assert {v[0]: v[2]["model.dropout"] for v in image}["dropout"] == 0.5  # the remedy still wins
    assert all(v[2]["train.lr"] == 0.01 for v in image)


def test_user_errors_stop_before_any_work(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(UserError, match="already holds files"):
        regularization_study(out=tmp_path / "full", progress=None)
    with pytest.raises(UserError, match="did you mean 'digits'"):
        regularization_study(data="digitz", out=tmp_path / "a", progress=None)
    with pytest.raises(UserError, match="seeds"):
        capacity_study(seeds=(), out=tmp_path / "b", progress=None)
    with pytest.raises(UserError, match=r"seeds=range\(3\)"):
        capacity_study(seeds=3, out=tmp_path / "b", progress=None)
    with pytest.raises(UserError, match="data.train_subset"):
        capacity_study(subset=-1, out=tmp_path / "c", progress=None)
    with pytest.raises(UserError, match="did you mean model.dropout"):
        regularization_study(set={"model.dropot": 0.1}, out=tmp_path / "d", progress=None)
    with pytest.raises(UserError, match="fewer than the 10 classes"):
        capacity_study(subset=5, out=tmp_path / "e", progress=None)  # found by the first run: folder removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


# --- the commands ------------------------------------------------------------------------------------------


def _parse(argv):
    parser = argparse.ArgumentParser(prog="idealfit")
    study_commands.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def _fake_result(tmp_path, kind):
    def row(name, train, test):
        stat = {"mean": test, "std": 0.0}
        return {"variant": name, "params": 10, "train_accuracy": {"mean": train, "std": 0.0}, "val_accuracy": stat,
                "test_accuracy": stat, "train_error": stat, "val_error": stat, "test_error": stat,
                "gap": {"mean": train - test, "std": 0.0}, "verdict": "good fit", "epochs": stat, "seconds": stat,
                "per_seed": [{"seed": 0}]}

    rows = [row("baseline", 1.0, 0.9), row("all", 1.0, 0.95)]
    return StudyResult(kind, rows, tmp_path, best="all", figures=[tmp_path / "f.png"], report=tmp_path / "r.html")


def test_study_commands_pass_their_options(tmp_path, monkeypatch, capsys):
    seen = {}

    def fake(kind):
        def run(**kw):
            seen[kind] = kw
            return _fake_result(tmp_path, kind)
        return run

    monkeypatch.setattr("idealfit.study.regularization_study", fake("regularization"))
    monkeypatch.setattr("idealfit.study.capacity_study", fake("capacity"))
    args = _parse(["study", "regularization", "--data", "xo", "--subset", "50", "--seeds", "3", "--epochs", "7",
                   "--out", "d", "--set", "model.pool=max"])
    assert args.func(args) == 0
    assert seen["regularization"] == {"data": "xo", "subset": 50.0, "seeds": (0, 1, 2), "epochs": 7, "out": "d",
                                      "set": {"model.pool": "max"}}
    out = capsys.readouterr().out
    assert "baseline" in out and "50% of the baseline's train-test gap" in out
    assert "± 0.0" not in out and f"({ONE_SEED_NOTE})" in out  # the (fake) result has one seed
    args = _parse(["study", "capacity", "--seeds", "2"])
    assert args.func(args) == 0
    assert seen["capacity"]["seeds"] == (0, 1) and seen["capacity"]["data"] == "digits"
    assert seen["capacity"]["set"] == {} and seen["capacity"]["subset"] == CAPACITY_SUBSET
    assert "best (lowest validation error): all" in capsys.readouterr().out


def test_study_command_rejects_bad_input(tmp_path):
    with pytest.raises(SystemExit) as exc:
        _parse(["study", "regularization", "--subset", "many"])
    assert exc.value.code == 2
    args = _parse(["study", "capacity", "--seeds", "0"])
    with pytest.raises(UserError, match="--seeds must be at least 1"):
        args.func(args)
    args = _parse(["study", "regularization", "--data", "nosuch", "--out", str(tmp_path / "x")])
    with pytest.raises(UserError) as err:
        args.func(args)
    assert "no dataset or path named 'nosuch'" in str(err.value) and "\n" not in str(err.value)


def test_augment_command_draws_the_requested_grid(tmp_path, capsys):
    out = tmp_path / "grid.png"
    args = _parse(["augment", "--data", "digits", "--out", str(out), "--n", "3", "--augment", "flip",
                   "{name: crop, padding: 1}"])
    assert args.func(args) == 0
    assert "3 samples of digits, original then flip, crop" in capsys.readouterr().out
    # preview_figure: 1.6 in per column (original + 2), 1.6 in per row + 0.3, at 100 dpi
    assert Image.open(out).size == (480, 510)


def test_augment_command_rejects_non_images_and_typos(tmp_path):
    for argv, message in ((["--data", "diabetes"], "holds table data"),
                          (["--data", "mnist1d"], "holds signal data"),
                          (["--augment", "flipp"], "did you mean 'flip'"),
                          (["--augment", "{name: crop"], "not valid YAML")):
        args = _parse(["augment", "--out", str(tmp_path / "g.png"), *argv])
        with pytest.raises(UserError, match=message) as err:
            args.func(args)
        assert "\n" not in str(err.value)
    assert not (tmp_path / "g.png").exists()


def test_preview_samples_rescales_signed_pixels():
    x, _ = study_commands.preview_samples("xo", 4)  # the deck's ±1 X/O images
    assert tuple(x.shape) == (4, 1, 5, 5) and float(x.min()) == 0.0 and float(x.max()) == 1.0


def test_study_commands_are_mounted_on_the_cli_and_bad_input_exits_2(tmp_path, capsys):
    from idealfit.cli import main

    assert main(["augment", "--data", "diabetes", "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("idealfit: error:") and not (tmp_path / "g.png").exists()
    assert main(["study", "regularization", "--data", "digitz", "--out", str(tmp_path / "s")]) == 2
    assert "did you mean 'digits'" in capsys.readouterr().err
    assert main(["augment", "--data", "digits", "--out", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 1000


@pytest.mark.parametrize("study", ["regularization", "capacity"])
@pytest.mark.parametrize("epochs", ["0", "-3"])
def test_study_epochs_zero_or_negative_is_refused_not_the_default(cli_error, tmp_path, monkeypatch, study, epochs):
    monkeypatch.chdir(tmp_path)  # the default runs/ would land here
    cli_error(["study", study, "--epochs", epochs, "--out", str(tmp_path / "s")],
              f"--epochs must be at least 1; got {epochs}")
    assert not (tmp_path / "s").exists() and not (tmp_path / "runs").exists()
