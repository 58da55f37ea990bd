"""Headless Chromium for the browser tests (test_browser.py, test_book.py): where it is and the flags both
use (no network, no first-run or background work, no scrollbars in screenshots)."""
import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
