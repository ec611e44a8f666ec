"""The words of an exported graph's spec (`<path>.json`, "preprocessing"): what a caller must do to a raw sample
before the graph, in order, so that the graph computes what `idealfit predict` does (export.py writes the spec).
For image files the steps name the exact Pillow operations predict applies (tests/test_export_images.py follows
them with plain Pillow and numpy)."""

from __future__ import annotations

from typing import Any

from idealfit.data.preprocess import clip_rule


def preprocessing_steps(state: dict[str, Any]) -> list[str]:
    """What a caller must do to a raw sample before the graph, in order (the graph does the rest)."""
    kind, steps = state["kind"], []
    if kind == "table":
        t, o = state["table"], state["table"]["options"]
        parts = ([f"clip to the {clip_rule(o)}"] if t.get("clip") else []) + \
                [f"fill missing values ({o['impute']})"] + \
                (["add missing-value indicators"] if o.get("missing_indicator") else []) + \
                [f"scale ({o['scale']})"] + \
                ([f"one-hot encode {', '.join(str(t['columns'][i]) for i in t['categorical'])}"] if t.get("categorical") else []) + \
                (["project on the PCA components"] if t.get("pca") else [])
        steps.append(f"take the cells of the columns {', '.join(state['columns'])} in that order")
        steps.append(f"apply the table preprocessing fitted in preprocess.json 'table': {', '.join(parts)}; "
                     "idealfit's data.prepare.transform_inputs(state, rows) does exactly this")
    elif kind == "text":
        steps += _text_steps(state)
    elif kind == "audio":  # the graph takes the log-mel features; the spec says how to make them
        a = state["audio"]
        steps.append(f"mono waveforms at {a['sample_rate']} Hz (stereo averaged; other rates resampled), cut or "
                     f"padded with zeros to {a['clip_samples']} samples: (1, {a['clip_samples']}) float32 in [-1, 1]")
        steps.append(f"log-mel spectrogram: power STFT (n_fft {a['n_fft']}, hop {a['hop']}, periodic Hann window, "
                     f"centred frames with reflect padding), {a['n_mels']} HTK mel bands, log(power + 1e-6), then "
                     "each file standardized by its own mean and std" + (
                         f" over its real frames only (a clip of n samples padded to {a['clip_samples']}: its first "
                         f"n // {a['hop']} + 1 frames, computed as if the file ended at n), the padded frames set "
                         "to 0" if a.get("padding") == "masked" else "") + "; idealfit's "
                     "data.audio.features(state['audio'], waves, lengths) does exactly this (data/mel.py)")
    elif kind == "series":
        info, c, w = state["meta"]["series"], *state["input_shape"]
        steps.append(f"the last {w} values of the columns {', '.join(info['columns'])} on the run's time grid (gaps "
                     f"filled as at training: data/series.py), as (C, window) = {c}×{w} float32 arrays")
        steps.append("standardize each column with preprocess.json 'series' mean and std")
    else:
        a, meta = state["array"], state.get("meta") or {}
        shape = "×".join(map(str, a["raw_shape"]))
        if kind in ("image", "image_pair"):
            files = f"; from image files: {image_file_steps(a['raw_shape'], meta)}" if "resize" in meta else ""
            steps.append(f"images as (C, H, W) = {shape} float32 arrays in the training data's units{files}")
        else:
            steps.append(f"signals as (C, L) = {shape} float32 arrays in the training data's units")
        if a["options"].get("downsample", 1) > 1:
            steps.append(f"average-pool each side by {a['options']['downsample']}")
        if a.get("pca"):
            steps.append("standardize per channel with preprocess.json 'array.norm', flatten, and project on "
                         "'array.pca' (components, after subtracting its mean)")
    if "reconstruction" in state:
        steps.append("standardize per channel with preprocess.json 'target' mean and std")
    elif state.get("norm") and kind != "text":
        steps.append("nothing else: the per-channel standardization is inside the graph")
    return steps


def image_file_steps(raw_shape: list[int], meta: dict[str, Any]) -> str:
    """The exact operations `idealfit predict` applies to an image file (data/images.py: open_image,
    to_square), worded so that plain Pillow and numpy reproduce its input to 1e-6 (tests/test_export_images.py)."""
    c, s = raw_shape[0], raw_shape[1]
    mode, bil = ("L" if c == 1 else "RGB"), "Image.Resampling.BILINEAR"
    rule = {
        "crop": f"crop: cut the centred square of side m = min(W, H) from the W×H image, its box NOT rounded "
                f"(left = (W - m) / 2, top = (H - m) / 2, floats), and resample that box to {s}×{s} in one step: "
                f"im.resize(({s}, {s}), {bil}, box=(left, top, left + m, top + m)), which is "
                f"ImageOps.fit(im, ({s}, {s}), {bil}); the cut comes before the resampling",
        "squash": f"squash: im.resize(({s}, {s}), {bil}), each side scaled on its own",
        "pad": f"pad: scale the long side to {s}, the short one to round(short / long * {s}) (Python's round, "
               f"half to even), with im.resize(..., {bil}), then paste it onto a black {s}×{s} image at offset "
               f"round(({s} - new short side) / 2) along the short side: ImageOps.pad(im, ({s}, {s}), {bil}, color=0)",
    }.get(meta["resize"], meta["resize"])
    lo, hi = meta.get("pixel_range", (0.0, 1.0))
    return (f"open with Pillow, apply the EXIF orientation (ImageOps.exif_transpose), im.convert({mode!r}) (an alpha "
            f"channel is dropped, not blended), then, unless it already is {s}×{s}, {rule}. Pillow's BILINEAR "
            "resize is a triangle filter that widens with the shrink factor (it averages every source pixel "
            "under it, unlike torch's bilinear interpolate); then np.asarray(im, np.float32) / 255 "
            f"(float32), as (C, H, W) = {c}×{s}×{s}"
            + (f", then x * {hi - lo:g}" + (f" {'+-'[lo < 0]} {abs(lo):g}" if lo else "") + f" (to [{lo:g}, {hi:g}])"
               if (lo, hi) != (0, 1) else "")
            + ". A 16-bit gray file (mode I or I;16) is divided by 65535 into a float32 mode-F image before the "
            "resampling" + (" and copied into the 3 channels" if c == 3 else ""))


def _text_steps(state: dict[str, Any]) -> list[str]:
    """A text run's steps: tokens, ids from the saved vocabulary, padding to the graph's fixed length."""
    t, features = state["text"], int(state["norm"].get("table_features", 0))
    how = "one per character" if t["tokens"] == "char" else "words and punctuation marks (regex \\w+|[^\\w\\s])"
    steps = [f"lowercase the text of column {state['columns'][0]} and cut it into tokens, {how} (an empty or "
             "missing cell: no token, so a row of <pad> only)",
             "map each token to its id in preprocess.json 'text.itos' (its position; a token not there is "
             "<unk>, id 1)",
             f"cut at {t['max_length']} tokens and pad with <pad> (id 0) at the end to {t['max_length']}: "
             + ("int64 ids (N, " + str(t["max_length"]) + ")" if not features else "the last columns of the input")]
    if features:
        steps.append(f"the table columns {', '.join(state['columns'][1:])}: apply the table preprocessing fitted in "
                     f"preprocess.json 'text.table' ({features} features), and put them first: float32 "
                     f"(N, {features} + {t['max_length']}), the ids as whole numbers")
    steps.append("idealfit's data.prepare.transform_inputs(state, inputs) and export.graph_input do exactly this; "
                 "the embedding and the recurrent network are inside the graph")
    return steps
