"""idealfit: models that fit just right — every remedy from the deep-learning course, fast and visible.

The public names load on first use (PEP 562), so `idealfit --help` and `idealfit --version` answer
without importing torch (about 1.5 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Run", "RunConfig", "UserError", "load_run", "resolve", "train"]

_HOMES = {"train": "idealfit.api", "RunConfig": "idealfit.config", "resolve": "idealfit.config",
          "UserError": "idealfit.errors", "Run": "idealfit.run", "load_run": "idealfit.run"}

# The sub-package idealfit.train shares its name with the function fit.train. Load the (empty,
# torch-free) package now and drop the attribute its import binds, so the name resolves through
# __getattr__ to the function, whatever is imported later (a sub-package binds its name on first load only).
importlib.import_module("idealfit.train")
del globals()["train"]

if TYPE_CHECKING:  # for type checkers and IDEs: the eager imports
    from idealfit.api import train
    from idealfit.config import RunConfig, resolve
    from idealfit.errors import UserError
    from idealfit.run import Run, load_run


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'idealfit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
