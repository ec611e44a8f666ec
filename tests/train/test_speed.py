"""The speed paths (train/speed.py) on the CPU: bf16 autocast, channels_last, torch.compile.

Each option trains, predicts from its run folder and resumes; each is checked against the plain fp32
eager run it replaces (same seed), and each is shown to be in effect (not silently ignored).
"""

import json

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

import idealfit as fit
from idealfit.config import resolve
from idealfit.errors import UserError
from idealfit.models.build import build_model
from idealfit.run import load_run
from idealfit.train.callbacks import Callback
from idealfit.train.session import format_summary
from idealfit.train.speed import Speed, check_speed

# one thread: runs compared number for number must train on one count (auto may pick another beside other work)
QUICK = {"train.progress": False, "train.early_stopping": False, "model.widths": [4, 8], "model.hidden": [16],
         "train.threads": "1"}


class _CtrlCAfter(Callback):
    """Ctrl-C after `epoch` (the loop keeps what it learned and the checkpoint of that epoch)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, state):
        if state.epoch == self.epoch:
            raise KeyboardInterrupt


def _train(out, epochs=2, *, cut=None, **opts):
    return fit.train(data="xo", model="cnn", epochs=epochs, out=out, verbose=False,
                     callbacks=[_CtrlCAfter(cut)] if cut else None,
                     set={**QUICK, **{k if "." in k else f"train.{k}": v for k, v in opts.items()}})


def _nhwc(model) -> bool:
    """Whether the convolutions of more than one input channel are stored channels_last (one channel is
    both layouts at once)."""
    convs = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.shape[1] > 1]
    return bool(convs) and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)


def _probabilities(out):
    return np.load(out / "predictions.npz")["proba"]


def test_bf16_trains_close_to_fp32_and_is_in_effect(tmp_path):
    ref, half = _train(tmp_path / "fp32"), _train(tmp_path / "bf16", precision="bf16")
    losses = [r["train_loss"] for r in half.history] + [r["val_loss"] for r in half.history]
    assert all(np.isfinite(losses))
    assert losses != [r["train_loss"] for r in ref.history] + [r["val_loss"] for r in ref.history]  # in effect
    for split in ("train", "val", "test"):
        assert abs(half.summary["metrics"][split]["accuracy"] - ref.summary["metrics"][split]["accuracy"]) <= 0.05
        assert half.summary["metrics"][split]["loss"] == pytest.approx(ref.summary["metrics"][split]["loss"], abs=0.05)
    assert np.abs(_probabilities(tmp_path / "bf16") - _probabilities(tmp_path / "fp32")).max() < 0.05
    # recorded, shown, and the saved weights are plain float32 that predict reads
    assert yaml.safe_load((tmp_path / "bf16" / "config.yaml").read_text())["train"]["precision"] == "bf16"
    assert json.loads((tmp_path / "bf16" / "summary.json").read_text())["speed"]["precision"] == "bf16"
    assert "on cpu" in format_summary(half) and ", bf16" in format_summary(half)
    assert ", bf16" not in format_summary(ref)
    assert "speed paths" in (tmp_path / "bf16" / "report.html").read_text()
    assert "speed paths" not in (tmp_path / "fp32" / "report.html").read_text()
    assert {v.dtype for v in load_file(tmp_path / "bf16" / "model.safetensors").values()
            if v.is_floating_point()} == {torch.float32}
    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(4, 1, 5, 5)).astype(np.float32)
    assert np.allclose(load_run(tmp_path / "bf16").predict_array(x), half.predict_array(x), atol=1e-6)


def test_bf16_autocast_runs_the_forward_pass_in_bfloat16():
    conv = torch.nn.Conv2d(1, 2, 3)
    with Speed(precision="bf16").autocast(torch.device("cpu")):
        assert conv(torch.rand(2, 1, 5, 5)).dtype == torch.bfloat16
    with Speed().autocast(torch.device("cpu")):
        assert conv(torch.rand(2, 1, 5, 5)).dtype == torch.float32


def test_channels_last_output_equals_contiguous():
    cfg = resolve(overrides={"model.name": "cnn", "model.widths": [8, 16], "model.hidden": [16]}).model
    torch.manual_seed(0)
    model = build_model(cfg, input_shape=(3, 12, 12), out_dim=5, norm={"mean": [0.5] * 3, "std": [0.2] * 3}).eval()
    x = torch.rand(6, 3, 12, 12)
    want = model(x)
    fwd = Speed(channels_last=True).wrap(model)
    assert _nhwc(model)  # in place: the tensors the optimizer holds
    got = fwd(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(got, want, atol=1e-5)


def test_channels_last_run_trains_predicts_and_matches_the_contiguous_run(tmp_path):
    ref, cl = _train(tmp_path / "plain"), _train(tmp_path / "cl", channels_last=True)
    assert _nhwc(cl.model) and not _nhwc(ref.model)  # the trained model was NHWC
    # the same training up to float rounding (NHWC sums in another order; Adam carries the difference on)
    assert np.abs(_probabilities(tmp_path / "cl") - _probabilities(tmp_path / "plain")).max() < 1e-2
    assert ", channels_last" in format_summary(cl)
    x = np.ones((2, 1, 5, 5), np.float32)
    assert np.allclose(load_run(tmp_path / "cl").predict_array(x), ref.predict_array(x), atol=1e-3)


def test_channels_last_stores_in_memory_images_nhwc():
    from idealfit.data.batching import TensorBatches

    b = TensorBatches(torch.rand(10, 3, 4, 4), torch.zeros(10), batch_size=4)
    Speed(channels_last=True).layout(b)
    assert all(x.is_contiguous(memory_format=torch.channels_last) for x, _ in b)
    s = TensorBatches(torch.rand(10, 4), torch.zeros(10), batch_size=4)  # not images: left alone
    Speed(channels_last=True).layout(s)
    assert s.x.is_contiguous()


@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_augmentations_keep_channels_last_and_values(mode):
    from idealfit.data.augment import Augment

    x = torch.rand(6, 3, 8, 8)
    specs = ["flip", {"name": "crop", "padding": 2, "mode": mode}]
    plain = Augment(specs, generator=torch.Generator().manual_seed(0))(x)
    nhwc = Augment(specs, generator=torch.Generator().manual_seed(0))(x.contiguous(memory_format=torch.channels_last))
    assert nhwc.is_contiguous(memory_format=torch.channels_last) and plain.is_contiguous()
    assert torch.equal(nhwc, plain)


def test_augment_draws_stay_on_the_cpu_for_a_cpu_run():
    from idealfit.data.augment import Augment

    aug = Augment(["flip"], generator=torch.Generator().manual_seed(3))
    gen = aug.generator
    Speed.augment_on(aug, torch.device("cpu"))
    assert aug.generator is gen  # moved only for a GPU (where a CPU draw would cost a copy and a sync per batch)


def test_an_augmentation_state_from_another_device_is_left_out():
    from idealfit.train.speed import restore_generator

    gen = torch.Generator().manual_seed(5)
    state = torch.Generator().manual_seed(9).get_state()
    restore_generator(gen, state)
    assert torch.equal(gen.get_state(), state)
    before = gen.get_state()
    restore_generator(gen, torch.zeros(16, dtype=torch.uint8))  # a CUDA generator's state (Philox: 16 bytes)
    assert torch.equal(gen.get_state(), before)


@pytest.mark.parametrize("opts", [{"precision": "bf16"}, {"channels_last": True}])
def test_resume_with_a_speed_option_equals_the_uninterrupted_run(tmp_path, opts):
    whole = _train(tmp_path / "whole", epochs=3, **opts)
    assert _train(tmp_path / "cut", epochs=3, cut=1, **opts).summary["interrupted"]
    resumed = fit.train(resume=tmp_path / "cut", epochs=3, verbose=False)
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in whole.history]
    for k, v in load_file(tmp_path / "whole" / "model.safetensors").items():
        assert torch.equal(load_file(tmp_path / "cut" / "model.safetensors")[k], v), k


def test_compile_matches_eager_resumes_and_saves_plain_names(tmp_path):
    """torch.compile (inductor, with the C++ compiler of this machine) for real: one compiled run, cut after
    epoch 1 and resumed compiled, against the eager run of the same seed. 320 training samples in batches of
    32: one training shape, so the test pays few compilations."""
    few = {"data.train_subset": 320, "batch_size": 32}
    eager = _train(tmp_path / "eager", **few)
    assert _train(tmp_path / "compiled", cut=1, compile=True, **few).summary["interrupted"]
    compiled = fit.train(resume=tmp_path / "compiled", epochs=2, verbose=False)
    assert compiled.config.train.compile and ", compiled" in format_summary(compiled)
    # compiling is on record beside the training time, not inside it (summary, time line, metrics.csv)
    s, rows = compiled.summary, compiled.history
    assert rows[0]["compile_seconds"] > 0 and all("compile_seconds" in r for r in rows)
    assert s["compile_seconds"] == round(sum(r["compile_seconds"] for r in rows), 3)
    assert s["seconds"] == round(sum(r["seconds"] for r in rows), 3)
    assert f"s on cpu (1 thread), compiled (+ {s['compile_seconds']:.1f} s compiling)" in format_summary(compiled)
    assert "compile_seconds" in (tmp_path / "compiled" / "metrics.csv").read_text().splitlines()[0]
    assert eager.summary["compile_seconds"] is None and "compiling" not in format_summary(eager)
    assert not any("compile_seconds" in r for r in eager.history)
    weights = load_file(tmp_path / "compiled" / "model.safetensors")
    assert not any(k.startswith("_orig_mod.") for k in weights)
    assert set(weights) == set(load_file(tmp_path / "eager" / "model.safetensors"))
    # the same training up to float rounding (inductor fuses and reorders sums; Adam carries the difference on)
    assert np.abs(_probabilities(tmp_path / "compiled") - _probabilities(tmp_path / "eager")).max() < 1e-2
    x = torch.from_numpy(np.random.default_rng(0).choice([-1.0, 1.0], size=(8, 1, 5, 5)).astype(np.float32))
    model = load_run(tmp_path / "compiled").model.eval()
    with torch.no_grad():  # on the same weights, the compiled forward pass equals the eager one
        assert torch.allclose(Speed(compile=True).wrap(model)(x), model(x), atol=1e-5)


def test_resume_may_switch_a_speed_option(tmp_path):
    _train(tmp_path / "run", epochs=1)
    run = fit.train(resume=tmp_path / "run", epochs=2, set={"train.precision": "bf16"}, verbose=False)
    assert run.summary["speed"]["precision"] == "bf16" and run.summary["epochs_run"] == 2


def test_speed_options_are_refused_where_they_cannot_apply(cli_error, tmp_path):
    cli_error(["train", "--data", "diabetes", "--set", "train.channels_last=true", "--out", str(tmp_path / "a")],
              "train.channels_last", "table data", "drop train.channels_last")
    cli_error(["train", "--data", "xo", "--precision", "fp16", "--out", str(tmp_path / "b")],
              "train.precision must be one of fp32, bf16", "fp16")
    cli_error(["train", "--data", "xo", "--set", "train.compile=fast", "--out", str(tmp_path / "c")],
              "train.compile must be true or false")
    assert not any(tmp_path.iterdir())  # nothing written
    t = resolve(overrides={"train.compile": True}).train
    with pytest.raises(UserError, match="pix2pix with a discriminator.*drop train.compile"):
        check_speed(t, kind="image_pair", gan=True, device=torch.device("cpu"))
    check_speed(resolve(overrides={"train.channels_last": True}).train, kind="image_pair", gan=True,
                device=torch.device("cpu"))  # channels_last does apply to pix2pix


def test_compile_without_a_cpp_compiler_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no g++, c++ or clang++
    monkeypatch.delenv("CXX", raising=False)
    t = resolve(overrides={"train.compile": True}).train
    with pytest.raises(UserError, match="C\\+\\+ compiler.*drop train.compile"):
        check_speed(t, kind="image", gan=False, device=torch.device("cpu"))
    with pytest.raises(UserError, match="C compiler.*drop train.compile"):  # Triton builds its launchers with one
        check_speed(t, kind="image", gan=False, device=torch.device("cuda"))
