"""What a tuning study shows: trials.csv, best.yaml and report.html, rebuilt from the study's storage.

They train nothing: `write_outputs` reads the finished trials (and the best trial's run folder) and
writes the three files atomically; `idealfit tune` calls it after every invocation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from html import escape
from pathlib import Path
from typing import Any

from idealfit.tune_charts import history_chart, importance_chart, parallel_chart, slice_chart
from idealfit.tune_space import Param


def _rows(study, space: dict[str, Param], study_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start else None
        run_dir = t.user_attrs.get("run_dir", "")
        if t.state.name == "FAIL" and run_dir and not (study_dir / run_dir).exists():
            run_dir = ""  # a killed worker's half-written folder, removed when the trial was failed (tune_stale)
        row = {"number": t.number, "state": t.state.name.lower(), "value": t.value,
               "epochs": t.user_attrs.get("epochs") or (max(t.intermediate_values) if t.intermediate_values else None),
               "seconds": None if seconds is None else round(seconds, 2), "run_dir": run_dir}
        for key in space:  # a choice's label: the value itself, or its JSON text for a list ("[16, 32]")
            row[key] = t.params.get(key)
        rows.append(row)
    return rows


def trials_csv(rows: list[dict[str, Any]]) -> bytes:
    """One row per trial: number, state, value, epochs reported, seconds, run folder, then each parameter."""
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    return buf.getvalue().encode("utf-8")


def best_yaml(best, space: dict[str, Param], *, config_file: str | None, sets: dict[str, Any]) -> bytes:
    """The settings the best trial was given (the base config, --set, the drawn parameters), for
    `idealfit train --config best.yaml`; checked by resolving them.

    Only those settings, not every field resolved: a field spelled out in a config file counts as the user's,
    so a resolved file would pin model.name=auto and the generic defaults, and training it would skip the
    defaults the trial got from its data (a table's wide & deep MLP at batch 32, a series' AR start): a tuned
    breast-cancer trial of 2,174 parameters came back as 2,242 with another validation loss. The trial's
    own config.yaml lists every field as it ran."""
    import yaml

    from idealfit.config import load_yaml, resolve

    params = {k: space[k].value_of(v) for k, v in best.params.items() if k in space}
    given = {**(load_yaml(config_file) if config_file else {}), **sets, **params}
    given.pop("out", None)  # a new run folder each time it is trained
    resolved = resolve(overrides=given).to_dict()  # as the trial resolved them: typed (--set gave text), checked
    nested: dict[str, Any] = {}
    for key in given:
        section, dot, name = key.partition(".")
        if dot:
            nested.setdefault(section, {})[name] = resolved[section][name]
        else:  # a top-level field
            nested[key] = resolved[key]
    nested["out"] = None
    run_dir = best.user_attrs.get("run_dir", "")
    head = (f"# idealfit tune: trial {best.number}, {best.value:.6g} on the validation split\n"
            f"# train it: idealfit train --config best.yaml\n"
            "# only the settings the trial was given: every other field takes its default (the data's own, e.g. a\n"
            f"# table's), as in the trial; {run_dir or 'its run folder'}/config.yaml lists every field as it ran\n")
    return (head + yaml.safe_dump(nested, sort_keys=False)).encode("utf-8")


def importances(study) -> dict[str, float] | None:
    """optuna.importance's importances (its default evaluator), or None below 3 complete trials, where they say
    nothing (Optuna then warns and makes them all equal)."""
    import warnings

    import optuna
    from optuna.trial import TrialState

    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 3:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ZeroDivisionError):
        return None


def report_html(study, space: dict[str, Param], rows: list[dict], *, monitor: str, study_dir: Path, title: str) -> bytes:
    from idealfit.report.html import CSS, _diagnosis, section_html, svg_html
    from idealfit.run import read_json_object

    counts = {s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "fail")}
    best = _best_or_none(study)
    lead = (f"{len(rows)} trials: {counts['complete']} complete, {counts['pruned']} pruned, {counts['fail']} failed. "
            f"Objective: {monitor} on the validation split ({study.direction.name.lower()}).")
    if best is not None:
        shown = ", ".join(f"{k}={_fmt(space[k].value_of(v))}" for k, v in best.params.items() if k in space)
        lead += f" Best: trial {best.number}, {best.value:.4g} ({shown}); its config is best.yaml."
    sections = [("summary", "Study", f"<p>{escape(lead)}</p>")]
    sections.append(("history", "Optimization history",
                     svg_html(history_chart(study, monitor), "history", "Every trial's value; the line is the best so far.")))
    imp = importances(study)
    body = (svg_html(importance_chart(imp), "importances", "How much each parameter decides the value "
                        "(optuna.importance's default evaluator).") if imp else
            '<p class="note">Importances need at least three complete trials.</p>')
    sections.append(("importance", "Parameter importances", body))
    par = parallel_chart(study, space, monitor)
    if par is not None:
        sections.append(("parallel", "Parallel coordinates", svg_html(
            par, "parallel", "One line per complete trial through each parameter's drawn value (axes span the "
            "space) and its value; colour: the value, best = yellow.")))
    sections.append(("slices", "Slice plots", svg_html(slice_chart(study, space, monitor), "slices",
                                                          "Value against each parameter; colour: trial number (later = yellow).")))
    if best is not None:
        run_dir = study_dir / best.user_attrs.get("run_dir", "")
        try:
            diag = _diagnosis(read_json_object(run_dir, "summary.json").get("diagnosis") or {})
        except Exception:  # noqa: BLE001 - a missing or damaged run folder must not cost the study's report
            diag = '<p class="note">The best trial\'s run folder has no readable summary.json.</p>'
        link = f'<p><a href="{escape(best.user_attrs.get("run_dir", ""))}/report.html">the best trial\'s run report</a></p>'
        sections.append(("best", f"Best trial ({best.number}): diagnosis", diag + link))
    sections.append(("trials", "Trials", _trials_table(rows, space)))
    body = "\n".join(section_html(sid, t, html) for sid, t, html in sections)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS} table.trials td {{ white-space: nowrap; }}</style></head><body><header><h1>{escape(title)}</h1>"
            f'<p class="meta">idealfit tune · {stamp}</p></header><main>{body}</main></body></html>\n')
    return page.encode("utf-8")


def _trials_table(rows: list[dict], space: dict[str, Param]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in ("trial", "state", "value", *space, "run"))
    body = []
    for r in rows:
        link = f'<a href="{escape(r["run_dir"])}/report.html">report</a>' if r["run_dir"] and r["state"] != "fail" else ""
        cells = [r["state"], _fmt(r["value"]), *(_fmt(r[k]) for k in space)]
        body.append(f"<tr><th>{r['number']}</th>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + f"<td>{link}</td></tr>")
    return f'<div class="scroll"><table class="trials"><tr>{head}</tr>{"".join(body)}</table></div>'


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _best_or_none(study):
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def write_outputs(study, space: dict[str, Param], *, study_dir: Path, monitor: str, config_file: str | None,
                  sets: dict[str, Any], title: str) -> dict[str, Path]:
    """trials.csv, best.yaml (once a trial is complete) and report.html in the study folder."""
    from idealfit.run_files import atomic_write

    rows = _rows(study, space, study_dir)
    files = {"trials": atomic_write(study_dir / "trials.csv", trials_csv(rows))}
    best = _best_or_none(study)
    if best is not None:
        files["best"] = atomic_write(study_dir / "best.yaml", best_yaml(best, space, config_file=config_file, sets=sets))
    files["report"] = atomic_write(study_dir / "report.html", report_html(study, space, rows, monitor=monitor,
                                                                          study_dir=study_dir, title=title))
    return files


def rebuild(study_dir: Path) -> Path:
    """`idealfit report STUDY_DIR`: trials.csv and report.html again from the study's journal and space.yaml (best.yaml
    needs the base config the command was given, so it stays as `idealfit tune` wrote it); returns the report."""
    import optuna

    from idealfit.errors import UserError
    from idealfit.run_files import atomic_write
    from idealfit.tune_space import read_space
    from idealfit.tune_storage import JOURNAL, open_storage

    if not (study_dir / JOURNAL).is_file():
        raise UserError(f"{study_dir} is a tuning study whose trials live in the database given to `idealfit tune "
                        "--storage`; run that command again (it rewrites the report when it ends)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(study_dir, None)
    names = optuna.get_all_study_names(storage)
    if len(names) != 1:
        raise UserError(f"{study_dir}/{JOURNAL} holds {len(names)} studies ({', '.join(names)}); run `idealfit tune "
                        "--study NAME` again on it to rewrite one's report")
    study = optuna.load_study(study_name=names[0], storage=storage)
    space = read_space(study_dir / "space.yaml")
    monitor = (study.user_attrs.get("idealfit_monitor") or {}).get("train.monitor", "val_loss")
    rows = _rows(study, space, study_dir)
    atomic_write(study_dir / "trials.csv", trials_csv(rows))
    return atomic_write(study_dir / "report.html", report_html(study, space, rows, monitor=monitor, study_dir=study_dir,
                                                               title=f"Tuning study · {names[0]}"))
