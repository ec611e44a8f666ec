"""Safe access to the files inside a run folder: no symbolic links, no paths out of the folder.

A run folder is something people zip, share and download. A file in it that is a symbolic link would
let whoever made the folder make our tools read another file (a report would paste `~/.ssh/config`
into report.html) or write over one (`np.savez(run/"predictions.npz")` follows a link). So every read
and write of a run's own files goes through `run_file`, which refuses any link below the run folder.
The run folder itself may be a link: that is the user's own choice of where it lives.

Reads open with O_NOFOLLOW (closing the check-then-open race on the last component) and O_NONBLOCK
(a FIFO named model.txt must not hang us), then insist on a regular file.

Example:
    >>> text = read_text("runs/x", "model.txt")   # doctest: +SKIP
    >>> write_bytes("runs/x", "predictions.npz", npz_bytes(y_true=t, y_pred=p))   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np

from idealfit.errors import UserError

RESTORE = "retrain, or restore the file from a copy"  # the usual fix for a damaged run file


def damaged(path: str | Path, reason: str, fix: str = RESTORE) -> UserError:
    """The one message for a run file we cannot use: "<path> is damaged (<reason>); <fix>"."""
    reason = " ".join(str(reason).split())[:200]  # one line, and short even if a parser quotes the file
    return UserError(f"{path} is damaged ({reason}); {fix}")


def _link_error(path: Path) -> UserError:
    return UserError(f"{path} is a symbolic link; a run folder's files must be regular files: "
                     "replace it with the file itself")


def run_file(run_dir: str | Path, name: str | Path) -> Path:
    """run_dir / name, refusing a name that leaves the folder and any component below run_dir that is a link.

    Args:
        run_dir: the run folder (may itself be a symbolic link).
        name: a relative path inside it, e.g. "model.txt" or "explain/saliency_0.png". Need not exist.
    """
    run_dir = Path(run_dir)
    rel = PurePosixPath(Path(name).as_posix())
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UserError(f"{name} is not a path inside the run folder {run_dir}; give a path relative to it")
    path = run_dir
    for part in rel.parts:
        path = path / part
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                raise _link_error(path)
        except FileNotFoundError:
            break  # nothing further down exists, so nothing further down can be a link
        except NotADirectoryError:
            break
    return run_dir / rel


def read_bytes(run_dir: str | Path, name: str | Path, *, limit: int | None = None) -> bytes:
    """The content of a regular file inside the run folder (its first `limit` bytes when given)."""
    path = run_file(run_dir, name)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise UserError(f"{path} is missing; {RESTORE}") from None
    except OSError as err:
        if os.path.islink(path):  # swapped for a link after run_file looked (ELOOP)
            raise _link_error(path) from None
        raise UserError(f"cannot read {path} ({err.strerror}); check its permissions") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise UserError(f"{path} is not a regular file; a run folder's files must be regular files")
        return fh.read() if limit is None else fh.read(limit)


def read_text(run_dir: str | Path, name: str | Path) -> str:
    """A UTF-8 text file inside the run folder; undecodable bytes are a damaged file."""
    data = read_bytes(run_dir, name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise damaged(run_file(run_dir, name), f"not UTF-8 text: byte {err.start}") from None


def is_file(run_dir: str | Path, name: str | Path) -> bool:
    """Whether name is a regular file in the run folder; a link there is an error, not a False."""
    path = run_file(run_dir, name)
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def run_subdir(run_dir: str | Path, name: str) -> Path:
    """A sub-folder of the run (created if missing), refusing a link in its place."""
    path = run_file(run_dir, name)
    try:
        os.mkdir(path)  # never follows a link: an existing link (even a dangling one) is FileExistsError
    except FileExistsError:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            raise _link_error(path) from None
        if not stat.S_ISDIR(mode):
            raise UserError(f"{path} exists and is not a folder; move it away") from None
    return path


def writable_parent(label: str, path: Path) -> Path:
    """The folder an output file `path` goes in, refused in one line (`label`: the option as typed, e.g.
    "--out preds.csv") when it does not exist or cannot be written; before any work is done."""
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"{label}: the folder {parent} does not exist; create it or write somewhere else")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{label}: cannot write in the folder {parent}; write somewhere else")
    return parent


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write to a temporary file beside `path`, then rename it over `path`: never half a file.

    The rename replaces a link at `path` instead of writing through it. The file gets the usual
    permissions for a new file (0666 less the umask), not mkstemp's private 0600: run folders are shared.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)  # no fsync: the rename is atomic against a killed process (train/checkpoint.py)
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def new_file_mode() -> int:
    """0666 less the umask: the permissions `open()` would give a new file."""
    # Reading the umask means setting it; set it straight back (a race only with threads creating files).
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes(run_dir: str | Path, name: str | Path, data: bytes) -> Path:
    """Atomically write a file inside the run folder, refusing links on the way to it."""
    return atomic_write(run_file(run_dir, name), data)


def read_npz(run_dir: str | Path, name: str, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named arrays of an NPZ file in the run folder (no pickles); a bad file is a damaged one."""
    import zipfile

    data = read_bytes(run_dir, name)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise damaged(run_file(run_dir, name), f"no array '{missing[0]}'")
            return {k: npz[k] for k in keys}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise damaged(run_file(run_dir, name), f"not a readable NPZ file: {err}") from None


def npz_bytes(**arrays: np.ndarray) -> bytes:
    """What `np.savez(path, **arrays)` writes, as bytes: for `write_bytes` (np.savez follows links)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()
