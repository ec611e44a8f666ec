"""`idealfit tune --storage postgresql://…` on a real PostgreSQL: a throwaway cluster (initdb + pg_ctl on a
socket directory, as an unprivileged user), two workers on one study, one killed with SIGKILL mid-trial.

.ci/run installs Debian's postgresql; elsewhere the test is skipped when no initdb is found (and fails in CI)."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
import yaml

from idealfit.tune import tune

BASE = {"data": {"name": "digits", "train_subset": 60}, "model": {"name": "cnn", "widths": [4], "hidden": [8]},
        "train": {"epochs": 20, "threads": "1", "early_stopping": False}}
SPACE = {"train.lr": {"log_uniform": [1e-3, 1e-1]}, "model.dropout": {"uniform": [0.0, 0.5]}}


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    return versions[-1] if versions else None


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL cluster of its own on a Unix socket in a temporary folder, stopped and removed after."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("CI"):
            pytest.fail("CI must install postgresql (.ci/run): initdb and pg_ctl not found")
        pytest.skip("PostgreSQL's initdb/pg_ctl not found (apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="pip install 'psycopg[binary]' (requirements-dev.txt)")
    root = Path(tempfile.mkdtemp(prefix="idealfit-pg-"))  # not under pytest's 0700 tmp: the server user reads it
    user = None
    if os.geteuid() == 0:  # initdb refuses root: run the server as Debian's postgres user (or nobody)
        import pwd

        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None:
            pytest.skip("running as root with no unprivileged user to run PostgreSQL")
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    run = {"user": user} if user else {}
    data, log = root / "data", root / "server.log"
    subprocess.run([initdb, "-D", str(data), "-U", "idealfit", "--auth=trust", "-E", "UTF8"], check=True,
                   capture_output=True, **run)
    opts = f"-k {root} -c listen_addresses='' -c fsync=off"  # socket only; fsync off: a throwaway cluster
    subprocess.run([pg_ctl, "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start"], check=True,
                   capture_output=True, **run)
    try:
        yield f"postgresql+psycopg://idealfit@/postgres?host={root}"
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, **run)
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _write(path, obj):
    path.write_text(yaml.safe_dump(obj))
    return path


def _trials(url: str, name: str):
    return optuna.load_study(study_name=name, storage=url).get_trials()


def test_two_workers_on_postgres_one_killed_mid_trial_lose_nothing(tmp_path, postgres_url):
    base, space = _write(tmp_path / "base.yaml", BASE), _write(tmp_path / "space.yaml", SPACE)
    study_dir = tmp_path / "study"
    argv = [sys.executable, "-m", "idealfit", "tune", "--config", str(base), "--space", str(space), "--trials", "3",
            "--workers", "2", "--storage", postgres_url, "--study", "pg", "--out", str(study_dir), "--pruner", "none",
            "--seed", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = None
    for _ in range(12000):  # until a worker is mid-trial: its run folder has a first epoch and no summary yet
        if proc.poll() is not None:
            break
        for run_dir in sorted((study_dir / "trials").glob("trial-*")):
            lock = run_dir / ".lock"  # the training process's pid, written while it holds the folder's flock
            if (run_dir / "metrics.csv").exists() and not (run_dir / "summary.json").exists() and lock.exists():
                pid = lock.read_text().strip()
                if pid.isdigit():
                    os.kill(int(pid), signal.SIGKILL)
                    killed = run_dir.relative_to(study_dir).as_posix()
                    break
        if killed:
            break
        time.sleep(0.02)  # the file system, not the database: a quiet machine trains an epoch in ~0.1 s
    assert killed is not None, "no worker was seen mid-trial:\n" + (proc.communicate()[0] if proc.poll() is not None else "")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 2, out  # one worker ended by a signal: said, and the same command continues
    victim = next(t for t in _trials(postgres_url, "pg") if t.user_attrs.get("run_dir") == killed)
    assert "1 of 2 workers" in out and f"trial {victim.number}: its worker died mid-trial" in out
    trials = _trials(postgres_url, "pg")
    states = sorted(t.state.name for t in trials)
    assert states == ["COMPLETE"] * 3 + ["FAIL"], out  # the survivor failed the dead trial and ran it again
    retry = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
    assert len(retry) == 1 and retry[0].params == victim.params and retry[0].state.name == "COMPLETE"
    assert (study_dir / "trials.csv").is_file()  # the study's files are written even though a worker died

    # the same command again continues the study: 1 more, nothing duplicated, nothing left running
    res = tune(config_file=base, space_file=space, trials=1, storage=postgres_url, study="pg", out=study_dir,
               pruner="none", say=lambda *a: None)
    trials = res.study.get_trials()
    assert sorted(t.state.name for t in trials) == ["COMPLETE"] * 4 + ["FAIL"]
    assert sorted(t.number for t in trials) == list(range(5))
    done = [t.user_attrs["run_dir"] for t in trials if t.state.name == "COMPLETE"]
    assert len(set(done)) == 4
    on_disk = {p.relative_to(study_dir).as_posix() for p in (study_dir / "trials").iterdir()}
    assert on_disk >= set(done)  # every finished trial's run folder is there
    # the killed trial's folder is gone, unless the kill came after its run had finished (summary written, the
    # study not yet told): then it is a finished run folder and stays, as the journal's workers leave it too
    assert on_disk - set(done) <= {killed}
    assert killed not in on_disk or (study_dir / killed / "summary.json").is_file()
    assert all((study_dir / d / "summary.json").is_file() for d in done)
    rows = (study_dir / "trials.csv").read_text().splitlines()
    assert len(rows) == 1 + 5


def test_a_postgres_url_without_its_driver_says_what_to_install(tmp_path, cli_error):
    space = _write(tmp_path / "space.yaml", SPACE)
    url = "postgresql+psycopg2://someone@/db?host=/nonexistent"  # psycopg2 is not installed here; psycopg (3) is
    pytest.importorskip("psycopg")
    if _importable("psycopg2"):
        pytest.skip("psycopg2 is installed")
    cli_error(["tune", "--space", str(space), "--trials", "1", "--storage", url, "--out", str(tmp_path / "s"),
               "--data", "digits"], "--storage", "pip install 'idealfit[postgres]'")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
