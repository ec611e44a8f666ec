"""Run folders that two runs can never share: created atomically, locked while a run writes them.

Two `idealfit train` started in the same second used to pick the same timestamped name, and two
runs given the same `--out` both wrote into it (config of one, weights of the other). Now:

- a new folder is claimed with `os.mkdir`, which fails if the name exists, so the second run
  takes the next free name (`...-2`);
- a run holds an exclusive `flock` on `<run>/.lock` while it writes; a second run (or `--resume`)
  of the same folder stops at once with one line, and the lock goes with the process, so a killed
  run never leaves a stale lock behind;
- a run that fails before its first epoch removes what it wrote, so a bad input leaves no
  half-written folder.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

from idealfit.config import RunConfig
from idealfit.errors import UserError

LOCK = ".lock"

try:  # POSIX; elsewhere runs go unlocked (the atomic mkdir still keeps default names apart)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def _mkdir(path: Path) -> bool:
    """Create `path` (and its parents); True if this call created it, False if it already existed."""
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise UserError(f"cannot create the run folder {path}: {blocker} is a file, not a folder; "
                        "choose another --out")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir()
        return True
    except FileExistsError:
        if not path.is_dir() or path.is_symlink():
            raise UserError(f"{path} exists and is not a folder; choose another --out") from None
        return False
    except OSError as exc:
        raise UserError(f"cannot create the run folder {path} ({exc.strerror or exc}); "
                        "choose a writable place with --out") from None


def only_lock(path: Path) -> bool:
    """True if `path` holds nothing but (maybe) our lock file: a run killed before it wrote anything."""
    return all(p.name == LOCK for p in path.iterdir())


def refuse_if_taken(out: Path) -> None:
    """An existing --out folder may hold nothing but (maybe) our lock file; anything else is another run's."""
    if not only_lock(out):
        raise UserError(f"{out} already holds files; choose another --out (Python: out=), or continue it with "
                        f"--resume {out} (Python: resume=)")


def claim_run_dir(cfg: RunConfig, *, root: str | Path = "runs") -> tuple[Path, bool]:
    """The folder for a new run, created now: (path, created). `created` is False only for an
    existing empty `--out` folder, which the run may use but must not delete."""
    if cfg.out:
        out = Path(cfg.out)
        created = _mkdir(out)
        if not created:
            refuse_if_taken(out)
        return out, created
    return claim_new_dir(stamped_name(cfg.data.name, cfg.model.name), root=root), True


def stamped_name(data: str, *parts: str) -> str:
    """The default name of what a command writes: `<YYYYmmdd-HHMMSS>-<data>-<parts...>`, with the data
    source's file stem (or embedded name) made safe for a file name, e.g. 20261127-181500-digits-cnn."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(data)).stem or "data")
    return "-".join([dt.datetime.now().strftime("%Y%m%d-%H%M%S"), safe, *parts])


def claim_new_dir(name: str, *, root: str | Path = "runs") -> Path:
    """`root/name`, or the first free `root/name-2`, `-3`, ..., created now (atomically: a folder two
    processes pick at once goes to one of them)."""
    base = Path(root) / name
    for i in range(1, 10_000):
        out = base if i == 1 else base.with_name(f"{base.name}-{i}")
        if _mkdir(out):
            return out
    raise UserError(f"{root} already holds 10,000 folders named {base.name}; choose a folder with --out")


class RunLock:
    """An exclusive lock on a run folder while this process writes it.

    Args:
        run_dir: the run folder (must exist).

    Raises UserError when another live process holds it.
    """

    def __init__(self, run_dir: Path):
        self.fd: int | None = None
        if fcntl is None:  # pragma: no cover
            return
        path = run_dir / LOCK
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            raise UserError(f"cannot write in the run folder {run_dir} ({exc.strerror or exc}); "
                            "choose a writable place with --out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f" (process {owner})" if owner.isdigit() else ""
            raise UserError(f"{run_dir} is being written by another idealfit run{who}; wait for it to finish, "
                            "or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None


def discard(run_dir: Path, *, created: bool) -> None:
    """Remove what a new run that failed before its first epoch wrote: the whole folder if this run
    created it, else its contents (an existing empty folder given as --out stays)."""
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for p in run_dir.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
