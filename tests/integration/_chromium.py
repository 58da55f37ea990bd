"""Headless Chromium for the browser tests (test_browser.py, test_book.py): where it is, the flags both
use (no network, no first-run or background work, no scrollbars in screenshots), and :class:`Devtools`,
one browser driven through the Chrome DevTools protocol for all of a module's pages.

One browser per module, not one per page: a headless start took 1.5 to 4 s (21 starts for the report's
pages in test_browser.py, 11 in test_book.py, about 70 s of the suite's time); a page load in a running
browser takes a fraction of a second.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


class Devtools:
    """Just enough of the Chrome DevTools protocol (websocket-client, in the lock) to load pages, wait for
    what their scripts set, read the DOM, emulate a width or print media, screenshot and print to PDF."""

    def __init__(self, tmp: Path, flags: list[str] | None = None):
        import websocket

        profile = Path(tmp) / "cdp-profile"
        self.proc = subprocess.Popen([CHROMIUM, *(flags or FLAGS), f"--user-data-dir={profile}",
                                      "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode} before it listened")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.n = 0

    def call(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                assert "error" not in msg, msg
                return msg.get("result", {})

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait(self, expression: str, timeout: float = 30, what: str = ""):
        """Poll ``expression`` until it is truthy; its value. Fails after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < end, f"{what or expression}: not true after {timeout} s"
            time.sleep(0.05)

    def size(self, width: int, height: int) -> None:
        """Lay pages out in a ``width`` x ``height`` viewport (as ``--window-size`` did)."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)

    def media(self, media: str = "") -> None:
        """Emulate CSS media ``print`` (``""``: the screen again)."""
        self.call("Emulation.setEmulatedMedia", media=media)

    def load(self, url: str, ready: str = "true", timeout: float = 30) -> None:
        """Open ``url`` as a new document (about:blank first, so a link to the same page with another
        fragment loads it again) and wait until it has loaded and ``ready`` (JavaScript) is true."""
        self.call("Page.navigate", url="about:blank")
        self.wait("document.URL === 'about:blank'", timeout, "about:blank")
        self.call("Page.navigate", url=url)
        self.wait(f"document.URL === {json.dumps(url)} && document.readyState === 'complete' && ({ready})",
                  timeout, f"{url} loaded and {ready}")

    def html(self) -> str:
        return self.evaluate("document.documentElement.outerHTML")

    def screenshot(self, target: Path) -> None:
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        Path(target).write_bytes(png)

    def pdf(self, target: Path) -> None:
        data = self.call("Page.printToPDF", displayHeaderFooter=False, printBackground=False)["data"]
        Path(target).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
