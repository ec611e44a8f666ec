"""Shared test helpers; `browser`: a real headless Chromium driven over the Chrome DevTools protocol (pages
opened from disk as a user would; clicks and pen strokes dispatched as real input events; console errors and
uncaught exceptions collected), skipped when `chromium` is not on PATH, except under CI, which installs it."""

import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from idealfit.cli import main


@pytest.fixture
def cli_error(capsys):
    """`check(argv, *needles)`: `idealfit ...` exits 2 with exactly one stderr line `idealfit: error: ...`
    containing every needle; returns that line."""

    def check(argv, *needles):
        assert main(argv) == 2
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("idealfit: error: ")
        for needle in needles:
            assert needle in lines[0]
        return lines[0]

    return check


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium for the browser tests (the report, the explain page); CI installs it."""
    exe = shutil.which("chromium")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not on PATH; CI must install it (apt-get install chromium)")
        pytest.skip("chromium is not on PATH (install Debian's `chromium` to run the browser tests)")
    return exe


FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-port=0", "--window-size=1400,1000",
]  # fmt: skip


class Page:
    """One browser tab: `open(url)`, `js(expression)`, `click(x, y)`, `drag(points)`, `errors`."""

    def __init__(self, ws):
        self.ws, self.next_id, self.errors = ws, 0, []

    def _call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg):
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", "log error"))

    def open(self, url, *, ready="document.readyState === 'complete'"):
        for domain in ("Runtime", "Log", "Page"):
            self._call(f"{domain}.enable")
        self._call("Page.navigate", url=url)
        probe = f"(() => {{ try {{ return location.href === {json.dumps(url)} && !!({ready}); }} catch (e) {{ return false; }} }})()"
        for _ in range(300):  # up to 30 s on a busy machine
            if self.js(probe):
                return
            time.sleep(0.1)
        raise AssertionError(f"page not ready: {ready}")

    def js(self, expression):
        """The value of a JavaScript expression (JSON-serialisable), evaluated in the page."""
        out = self._call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise AssertionError(out["exceptionDetails"])
        return out["result"].get("value")

    def mouse(self, kind, x, y, buttons=1):
        self._call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=buttons,
                   clickCount=1)

    def click(self, x, y):
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y, buttons=0)

    def drag(self, points):
        self.mouse("mousePressed", *points[0])
        for p in points[1:]:
            self.mouse("mouseMoved", *p)
        self.mouse("mouseReleased", *points[-1], buttons=0)


@pytest.fixture
def browser(chromium, tmp_path):
    """A fresh headless Chromium; yields a function url -> Page (opened, its scripts run)."""
    import websocket

    profile = tmp_path / "profile"
    proc = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sockets = []
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.is_file() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")

        def open_page(url, **kw):
            ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
            sockets.append(ws)
            page = Page(ws)
            page.open(url, **kw)
            return page

        yield open_page
    finally:
        for ws in sockets:
            ws.close()
        proc.terminate()
        proc.wait(timeout=20)
