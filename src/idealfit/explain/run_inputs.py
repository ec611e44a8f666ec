"""The inputs `idealfit explain RUN` explains: the --input files (images, WAV files, CSV rows) made model-ready as
predict makes them, or, without --input, the run's own first test samples; with the names the figures use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from idealfit.errors import UserError

if TYPE_CHECKING:
    import torch

MAX_INPUTS = 8  # explain at most this many images or CSV rows (a few PNGs each)


def run_inputs(run, inputs: list[str]) -> tuple[torch.Tensor, list[str], list[str | None] | None]:
    """(model-ready inputs, a name per input, feature names for a flat run's saliency bars).

    Images and WAV files are named by file name, or by their path inside a folder given (a folder stands
    for the run's kind of files under it, as for predict); a table's rows by file:line, and its features by
    the run's fitted preprocessing (one-hot columns as "colour=red", PCA as "pc1"). At most the first
    MAX_INPUTS are explained.

    Text: the saliency is |d score / d input|, and token ids reach the model through an embedding lookup,
    which has no gradient in the id; so a text run is refused, and beside table columns only the table's
    features are scored (its token ids get the name None: left out of the bars).
    """
    kind = run.state["kind"]
    beside = kind == "text" and "table" in run.state.get("text", {})
    if kind == "text" and not beside:
        from idealfit.explain.commands import refuse_unexplainable

        refuse_unexplainable(run)
    if kind not in ("table", "text"):
        from idealfit.data.inputs import expand_folders

        named: list[tuple[Path, str]] = []
        for p in map(Path, inputs):  # a folder's files named by their path inside it, as predict names them
            found = expand_folders(p, kind=kind)
            named += [(q, q.relative_to(p).as_posix() if p.is_dir() else q.name) for q in found]
        what = "WAV files" if kind == "audio" else "images"
        if len(named) > MAX_INPUTS:
            print(f"explaining the first {MAX_INPUTS} of {len(named)} {what}")
        named = named[:MAX_INPUTS]
        return run.load_inputs([q for q, _ in named]), [n for _, n in named], None
    import torch

    from idealfit.data.inputs import read_inputs
    from idealfit.data.preprocess import TablePreprocessor

    x, names = read_inputs(run.state, [Path(p) for p in inputs])
    if len(names) > MAX_INPUTS:
        print(f"explaining the first {MAX_INPUTS} of {len(names)} rows")
    table = run.state["text"]["table"] if beside else run.state["table"]
    features: list[str | None] = list(TablePreprocessor.from_dict(table).feature_names())
    if beside:
        features += [None] * (x.shape[1] - len(features))  # the token ids, after the table features
        print(f"the saliency bars score the table columns; the text column ({run.state['columns'][0]}) is read "
              "as token ids, which have no gradient, so its words are not scored")
    return torch.from_numpy(x[:MAX_INPUTS]), names[:MAX_INPUTS], features


TEST_INPUTS = 2  # explain RUN without --input: its first test samples, each named by its true class


def test_inputs(run) -> tuple[torch.Tensor, list[str], list[str | None] | None]:
    """`run_inputs` for the run's own first TEST_INPUTS test samples, read again from its data source (named
    "test sample k (true: c)", a folder's by their file), when no --input is given."""
    import torch

    from idealfit.data.inputs import load_eval_dataset
    from idealfit.data.preprocess import TablePreprocessor

    what = {"table": "FILE.csv", "text": "FILE.csv", "audio": "FILE.wav", "image": "IMAGE"}.get(run.state["kind"], "FILE")
    try:
        ds = load_eval_dataset(run.state, run.config.data, None)
    except UserError as err:
        raise UserError(f"explain {run.dir} without --input reads the run's first test samples, but its data cannot "
                        f"be read again ({str(err).split(';')[0]}); pass --input {what}") from None
    test = run._test_split()[:TEST_INPUTS]
    if not len(test):
        raise UserError(f"{run.dir} has no test samples to explain; pass --input {what}")
    x = run._test_samples(ds, test)
    truth = [f"true: {run.class_names[int(ds.y[i])]}" if run.class_names and ds.class_names == run.class_names else
             f"true: {float(ds.y[i]):.4g}" if run.task == "regression" else "" for i in test]
    where = [Path(ds.paths[i]).name if ds.paths is not None else f"test sample {k}" for k, i in enumerate(test)]
    names = [f"{w} ({t})" if t else w for w, t in zip(where, truth, strict=True)]
    print(f"explaining the run's first {len(test)} test samples (no --input given): {', '.join(names)}")
    features = None
    if run.state["kind"] in ("table", "text"):
        beside = run.state["kind"] == "text"
        table = run.state["text"]["table"] if beside else run.state["table"]
        features = list(TablePreprocessor.from_dict(table).feature_names())
        features += [None] * (x.shape[1] - len(features))  # text beside a table: its token ids are not scored
    return torch.from_numpy(np.ascontiguousarray(x)), names, features
