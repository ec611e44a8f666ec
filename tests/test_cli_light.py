"""`idealfit --help` answers without importing torch (or numpy): the sub-commands import them when they run."""

import argparse
import subprocess
import sys

HEAVY = ("torch", "numpy", "matplotlib", "PIL", "sklearn")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_building_the_parser_imports_no_torch():
    assert _loaded_after("from idealfit.cli import build_parser; build_parser()") == []


def test_help_of_every_sub_command_imports_no_torch():
    code = """
import contextlib, io
from idealfit.cli import build_parser
parser = build_parser()
for argv in (["--help"], ["explain", "--help"], ["augment", "--help"], ["train", "--help"], ["tune", "--help"]):
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        parser.parse_args(argv)
"""
    assert _loaded_after(code) == []


def test_checking_a_config_imports_no_torch_and_still_refuses_bad_values():
    """Augmentations, a clip length and model.init are checked by torch-free code (data/augment_spec.py,
    data/audio_frames.py, config.INIT_SCHEMES), so a mistake costs no torch import, nor does `idealfit tune`
    before its first trial (issue 12: the trials import torch when they train)."""
    code = """
from idealfit.config import resolve
from idealfit.errors import UserError
resolve(overrides={"data.augment": ["flip", {"name": "crop", "padding": 1}, "time_mask"], "model.init": "he_normal"})
for bad, needle in [({"data.augment": ["flipp"]}, "did you mean 'flip'"), ({"data.clip_seconds": 0.001}, "at least"),
                    ({"model.init": "he_norml"}, "he_normal"), ({"data.augment": [{"name": "crop", "padding": -1}]}, "padding")]:
    try:
        resolve(overrides=bad)
        raise SystemExit(f"{bad} passed")
    except UserError as exc:
        assert needle in str(exc), (needle, str(exc))
"""
    assert "torch" not in _loaded_after(code)


def test_tune_reaches_its_first_trial_without_torch(tmp_path):
    """Everything `idealfit tune` does before a trial starts (checks, study, sampler, the claim) imports no torch."""
    (tmp_path / "space.yaml").write_text("train.lr: {log_uniform: [1e-3, 1e-1]}\n")
    code = f"""
import optuna.study
from idealfit.tune import tune
def ask(self, *a, **k):  # the first trial starts here: stop, and say it got this far
    print("asked")
    raise SystemExit(0)
optuna.study.Study.ask = ask
try:
    tune(space_file={str(tmp_path / "space.yaml")!r}, trials=1, out={str(tmp_path / "study")!r}, say=lambda line: None)
except SystemExit:
    pass
"""
    loaded = _loaded_after(code)
    assert "asked" in loaded and "torch" not in loaded


def test_the_program_exits_with_mains_code_and_its_objects_frozen():
    """cli.entry (the console script and `python -m idealfit`): main's exit code, then gc.freeze() so that the
    interpreter's shutdown skips a collection over every torch object (cli.entry says why)."""
    code = """
import gc, sys
from idealfit.cli import entry
sys.argv = ["idealfit", "train", "--epochs", "0"]
code = entry()
print(code, gc.get_freeze_count() > 0)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["2", "True"] and "train.epochs" in out.stderr


def test_train_help_and_the_api_docstring_name_every_task_and_kind_of_data():
    import idealfit as fit
    from idealfit.cli import build_parser
    from idealfit.config import FAMILIES, TASKS

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    text = " ".join(sub.choices["train"].format_help().split("options:")[1].split())  # wrapping undone
    doc = " ".join(fit.train.__doc__.split())
    for task in TASKS:  # the newcomer found only classification and regression in both
        assert task in text.split("--task TASK")[1].split("--model")[0] and f'"{task}"' in doc, task
    for kind in ("images/ and masks/", "A/ and B/", ".wav", "--task forecasting", "examples:"):
        assert kind in text, kind
    for family in FAMILIES:
        assert family in text.split("--model NAME")[1].split("--epochs")[0], family
