"""Audio runs in the report: test clips as waveform and spectrogram thumbnails with their true and predicted
labels, and the test accuracy per voice group (spoken_digits: per accent) when the dataset has groups.

The clips are not in the run folder: the dataset is re-loaded from the run's config (as report/examples.py
does) and its features recomputed with the run's own settings (preprocess.json "audio").
"""

from __future__ import annotations

import base64
import io
from html import escape

import numpy as np

from idealfit.report.run_folder import RunFiles


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def clip_card(wave: np.ndarray, spec: np.ndarray, *, caption: str, alt: str) -> str:
    """One figure: the waveform (1, L) above its log-mel spectrogram (1, mels, frames), low bands at the bottom."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.8, 1.9), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 2])
    top.plot(np.asarray(wave).ravel(), lw=0.4, color="#335")
    top.set_ylim(-1, 1)
    bottom.imshow(np.asarray(spec)[0], origin="lower", aspect="auto", cmap="magma")
    for ax in (top, bottom):
        ax.set_xticks([])
        ax.set_yticks([])
    return (f'<figure class="thumb"><img src="data:image/png;base64,{_png(fig)}" alt="{escape(alt)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def cards(ds, state: dict, rows, labels: list[tuple[str, str, float]]) -> str:
    """Thumbnails of dataset rows `rows` with (true, predicted, probability) each."""
    from idealfit.data.audio import features

    rows = np.asarray(rows, dtype=np.int64)
    specs = features(state["audio"], ds.x[rows], None if ds.lengths is None else ds.lengths[rows])
    files = ds.meta.get("files")  # a WAV folder's files, relative to it (embedded datasets have none)
    out = []
    for row, spec, (true, pred, p) in zip(rows, specs, labels, strict=True):
        mark = "" if true == pred else ' class="wrong"'
        name = files[int(row)] if files else None  # the file, so a user can go and check a possible label error
        caption = (f'<span class="file">{escape(name)}</span><br>' if name else "") + \
            f"true <b>{escape(true)}</b><br>predicted <b{mark}>{escape(pred)}</b> ({p:.0%})"
        out.append(clip_card(ds.x[int(row)], spec, caption=caption, alt=name or f"test clip {row}"))
    return f'<div class="thumbs">{"".join(out)}</div>'


def group_accuracy(groups: np.ndarray, y_true, y_pred) -> list[tuple[str, int, float]]:
    """(group, test clips, accuracy) per group, worst first."""
    groups = np.asarray(groups).astype(str)
    ok = np.asarray(y_true) == np.asarray(y_pred)
    rows = [(g, int((groups == g).sum()), float(ok[groups == g].mean())) for g in np.unique(groups)]
    return sorted(rows, key=lambda r: (r[2], r[0]))


def sections(run: RunFiles, names: list[str], *, limit: int = 8) -> list[tuple[str, str, str]]:
    """The "Test clips" and "Accuracy per voice group" sections (none when the dataset cannot be re-loaded)."""
    from idealfit.report.examples import _load

    if run.index is None or run.run_dir is None or run.preprocess is None:
        return []
    ds = _load(run.run_dir)
    if isinstance(ds, str):
        return [("clips", "Test clips", f'<p class="note">{escape(ds)}</p>')]
    index = np.asarray(run.index, dtype=np.int64)
    y_true, y_pred = np.asarray(run.y_true).astype(int), np.asarray(run.y_pred).astype(int)
    if index.max(initial=0) >= len(ds) or not np.array_equal(np.asarray(ds.y)[index], y_true):
        return [("clips", "Test clips", '<p class="note">The dataset has changed since this run was trained, so '
                 "its clips are not shown.</p>")]
    pick = np.random.default_rng(0).choice(len(index), size=min(limit, len(index)), replace=False)
    proba = run.proba if run.proba is not None else np.ones((len(index), len(names)))
    labels = [(names[y_true[i]], names[y_pred[i]], float(proba[i][y_pred[i]])) for i in pick]
    audio = run.preprocess["audio"]
    seconds = audio["clip_samples"] / audio["sample_rate"]  # the run's clip length, not always 1 s
    intro = (f'<p class="note">{len(pick)} test clips drawn at random: the waveform ({seconds:.3g} s) above its log-mel '
             "spectrogram (time to the right, low frequencies at the bottom), as the model sees it.</p>")
    out = [("clips", "Test clips", intro + cards(ds, run.preprocess, index[pick], labels))]
    if ds.groups is not None:
        from idealfit.data.spoken_digits import voice_group

        groups = np.array([voice_group(g) for g in np.asarray(ds.groups)[index]])
        body = "".join(f"<tr><td class=\"text\">{escape(g)}</td><td>{n}</td><td>{acc:.1%}</td></tr>"
                       for g, n, acc in group_accuracy(groups, y_true, y_pred))
        note = ('<p class="note">Test accuracy per voice group (the accent of the voice), worst first. Every voice '
                "of the test split was unheard in training: the split keeps each voice in one split.</p>")
        out.append(("voice-groups", "Accuracy per voice group",
                    f'<table><tr><th>group</th><th>test clips</th><th>accuracy</th></tr>{body}</table>' + note))
    return out
