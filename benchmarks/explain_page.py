"""The explainer page (issue 13): its size, the cost of writing it, and its hand-written JavaScript forward pass
in headless Chromium against PyTorch's forward pass of the same network on the same gallery examples.

The page redraws every layer while the learner draws, so one forward pass must fit well inside a frame
(16 ms); PyTorch on one example (batch 1, eval, no autograd, 1 thread) is the baseline.

Run: python benchmarks/explain_page.py [--repeats 50] [--tiny]
(the default digits CNN, trained with the defaults; --tiny trains 1 epoch and repeats 5 times). Needs Debian's
`chromium` and websocket-client (requirements-dev.txt).
Measured 2026-11-27 on 2 shared CPU cores at load average 8-9 (noisy), default digits CNN, 14 gallery
examples, 50 repeats, two runs: page 0.32 MB, written in 0.26 s, self-check max |dp| 2.5e-7; forward pass
2.3-2.8 ms in the page against 0.39-0.42 ms in PyTorch (5.9-6.6x): 6-7 passes per 16 ms frame.
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
            return
        js_s, check = page_forward_seconds(page, repeats)
    print(f"page: {size / 1e6:.2f} MB, written in {write_s:.2f} s; {check}")
    print(f"forward pass per example: page (JavaScript, Chromium) {js_s * 1e3:.3f} ms, "
          f"PyTorch (batch 1, 1 thread) {torch_s * 1e3:.3f} ms: ratio {js_s / torch_s:.2f}x; "
          f"{0.016 / js_s:.0f} passes fit in one 16 ms frame")


if __name__ == "__main__":
    main()
