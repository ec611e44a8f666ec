"""Recurrent networks: packed == padded on the real steps, the final state against torch's own cells, every cell
trains, options are refused with one clear line, and a tiny mnist1d run end to end (predict, resume, summary)."""

import json

import numpy as np
import pytest
import torch
from torch import nn

import idealfit as fit
from idealfit.config import resolve
from idealfit.errors import UserError
from idealfit.models.build import build_model
from idealfit.models.rnn import RecurrentNet
from idealfit.models.summary import summarize

QUICK = {"train.progress": False}


def _net(cell="gru", *, layers=1, bidirectional=False, features=3, hidden=5, out=4):
    torch.manual_seed(0)
    head = [nn.Linear((2 if bidirectional else 1) * hidden, out)]
    return RecurrentNet(features, cell=cell, hidden_size=hidden, layers=layers, bidirectional=bidirectional,
                        dropout=0.0, head=head).eval()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, False), (1, True), (2, True)])
def test_packed_batch_equals_each_sequence_alone(cell, layers, bidirectional):
    """A padded batch with lengths gives, per sequence, the output of that sequence alone at its real length:
    the padding (here huge values, which would swamp any state that read them) is never learned from."""
    net = _net(cell, layers=layers, bidirectional=bidirectional)
    lengths = torch.tensor([7, 3, 5, 1])
    x = torch.full((4, 3, 7), 1e3)  # (B, C, L): padding everywhere ...
    g = torch.Generator().manual_seed(1)
    for i, n in enumerate(lengths):
        x[i, :, :n] = torch.randn(3, int(n), generator=g)  # ... but the real steps
    packed = net(x, lengths=lengths)
    alone = torch.cat([net(x[i : i + 1, :, :n]) for i, n in enumerate(lengths)])
    torch.testing.assert_close(packed, alone)
    full = net(x[:1], lengths=lengths[:1])  # a batch without padding: packing changes nothing
    torch.testing.assert_close(full, net(x[:1]))
    assert not torch.allclose(net(x), packed)  # without lengths the padding is read: the test can fail


@pytest.mark.parametrize("cell, reference", [("rnn", nn.RNNCell), ("lstm", nn.LSTMCell), ("gru", nn.GRUCell)])
def test_final_state_matches_torch_cells_stepped_by_hand(cell, reference):
    """The head sees the forward final state and the backward one (the reversed sequence's final state)."""
    net = _net(cell, bidirectional=True, hidden=4)
    x = torch.randn(2, 3, 6)
    seen = []
    net.head.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    net(x)

    def run(direction: str, seq: torch.Tensor) -> torch.Tensor:
        c = reference(3, 4)
        sfx = "_reverse" if direction == "backward" else ""
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(c, name).data.copy_(getattr(net.rnn, f"{name}_l0{sfx}"))
        h = torch.zeros(2, 4)
        state = (h, torch.zeros(2, 4)) if cell == "lstm" else h
        for t in range(seq.shape[2]):
            state = c(seq[:, :, t], state)
        return state[0] if cell == "lstm" else state

    want = torch.cat([run("forward", x), run("backward", x.flip(2))], 1)
    torch.testing.assert_close(seen[0], want.detach())


@pytest.mark.parametrize("cell, torch_type", [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)])
def test_each_cell_builds_from_the_config_and_trains_a_step(cell, torch_type):
    cfg = resolve(overrides={"model.name": "rnn", "model.cell": cell, "model.layers": "2",
                             "model.hidden_size": "8", "model.bidirectional": "true", "model.dropout": "0.1"})
    model = build_model(cfg.model, input_shape=(2, 12), out_dim=3, norm=None)
    rnn = model[0].rnn
    assert type(rnn) is torch_type and rnn.num_layers == 2 and rnn.hidden_size == 8 and rnn.bidirectional
    assert rnn.dropout == 0.1  # between the recurrent layers
    linears = [m for m in model[0].head if isinstance(m, nn.Linear)]
    assert linears[0].in_features == 2 * 8 and linears[0].out_features == 128  # the dense head (model.hidden) on both directions' states
    x, y = torch.randn(16, 2, 12), torch.randint(0, 3, (16,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in rnn.parameters())
    assert not torch.equal(before["0.rnn.weight_hh_l1"], model.state_dict()["0.rnn.weight_hh_l1"])


def test_one_layer_gets_no_dropout_inside_the_rnn():
    """torch warns about dropout on a single layer (it would do nothing): the head's dropout covers it."""
    cfg = resolve(overrides={"model.name": "rnn", "model.dropout": "0.3", "model.layers": "1"})
    model = build_model(cfg.model, input_shape=(1, 10), out_dim=2, norm=None)
    assert model[0].rnn.dropout == 0.0 and any(isinstance(m, nn.Dropout) for m in model[0].head)


def test_summary_shows_the_recurrent_layer_and_the_output():
    cfg = resolve(overrides={"model.name": "rnn", "model.hidden_size": "16", "model.bidirectional": "true"})
    text = summarize(build_model(cfg.model, input_shape=(1, 40), out_dim=10, norm=None), (1, 40))
    assert "GRU" in text and "(40, 32)" in text and "(10,)" in text


@pytest.mark.parametrize("overrides, needles", [
    ({"model.cell": "gur"}, ["model.cell", "rnn, lstm, gru", "did you mean gru"]),
    ({"model.layers": "0"}, ["model.layers", "> 0"]),
    ({"model.hidden_size": "0"}, ["model.hidden_size", "> 0"]),
    ({"model.hidden_size": "many"}, ["model.hidden_size"]),
])
def test_bad_options_are_refused_with_one_line(overrides, needles):
    with pytest.raises(UserError) as e:
        resolve(overrides={"model.name": "rnn", **overrides})
    msg = str(e.value)
    assert "\n" not in msg and all(n in msg for n in needles), msg


@pytest.mark.parametrize("argv, needles", [
    (["--data", "mnist1d", "--model", "cnn", "--set", "model.cell=lstm"],
     ["model.cell is an rnn option", "trains a cnn", "model.name=rnn"]),
    (["--data", "mnist1d", "--model", "mlp", "--set", "model.bidirectional=true"],
     ["model.bidirectional is an rnn option", "model.name=rnn"]),
    (["--data", "digits", "--model", "rnn"], ["model.name=rnn needs signal or text or audio or series data", "image data"]),
    (["--data", "mnist1d", "--model", "rnn", "--set", "model.widths=[8]"], ["model.widths", "trains an rnn"]),
])
def test_options_that_do_not_apply_are_refused_by_the_cli(cli_error, tmp_path, argv, needles):
    cli_error(["train", *argv, "--out", str(tmp_path / "r"), "--no-progress"], *needles)
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rnn") / "run"
    settings = {**QUICK, "data.train_subset": 300, "model.hidden_size": 16, "train.early_stopping": False}
    return fit.train(data="mnist1d", model="rnn", epochs=2, out=out, set=settings, verbose=False)


def test_tiny_mnist1d_run_end_to_end(tiny_run):
    run = tiny_run
    assert run.config.model.name == "rnn" and run.config.model.cell == "gru" and run.config.model.layers == 2
    assert any(isinstance(m, nn.GRU) for m in run.model.modules())
    s = json.loads((run.dir / "summary.json").read_text())
    assert s["epochs_run"] == 2 and 0 <= s["metrics"]["test"]["accuracy"] <= 1
    assert "GRU" in (run.dir / "model.txt").read_text() and (run.dir / "report.html").is_file()
    x = np.load(run.dir / "split.npz")["test"][:5]
    from idealfit.data.embedded import load_mnist1d_data

    raw = load_mnist1d_data().x[x]  # (5, 1, 40) raw signals, as a user would pass them
    pred = run.predict_array(raw)
    with torch.no_grad():
        logits = run.model(torch.from_numpy(raw))
    np.testing.assert_array_equal(np.asarray(pred).argmax(-1) if np.asarray(pred).ndim == 2 else pred,
                                  logits.argmax(-1).numpy())


def test_predict_cli_on_an_rnn_run(tiny_run, tmp_path, capsys):
    from idealfit.cli import main
    from idealfit.data.embedded import load_mnist1d_data

    path = tmp_path / "signals.npz"
    np.savez(path, x=load_mnist1d_data().x[:3])
    assert main(["predict", str(tiny_run.dir), str(path)]) == 0
    assert len([ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]) >= 3


def test_resume_continues_an_rnn_run_to_the_same_weights(tmp_path):
    """One epoch, then --resume to two, equals two epochs straight (an LSTM: its state is a tuple)."""
    settings = {**QUICK, "data.train_subset": 200, "model.hidden_size": 8, "model.cell": "lstm",
                "train.early_stopping": False, "train.schedule": "constant", "train.threads": "1"}
    straight = fit.train(data="mnist1d", model="rnn", epochs=2, out=tmp_path / "a", set=settings, verbose=False)
    fit.train(data="mnist1d", model="rnn", epochs=1, out=tmp_path / "b", set=settings, verbose=False)
    run = fit.train(resume=tmp_path / "b", set={"train.epochs": 2, **QUICK}, verbose=False)
    assert run.summary["epochs_run"] == 2 and run.config.model.cell == "lstm"
    for k, v in straight.model.state_dict().items():
        torch.testing.assert_close(run.model.state_dict()[k], v)


def test_explain_shows_the_saliency_of_an_rnn_run(tiny_run, tmp_path, capsys):
    """No convolution to draw, but the class probabilities and |d score / d input| through the GRU."""
    from idealfit.cli import main
    from idealfit.data.embedded import load_mnist1d_data

    path = tmp_path / "one.npz"
    np.savez(path, x=load_mnist1d_data().x[:1])
    assert main(["explain", str(tiny_run.dir), "--input", str(path), "--out", str(tmp_path / "ex")]) == 0
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["probabilities_0.png", "saliency_0.png"]


def test_the_diagnosis_advises_the_recurrent_options():
    from idealfit.diagnose_advice import knobs

    more, fewer, widen = knobs("rnn", "signal", "rnn")
    assert "model.cell=gru" in more and "model.hidden_size" in more and "model.layers" in fewer
    assert "model.hidden_size" in widen and "model.widths" not in more + fewer + widen  # not a cnn option here


@pytest.mark.parametrize("cell", ["gru", "lstm", None])
def test_a_gated_cell_is_advised_to_the_plain_rnn_alone(cell):
    # a newcomer's GRU run was told "a gated cell if it is the plain rnn": the run knows its cell
    from idealfit.diagnose import diagnose
    from idealfit.diagnose_advice import knobs

    more, _, _ = knobs("rnn", "series", cell)
    assert "model.cell" not in more and "model.hidden_size" in more
    history = [{"epoch": e, "train_loss": 2.0 - 0.01 * e, "val_loss": 2.0 - 0.01 * e, "train_accuracy": 0.3,
                "val_accuracy": 0.3} for e in range(1, 6)]
    context = {"model": "rnn", "cell": cell, "kind": "signal", "early_stopping": True, "epochs": 5}
    d = diagnose(history, task="classification", metric="accuracy", context=context)
    assert d["verdict"] == "underfitting" and "model.hidden_size" in " ".join(d["advice"])
    assert "gated cell" not in " ".join(d["advice"])
