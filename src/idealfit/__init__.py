"""idealfit: models that fit just right — every remedy from the deep-learning course, fast and visible."""

from idealfit.api import train
from idealfit.config import RunConfig, resolve
from idealfit.errors import UserError
from idealfit.run import Run, load_run

__all__ = ["Run", "RunConfig", "UserError", "load_run", "resolve", "train"]
__version__ = "0.1.0"
