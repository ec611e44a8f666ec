"""A folder of WAV files, end to end: train, the report's clips, predict on WAV files round-trips, clear errors."""

import csv
import json

import numpy as np
import pytest
from scipy.io import wavfile

from idealfit.cli import main


def _write_folder(root, *, n=10, rate=16000):
    """Two classes of short 'words': a rising and a falling chirp, at several loudness levels and offsets."""
    rng = np.random.default_rng(0)
    for cls, (f0, f1) in (("rise", (300, 1800)), ("fall", (1800, 300))):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            t = np.arange(int(0.15 * rate)) / rate
            phase = 2 * np.pi * np.cumsum(np.linspace(f0, f1, t.size)) / rate
            x = np.zeros(int(0.25 * rate))
            start = int(rng.integers(0, x.size - t.size))
            x[start:start + t.size] = rng.uniform(0.2, 0.9) * np.sin(phase)
            x += 0.01 * rng.standard_normal(x.size)
            data = np.round(x * 32767).astype(np.int16)
            wavfile.write(root / cls / f"{i}.wav", rate, np.stack([data, data], 1) if i % 2 else data)


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    data = root / "chirps"
    _write_folder(data)
    out = root / "run"
    assert main(["train", "--data", str(data), "--epochs", "4", "--out", str(out), "--no-progress",
                 "--set", "data.clip_seconds=0.25", "--set", "data.n_mels=20",
                 "--set", "data.augment=[freq_mask, {name: time_mask, width: 3}]"]) == 0
    return data, out


def test_a_wav_folder_trains_as_audio_with_its_settings(audio_run):
    _, out = audio_run
    state = json.loads((out / "preprocess.json").read_text())
    assert state["kind"] == "audio" and state["input_shape"] == [1, 20, 26]
    assert state["audio"] == {"sample_rate": 8000, "clip_samples": 2000, "n_fft": 256, "hop": 80, "n_mels": 20,
                              "padding": "masked"}
    cfg = (out / "config.yaml").read_text()
    assert "name: rnn" in cfg and "freq_mask" in cfg  # the audio defaults (config.AUDIO_DEFAULTS)
    assert "batch_size: 16" in cfg  # 14 training clips: not one step of 64 an epoch (audio.few_clips_batch)
    summary = json.loads((out / "summary.json").read_text())
    assert "majority" in summary["baselines"]
    # audio's fitted baseline: a linear model on principal components of the log-mel features (14 clips: 13 of them)
    assert summary["baselines"]["linear"]["note"].startswith("logistic regression on 13 principal components")
    html = (out / "report.html").read_text()
    assert "Test clips" in html and "Confusion matrix" in html and "data:image/png;base64" in html
    assert "Frequency mask" in html or (out / "augment.png").exists()


def test_predict_on_wav_files_round_trips(audio_run, capsys):
    from idealfit.data.audio import load_clip
    from idealfit.run import load_run

    data, out = audio_run
    files = sorted(data.glob("*/*.wav"))
    test = np.load(out / "split.npz")["test"]
    stored = np.load(out / "predictions.npz")
    picked = [files[i] for i in test]
    assert main(["predict", str(out), *map(str, picked)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0][:2] == ["input", "predicted"] and [r[0] for r in rows[1:]] == list(map(str, picked))
    run = load_run(out)
    order = np.argsort(stored["index"])  # predictions.npz rows follow the test indices
    proba = np.asarray(stored["proba"])[order]
    for r, p in zip(rows[1:], proba, strict=True):
        assert [float(v) for v in r[2:]] == pytest.approx(p.tolist(), abs=1e-5)
        assert r[1] == run.class_names[int(np.argmax(p))]
    waves = np.stack([load_clip(f, sample_rate=8000, clip_samples=2000) for f in picked])
    assert np.allclose(run.predict_array(waves), proba, atol=1e-5)  # raw waveforms (N, 1, samples) too


def test_an_audio_run_reloads_and_evaluates_the_same(audio_run):
    from idealfit.run import load_run

    _, out = audio_run
    run = load_run(out)
    summary = json.loads((out / "summary.json").read_text())
    assert run.evaluate()["accuracy"] == pytest.approx(summary["metrics"]["test"]["accuracy"])


def test_audio_errors_are_one_line(audio_run, tmp_path, cli_error):
    data, out = audio_run
    bad = tmp_path / "clip.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    cli_error(["predict", str(out), str(bad)], "clip.wav is not a readable WAV file")
    line = cli_error(["predict", str(out), str(bad)], "re-record or re-export it")
    assert "convert" not in line
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    cli_error(["predict", str(out), str(txt)], "trained on audio; ", "notes.txt is not a .wav file")
    cli_error(["predict", "--out", str(tmp_path / "p.csv"), str(out), str(bad)], "clip.wav")
    assert not (tmp_path / "p.csv").exists()
    cli_error(["train", "--data", "digits", "--set", "data.n_mels=20"], "data.n_mels works on audio")
    cli_error(["train", "--data", str(data), "--set", "data.augment=[flip]"], "flip does not apply to audio",
              "freq_mask, time_mask")
    cli_error(["train", "--data", "digits", "--set", "data.augment=[time_mask]"], "time_mask does not apply to image")
    cli_error(["train", "--data", str(data / "rise" / "0.wav")], "single recording")
    corrupt = tmp_path / "folder"
    _write_folder(corrupt, n=2)
    (corrupt / "rise" / "9.wav").write_bytes(b"not audio")
    cli_error(["train", "--data", str(corrupt)], "9.wav is not a readable WAV file", "data.skip_unreadable=true")


def test_onnx_export_of_an_audio_run_takes_the_log_mel_features(audio_run, tmp_path):
    """The graph starts at the features (the spec says how to make them): onnxruntime on the features of WAV
    files gives predict's probabilities for those files."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from idealfit.data.audio import read_audio_files
    from idealfit.run import load_run

    data, out = audio_run
    onnx_path = tmp_path / "m.onnx"
    assert main(["export", str(out), "--onnx", str(onnx_path)]) == 0
    spec = json.loads(onnx_path.with_name("m.onnx.json").read_text())
    assert any("log-mel" in step and "data.audio.features" in step for step in spec["preprocessing"])
    run = load_run(out)
    files = sorted(data.glob("*/*.wav"))[::4]
    x = read_audio_files(run.state, files)
    assert spec["input"]["shape"][1:] == list(x.shape[1:])
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {spec["input"]["name"]: x})[0]
    _, want = run.predict(files)  # predict's own probabilities for those WAV files
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_folder_of_wav_files_is_predicted_and_explained_file_by_file(audio_run, tmp_path, capsys, cli_error):
    """A folder stands for every WAV under it (sub-folders too), sorted by the path inside it, as for images."""
    data, out = audio_run
    folder = tmp_path / "new"
    (folder / "b").mkdir(parents=True)
    (folder / "a.wav").write_bytes((data / "rise" / "1.wav").read_bytes())
    (folder / "b" / "c.wav").write_bytes((data / "fall" / "2.wav").read_bytes())
    (folder / "notes.txt").write_text("not a recording: left out")
    assert main(["predict", str(out), str(folder)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert [r[0] for r in rows[1:]] == [str(folder / "a.wav"), str(folder / "b" / "c.wav")]
    assert main(["predict", str(out), str(data / "rise" / "1.wav"), str(data / "fall" / "2.wav")]) == 0
    one_by_one = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert [r[1:] for r in rows[1:]] == [r[1:] for r in one_by_one[1:]]
    assert main(["explain", str(out), "--input", str(folder), "--out", str(tmp_path / "ex")]) == 0
    said = capsys.readouterr().out
    assert said.startswith("a.wav: ") and "\nb/c.wav: " in said
    assert (tmp_path / "ex" / "saliency_1.png").stat().st_size > 1000
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.png").write_bytes(b"an image, not a recording")
    cli_error(["predict", str(out), str(tmp_path / "empty")], "holds no WAV files (.wav, .wave)",
              "pass a folder of WAV files")


@pytest.mark.parametrize("name", ["wine.csv", "photo.png", "arrays.npz"])
def test_other_files_on_an_audio_run_say_it_takes_wav_files(audio_run, tmp_path, cli_error, name):
    _, out = audio_run
    (tmp_path / name).write_bytes(b"a,b\n1,2\n")
    cli_error(["predict", str(out), str(tmp_path / name)], "this run was trained on audio",
              f"{name} is not a .wav file", "give it .wav recordings")


def test_skip_unreadable_leaves_out_a_corrupt_wav_lists_it_and_evaluates_the_same(tmp_path, capsys):
    from idealfit.run import load_run

    data = tmp_path / "chirps"
    _write_folder(data, n=4)
    (data / "rise" / "9.wav").write_bytes(b"RIFF....WAVEjunk")
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--epochs", "1", "--out", str(out), "--no-progress",
                 "--set", "data.clip_seconds=0.25", "--set", "data.skip_unreadable=true"]) == 0
    assert "skipped 1 unreadable WAV file (data.skip_unreadable): rise/9.wav" in capsys.readouterr().out
    state = json.loads((out / "preprocess.json").read_text())
    assert state["meta"]["unreadable_files"] == ["rise/9.wav"] and len(state["meta"]["files"]) == 8
    summary = json.loads((out / "summary.json").read_text())
    got = load_run(out).evaluate()["loss"]  # the same file skipped again, the same test split
    assert got == pytest.approx(summary["metrics"]["test"]["loss"], rel=1e-5)


def test_a_clip_shorter_than_one_frame_is_refused_before_any_work(tmp_path, cli_error):
    line = cli_error(["train", "--data", "spoken_digits", "--epochs", "1", "--out", str(tmp_path / "r"),
                      "--set", "data.clip_seconds=0.01"],
                     "data.clip_seconds=0.01 gives 80 samples at 8000 Hz", "at least 129",
                     "use at least data.clip_seconds=0.017")
    assert "Traceback" not in line and not (tmp_path / "r").exists()


def test_a_class_folder_without_wav_files_is_refused_by_name(tmp_path, cli_error):
    """The newcomer's speech/ of .mp3 files beside two WAV classes used to vanish: the run trained on 2 classes."""
    data = tmp_path / "wavs3"
    _write_folder(data, n=3)
    (data / "speech").mkdir()
    for i in range(3):
        (data / "speech" / f"s{i}.mp3").write_bytes(b"ID3xxxx")
    cli_error(["train", "--data", str(data), "--epochs", "1", "--out", str(tmp_path / "run")],
              f"class folder {data / 'speech'} holds no WAV files (.wav, .wave) but only 3 other files (.mp3)",
              "convert its recordings to .wav or remove the folder")
    assert not (tmp_path / "run").exists()
    only = tmp_path / "mp3only"  # every class of .mp3: an audio folder, not an image folder with "0 image(s)"
    for cls in ("a", "b"):
        (only / cls).mkdir(parents=True)
        (only / cls / "x.mp3").write_bytes(b"ID3xxxx")
    line = cli_error(["train", "--data", str(only), "--epochs", "1"], f"class folder {only / 'a'} holds no WAV files",
                     "convert its recordings to .wav")
    assert "image" not in line


def test_non_wav_files_are_listed_at_train_and_predict(audio_run, tmp_path, capsys):
    from idealfit.data.audio import load_audio_folder
    from idealfit.data.images import folder_notes

    data = tmp_path / "wavs2"
    _write_folder(data, n=3)
    (data / "fall" / "clip.mp3").write_bytes(b"ID3xxxx")
    (data / "fall" / "notes.txt").write_text("not a recording")
    (data / "README.md").write_text("about these clips")
    ds = load_audio_folder(data, sample_rate=8000, clip_seconds=0.25)
    assert len(ds) == 6 and ds.meta["skipped_files"] == ["README.md", "fall/clip.mp3", "fall/notes.txt"]
    # only the recording is to be converted; README.md and notes.txt are no audio (newcomer 7, R21)
    assert folder_notes(ds.meta) == ["skipped 3 non-WAV files (README.md, fall/clip.mp3, fall/notes.txt): convert "
                                     "the recordings (fall/clip.mp3) to .wav to use them; the other files are not audio"]
    _, out = audio_run
    assert main(["predict", str(out), str(data / "fall")]) == 0
    said = capsys.readouterr()
    assert len(said.out.strip().splitlines()) == 4  # header and the 3 WAV files
    assert said.err.strip() == (f"{data / 'fall'}: skipped 2 non-WAV files (clip.mp3, notes.txt): convert the "
                                "recordings (clip.mp3) to .wav to use them; the other files are not audio")
    (data / "fall" / "notes.txt").unlink()  # only recordings skipped: "them" are the recordings
    assert main(["predict", str(out), str(data / "fall")]) == 0
    assert capsys.readouterr().err.strip() == (f"{data / 'fall'}: skipped 1 non-WAV file (clip.mp3): convert them "
                                               "to .wav to use them")


def test_predict_says_which_clips_it_cut_or_padded_and_predicts_as_before(audio_run, tmp_path, capsys):
    """Newcomer report 6, R9: a 30 s recording was silently cut to the run's clip length."""
    from idealfit.data.audio import load_clip
    from idealfit.run import load_run

    data, out = audio_run
    rng = np.random.default_rng(3)
    wavfile.write(tmp_path / "long.wav", 8000, (rng.standard_normal(3 * 8000) * 3000).astype(np.int16))  # 3 s
    wavfile.write(tmp_path / "blip.wav", 8000, np.full(40, 9000, np.int16))  # 5 ms
    ok = sorted(data.glob("rise/*.wav"))[0]  # 0.25 s: the run's own length, no note
    assert main(["predict", str(out), str(tmp_path / "long.wav"), str(tmp_path / "blip.wav"), str(ok)]) == 0
    got = capsys.readouterr()
    lines = got.err.strip().splitlines()
    assert lines == [
        "1 WAV file longer than the run's 0.25 s clips, cut to their first 0.25 s (as training cut its longest "
        "clips): long.wav (3 s); cut a long recording into clips of that length to hear all of it",
        "1 WAV file under a quarter of the run's 0.25 s clips, padded with silence: blip.wav (0.005 s)"]
    rows = list(csv.reader(got.out.splitlines()))[1:]
    first = load_clip(tmp_path / "long.wav", sample_rate=8000, clip_samples=2000)[None]  # its first 0.25 s
    assert [float(v) for v in rows[0][2:]] == pytest.approx(load_run(out).predict_array(first)[0].tolist(), abs=1e-5)


def test_the_reports_clips_show_the_runs_clip_length_and_their_files(audio_run):
    """Newcomer report 6, R10: the caption said "waveform (1 s)" for any run, and a clip card had no file name."""
    import re

    data, out = audio_run
    html = (out / "report.html").read_text()
    assert "the waveform (0.25 s) above" in html and "(1 s)" not in html
    shown = re.findall(r'<span class="file">([^<]+)</span><br>true <b>(\w+)</b>', html)
    assert len(shown) == len(np.load(out / "split.npz")["test"])  # every test clip, named by its file in the folder
    for name, true in shown:  # the file exists and lies in its true class's folder
        assert (data / name).is_file() and name.split("/")[0] == true


def test_predict_out_on_a_folder_of_wavs_refuses_an_input_and_writes_a_new_csv(audio_run, tmp_path, cli_error):
    data, out = audio_run
    wav = data / "rise" / "1.wav"
    before = wav.read_bytes()
    cli_error(["predict", str(out), str(data / "rise"), "--out", str(wav)], "is one of the inputs",
              "give a new file name")
    assert wav.read_bytes() == before  # the recording is untouched
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(out), str(data / "rise"), "--out", str(preds)]) == 0
    rows = list(csv.reader(preds.read_text().splitlines()))
    assert [r[0] for r in rows[1:]] == [str(data / "rise" / f"{i}.wav") for i in range(10)]
