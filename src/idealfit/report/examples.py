"""The test examples the model got wrong most confidently: thumbnails for images, rows for tables.

The samples themselves are not in the run folder: the dataset is re-loaded from the run's config
(`load_dataset(config.data)`) and indexed with predictions.npz's `index`. The source may have moved
or changed since training; then the section says so instead of failing the report.
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

import numpy as np

from idealfit.errors import UserError
from idealfit.report.sections import fmt
from idealfit.report.stats import confident_mistakes

THUMB_PX = 72  # a thumbnail's longer side on the page, in pixels (small images are enlarged, pixels kept sharp)


def _thumbnail(image: np.ndarray) -> bytes:
    """(C, H, W) or (H, W) floats -> PNG bytes, scaled to its own min..max (±1 and 0..1 data both show)."""
    from PIL import Image

    arr = np.asarray(image, dtype=np.float64)
    arr = arr[0] if arr.ndim == 3 and arr.shape[0] == 1 else arr.transpose(1, 2, 0) if arr.ndim == 3 else arr
    lo, span = arr.min(), arr.max() - arr.min()
    pixels = np.uint8(np.round(255 * ((arr - lo) / span if span > 0 else np.zeros_like(arr))))
    img = Image.fromarray(pixels)
    scale = max(1, THUMB_PX // max(img.size))
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _load(run_dir: Path):
    """The run's dataset, or a sentence saying why it cannot be shown."""
    import dataclasses

    from idealfit.data.prepare import load_dataset
    from idealfit.run import load_config

    try:
        cfg = load_config(run_dir).data
        if Path(cfg.name).expanduser().is_dir():  # an image folder: list its files, open only the 8 shown
            cfg = dataclasses.replace(cfg, max_memory_mb=0)
        return load_dataset(cfg)
    except (UserError, OSError, ValueError) as err:
        return f"The dataset could not be re-loaded to show them ({err})."


def _sample(ds, i: int) -> np.ndarray:
    if ds.paths is not None:  # an image folder streamed from disk: open just this file
        from idealfit.data.images import OLD_RUN_RESIZE, open_image

        return open_image(Path(ds.paths[i]), size=ds.meta["image_size"], channels=ds.meta["channels"],
                          resize=ds.meta.get("resize", OLD_RUN_RESIZE))
    return ds.x[i]


MISSING_NOTE = ('<p class="note"><i>missing</i>: an empty cell in the file (NA, ?, empty...); a number is filled '
                'with the training split\'s value (data.impute), a text cell is its own category.</p>')


def row_name(ds, i: int) -> str:
    """A table row named as `idealfit predict` names it: its identifier's value when the run has one, else
    file.csv:LINE (the header is line 1); "row i" for data without file lines (NPZ, embedded tables)."""
    from idealfit.data.inputs import id_text

    if ds.row_ids is not None and (name := id_text(ds.row_ids[i])):
        return name
    if ds.lines is not None:
        return f"{Path(ds.meta.get('source', ds.name)).name}:{int(ds.lines[i])}"
    return f"row {i}"


def cell(v) -> str:
    """A raw table cell for the page: whole numbers whole (101600, not 1.016e+05), others to 4 significant
    digits, missing cells (NaN or None, numbers and text alike) as <i>missing</i>."""
    from idealfit.data.table import is_missing

    if is_missing(v):
        return "<i>missing</i>"
    if isinstance(v, (float, np.floating)) and float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v)}"
    return fmt(v)


def _image_name(ds, i: int) -> str:
    """An image's file, relative to the run's folder (as the folder's notes name files); else test example i."""
    if ds.paths is None:
        return f"test example {i}"
    root = Path(ds.meta.get("source", ""))
    path = Path(ds.paths[i])
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def mistakes_html(run_dir: Path, y_true, y_pred, proba, index, names: list[str], *, limit: int = 8) -> str:
    """The section body: up to `limit` most confident mistakes, or a note why there are none to show."""
    pos = confident_mistakes(y_true, y_pred, proba, limit=limit)
    if pos.size == 0:
        return '<p class="note">The model got every test example right.</p>'
    ds = _load(run_dir)
    if isinstance(ds, str):
        return f'<p class="note">{escape(ds)}</p>'
    rows = np.asarray(index)[pos].astype(np.int64)
    if rows.max() >= len(ds) or not np.array_equal(np.asarray(ds.y)[rows], np.asarray(y_true)[pos]):
        return ('<p class="note">The dataset has changed since this run was trained (its rows no longer match '
                "the test labels), so its examples are not shown.</p>")
    label = [(names[int(y_true[p])], names[int(y_pred[p])], float(proba[p][int(y_pred[p])])) for p in pos]
    intro = (f'<p class="note">The {len(pos)} test examples the model was most sure about and got wrong: '
             "often a label error, an ambiguous example, or a kind of input the training data lacks.</p>")
    if ds.kind == "image":
        cards = []
        for row, (true, pred, p) in zip(rows, label, strict=True):
            data = base64.b64encode(_thumbnail(_sample(ds, int(row)))).decode("ascii")
            name = escape(_image_name(ds, int(row)))  # the file, so a user can go and check a possible label error
            cards.append(f'<figure class="thumb"><img src="data:image/png;base64,{data}" alt="{name}" title="{name}">'
                         f'<figcaption><span class="file">{name}</span><br>true <b>{escape(true)}</b><br>predicted '
                         f"<b>{escape(pred)}</b> ({p:.0%})</figcaption></figure>")
        return intro + f'<div class="thumbs">{"".join(cards)}</div>'
    if ds.kind == "table":
        columns = ds.columns or [f"column {j}" for j in range(np.asarray(ds.x[0]).size)]
        head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
        body = []
        for row, (true, pred, p) in zip(rows, label, strict=True):
            cells = "".join(f"<td>{cell(v)}</td>" for v in ds.x[int(row)])
            body.append(f"<tr><th>{escape(row_name(ds, int(row)))}</th><td class=\"text\">{escape(true)}</td>"
                        f"<td class=\"text\">{escape(pred)}</td><td>{p:.0%}</td>{cells}</tr>")
        return (intro + '<div class="scroll"><table class="mistakes"><tr><th>row</th><th>true</th>'
                f'<th>predicted</th><th>probability</th>{head}</tr>{"".join(body)}</table></div>' + MISSING_NOTE)
    if ds.kind == "text":  # the text itself and the model's three most likely classes
        from idealfit.data.text import text_cells

        others = list(ds.columns or [])[1:]  # table columns beside the text (data/text_table.py): shown after it
        body = []
        for p, row, (true, pred, _) in zip(pos, rows, label, strict=True):
            top = np.argsort(-np.asarray(proba[p]))[:3]
            tops = ", ".join(f"{escape(names[int(k)])} {float(proba[p][k]):.0%}" for k in top)
            cells = "".join(f"<td>{cell(ds.x.cols[j][int(row)])}</td>" for j in range(1, len(others) + 1))
            body.append(f'<tr><th>{escape(row_name(ds, int(row)))}</th><td class="text">{escape(str(text_cells(ds.x)[int(row)]))}</td><td class="text">'
                        f'{escape(true)}</td><td class="text">{escape(pred)}</td><td class="text">{tops}</td>{cells}</tr>')
        head = "".join(f"<th>{escape(str(c))}</th>" for c in others)
        return (intro + '<div class="scroll"><table class="mistakes"><tr><th>row</th><th>text</th><th>true</th>'
                f'<th>predicted</th><th>top-3 probabilities</th>{head}</tr>{"".join(body)}</table></div>')
    if ds.kind == "audio":  # waveform and spectrogram thumbnails (report/audio.py)
        import json

        from idealfit.report.audio import cards
        from idealfit.run_files import read_text

        return intro + cards(ds, json.loads(read_text(run_dir, "preprocess.json")), rows, label)
    return intro + f'<p class="note">Rows {", ".join(map(str, rows))} of the dataset ({escape(ds.kind)} data).</p>'
