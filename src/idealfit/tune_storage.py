"""Where a tuning study lives: Optuna's journal file in the study folder, or any SQLAlchemy database URL
(`idealfit tune --storage`), opened so that several workers starting at once on a new database all get it."""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from pathlib import Path

from idealfit.errors import UserError
from idealfit.tune_stale import HEARTBEAT, fcntl, retry_stale

JOURNAL = "journal.log"  # the study's storage without --storage, in its folder


def open_storage(study_dir: Path, url: str | None, *, heartbeat: tuple[int, int] = HEARTBEAT):
    """Optuna's journal file in the study folder, or any SQLAlchemy URL (`--storage`)."""
    import optuna

    if url:  # heartbeats judge a dead worker's trial on any machine (the journal's file locks: this one only)
        interval, grace = heartbeat
        try:
            with warnings.catch_warnings(), _creating(url):
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # the heartbeat arguments
                return _rdb_storage(url, heartbeat_interval=interval, grace_period=grace,
                                    heartbeat_stale_trial_callback=retry_stale)
        except Exception as exc:  # a bad URL, a missing driver, a server that does not answer
            said = str(exc).splitlines()[0]
            if url.startswith("postgresql") and "import" in said.lower():  # Optuna's words for a missing driver
                said += " For PostgreSQL: pip install 'idealfit[postgres]' and a postgresql+psycopg:// URL."
            raise UserError(f"--storage {url}: {said}") from None
    journal = optuna.storages.journal
    backend = getattr(journal, "JournalFileBackend", None) or optuna.storages.JournalFileStorage
    return optuna.storages.JournalStorage(backend(str(study_dir / JOURNAL)))


SCHEMA_RACE = ("already exists", "alembic_version", "duplicate key")  # another process made the tables meanwhile


def _rdb_storage(url: str, **kwargs):
    """optuna's RDBStorage, retried a few times when another process was creating the same new database's
    tables at that moment (two `idealfit tune` started together on a new PostgreSQL or SQLite database: one
    died with "UNIQUE constraint failed: alembic_version.version_num" or "table studies already exists");
    the retry finds the tables made and checks their version instead."""
    import optuna

    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except Exception as exc:
            if attempt == 4 or not any(words in str(exc) for words in SCHEMA_RACE):
                raise
            time.sleep(0.2 * (attempt + 1))


@contextlib.contextmanager
def _creating(url: str):
    """For a local SQLite file: an exclusive flock on the file itself while the storage opens (SQLite's own locks
    are fcntl record locks, which flock does not touch), so workers on this machine create its tables one at a
    time; other databases: nothing (`_rdb_storage` retries)."""
    prefix = "sqlite:///"
    path = url[len(prefix):] if url.startswith(prefix) else ""
    if fcntl is None or not path or path.startswith(":memory:") or "?" in path:
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # an empty file is an empty SQLite database
    except OSError:  # a folder that does not exist: RDBStorage says so in its own words
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# What makes trials comparable: the study's user attrs record them, so that a folder whose study name meets
# another folder's study in one shared --storage (both without --study: both "default"; or one name reused by
# mistake) is refused instead of listing, ranking and writing best.yaml from the other folder's trials.
# data.max_memory_mb is a machine's budget, not the data: workers on different machines may differ in it.
IDENTITY = ("space", "data", "monitor")
MACHINE_DATA = ("max_memory_mb",)


def identity(space: dict, data: dict, monitor: str) -> dict[str, dict]:
    """The study's identity as JSON-safe dicts: the space (key: its distribution), the data section, the monitor."""
    import dataclasses
    import json

    def plain(obj):  # tuples to lists, paths to text: equal to what comes back from the storage
        return json.loads(json.dumps(obj, sort_keys=True, default=str))

    return {"space": plain({k: dataclasses.asdict(p) for k, p in space.items()}),
            "data": plain({f"data.{k}": v for k, v in data.items() if k not in MACHINE_DATA}),
            "monitor": {"train.monitor": monitor}}


def check_shared(study, ours: dict[str, dict], *, name: str) -> None:
    """Record `ours` (see `identity`) in a study that has none yet or no trial yet; refuse, with one line, a study
    whose recorded space, data or monitor differ (another folder's study under the same name)."""
    attrs = study.user_attrs
    theirs = {part: attrs.get(f"idealfit_{part}") for part in IDENTITY}
    if study.get_trials(deepcopy=False) and all(v is not None for v in theirs.values()):
        for part in IDENTITY:
            if theirs[part] != ours[part]:
                keys = sorted(k for k in set(theirs[part]) | set(ours[part])
                              if theirs[part].get(k) != ours[part].get(k))
                said = {"space": "search space", "data": "data section", "monitor": "train.monitor"}[part]
                raise UserError(f"study '{name}' in this storage holds trials over another {said} (it differs in "
                                f"{', '.join(keys)}); give this study folder its own --study NAME, or use that "
                                "study's search space, data and train.monitor to join it")
        return
    for part in IDENTITY:  # a new (or pre-identity, or still empty) study: it is ours
        if theirs[part] != ours[part]:
            study.set_user_attr(f"idealfit_{part}", ours[part])
