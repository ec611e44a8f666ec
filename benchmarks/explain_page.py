"""The explainer page (issue 13): its size, the cost of writing it, and its hand-written JavaScript forward pass
in headless Chromium against PyTorch's forward pass of the same network on the same gallery examples.

The page redraws every layer while the learner draws, so one forward pass must fit well inside a frame
(16 ms); PyTorch on one example (batch 1, eval, no autograd, 1 thread) is the baseline.

Then the page's size for the default CNN on a folder of 64 px RGB pictures (2.1M parameters, most of them the
16384→128 dense layer), against the same page as it was before explain/page_size.py (every weight float32,
the full gallery), measured in the same run, and that page's self-check in Chromium.

Run: python benchmarks/explain_page.py [--repeats 50] [--tiny]
(the default digits CNN, trained with the defaults; --tiny trains 1 epoch, repeats 5 times and uses 32 px
pictures). Needs Debian's `chromium` and websocket-client (requirements-dev.txt).
Measured 2026-11-27 on 2 shared CPU cores at load average 8-9 (noisy), default digits CNN, 14 gallery
examples, 50 repeats, two runs: page 0.32 MB, written in 0.26 s, self-check max |dp| 2.5e-7; forward pass
2.3-2.8 ms in the page against 0.39-0.42 ms in PyTorch (5.9-6.6x): 6-7 passes per 16 ms frame.
Measured 2026-11-28, same machine at load average 12-13 (timings noisier still): digits page 0.322 MB
(unchanged: its dense layer, 256→128, stays float32); 64 px RGB folder, 3 epochs: 6.32 MB against 11.91 MB
before (0.53x: the dense weights at float16 5.6 MB, 9 gallery inputs 0.6 MB), self-check |dp| 7.3e-6 (agrees).
The newcomer's run (skimage textures, 8 epochs): 12.31 MB before, 6.32 MB now, self-check |dp| 5.1e-6 in Chromium.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import idealfit as fit
from idealfit.cli import main as cli

JS_TIMING = """(() => {
  const inputs = DATA.examples.map(inputOf), t0 = performance.now();
  for (let r = 0; r < %d; r++) for (const x of inputs) forward(DATA.layers, x);
  return (performance.now() - t0) / (%d * inputs.length) / 1000;
})()"""


def page_forward_seconds(page: Path, repeats: int) -> tuple[float, str]:
    """(seconds per example of the page's forward pass, the self-check text), in headless Chromium."""
    import websocket

    profile = Path(tempfile.mkdtemp())
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
             "--disable-background-networking", f"--user-data-dir={profile}", page.resolve().as_uri()]
    proc = subprocess.Popen([shutil.which("chromium"), *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        while not (port_file.is_file() and port_file.read_text().strip()):
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=120, suppress_origin=True)

        def js(expr):
            ws.send(json.dumps({"id": 1, "method": "Runtime.evaluate",
                                "params": {"expression": expr, "returnByValue": True}}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == 1:
                    return msg["result"]["result"].get("value")

        while js("document.getElementById('selfcheck') && document.getElementById('selfcheck').dataset.status") is None:
            time.sleep(0.1)
        js(JS_TIMING % (2, 2))  # warm-up: the JIT compiles the loops
        seconds = js(JS_TIMING % (repeats, repeats))
        check = js("document.getElementById('selfcheck').textContent")
        ws.close()
        return seconds, check
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(profile, ignore_errors=True)


def gallery_inputs(page: Path) -> torch.Tensor:
    """The page's gallery examples (base64 float32 in its JSON), as the model's batch."""
    html = page.read_text(encoding="utf-8")
    start = html.index('id="page-data">') + len('id="page-data">')
    data = json.loads(html[start : html.index("</script>", start)])
    xs = [np.frombuffer(base64.b64decode(e["x"]), dtype="<f4") for e in data["examples"]]
    return torch.from_numpy(np.stack(xs).reshape(len(xs), *data["input_shape"]).copy())


def torch_forward_seconds(run, x: torch.Tensor, repeats: int) -> float:
    model = run.model.eval()
    with torch.inference_mode():
        for xi in x[:2]:
            model(xi[None])
        t0 = time.perf_counter()
        for _ in range(repeats):
            for xi in x:
                model(xi[None])
    return (time.perf_counter() - t0) / (repeats * len(x))


def old_page_bytes(run_dir: Path) -> int:
    """The page's size as it was before explain/page_size.py: every weight float32, the full gallery."""
    from idealfit.explain import page_size
    from idealfit.explain.page import run_page

    kept = page_size.HALF_MIN, page_size.EXAMPLE_BUDGET
    page_size.HALF_MIN, page_size.EXAMPLE_BUDGET = 10**12, 10**15
    try:
        return len(run_page(fit.load_run(run_dir))[0].encode("utf-8"))
    finally:
        page_size.HALF_MIN, page_size.EXAMPLE_BUDGET = kept


def picture_folder(root: Path, side: int) -> Path:
    """3 classes x 20 RGB pictures (side x 1.25 side) of noisy stripes at three angles, in root/pics."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: side, : side * 5 // 4]
    for k, cls in enumerate(("flat", "steep", "cross")):
        (root / "pics" / cls).mkdir(parents=True)
        for i in range(20):
            wave = np.sin((xx * (k != 1) + yy * (k != 0)) * rng.uniform(0.3, 0.6) + rng.uniform(0, 6))
            px = 128 + 80 * wave[..., None] * rng.uniform(0.5, 1, 3) + rng.normal(0, 30, (*wave.shape, 3))
            Image.fromarray(np.clip(px, 0, 255).astype(np.uint8)).save(root / "pics" / cls / f"{i}.png")
    return root / "pics"


def folder_page(tmp: Path, side: int, epochs: int) -> None:
    """The default CNN on a folder of side x side RGB pictures: its page's size now and before."""
    run = fit.train(data=str(picture_folder(tmp, side)), epochs=epochs, out=tmp / "folder-run", verbose=False,
                    set={"train.progress": False, "data.image_size": side})
    cli(["explain", str(run.dir), "--page"])
    page = run.dir / "explain.html"
    size, old = page.stat().st_size, old_page_bytes(run.dir)
    check = page_forward_seconds(page, 1)[1] if shutil.which("chromium") else "(no chromium: not checked)"
    print(f"{side} px RGB folder, default CNN ({run.summary['params']:,} parameters): page {size / 1e6:.2f} MB against "
          f"{old / 1e6:.2f} MB with float32 weights and the full gallery ({size / old:.2f}x); {check}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--tiny", action="store_true", help="1 training epoch, 5 repeats (for the test suite)")
    args = ap.parse_args()
    repeats = 5 if args.tiny else args.repeats
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run = fit.train(data="digits", epochs=1 if args.tiny else None, out=Path(tmp) / "run", verbose=False,
                        set={"train.progress": False})
        t0 = time.perf_counter()
        cli(["explain", str(run.dir), "--page"])
        write_s = time.perf_counter() - t0
        page = run.dir / "explain.html"
        x = gallery_inputs(page)
        torch_s = torch_forward_seconds(fit.load_run(run.dir), x, repeats)
        size = page.stat().st_size
        if shutil.which("chromium") is None:  # the page's side needs a browser; say so instead of failing
            print(f"page: {size / 1e6:.2f} MB, written in {write_s:.2f} s; PyTorch {torch_s * 1e3:.3f} ms per "
                  "example; chromium is not on PATH, so the page's own forward pass was not timed")
            folder_page(Path(tmp), 32 if args.tiny else 64, 1 if args.tiny else 3)
            return
        js_s, check = page_forward_seconds(page, repeats)
        old = old_page_bytes(run.dir)
        print(f"page: {size / 1e6:.3f} MB (float32 weights, full gallery: {old / 1e6:.3f} MB), written in "
              f"{write_s:.2f} s; {check}")
        print(f"forward pass per example: page (JavaScript, Chromium) {js_s * 1e3:.3f} ms, "
              f"PyTorch (batch 1, 1 thread) {torch_s * 1e3:.3f} ms: ratio {js_s / torch_s:.2f}x; "
              f"{0.016 / js_s:.0f} passes fit in one 16 ms frame")
        folder_page(Path(tmp), 32 if args.tiny else 64, 1 if args.tiny else 3)


if __name__ == "__main__":
    main()
