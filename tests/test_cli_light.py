"""`idealfit --help` answers without importing torch (or numpy): the sub-commands import them when they run."""

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
