"""Open the built documentation site in a real headless Chromium.

Serves the site on 127.0.0.1, loads the home page and one page per package, takes a screenshot
of each, and fails on a page without a title, a broken internal link, or a console error.
Chromium comes from Debian's ``chromium`` package; where it is missing and we are root with
apt-get, the test installs it, otherwise it skips saying why.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[3]
PAGES = ["", "cerial/", "sktime/", "processing/"]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = _find_chromium()
    if exe is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            env=env,
            capture_output=True,
            timeout=900,
        )
        exe = _find_chromium()
    if exe is None:
        pytest.skip("Chromium is not installed and could not be installed here (needs root + apt)")
    return exe


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("mkdocs", reason="mkdocs is installed in the bundle's test environment")
    site = tmp_path_factory.mktemp("site")
    api = tmp_path_factory.mktemp("api")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SUITKAISE_DOCS_API": str(api)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _chromium(exe: str, *args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("page", PAGES, ids=[p or "home" for p in PAGES])
def test_page_renders_with_title_links_and_no_console_errors(
    chromium: str, site_url: str, page: str, tmp_path: Path
) -> None:
    url = urljoin(site_url, page)
    dom = _chromium(
        chromium, "--virtual-time-budget=3000", "--dump-dom", url, profile=tmp_path / "p1"
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", dom.stdout, re.S)
    assert title and title.group(1).strip(), f"{url} has no title"

    console = [
        line
        for line in dom.stderr.splitlines()
        if "CONSOLE" in line and re.search(r"Uncaught|Error|Failed to load", line)
    ]
    assert not console, f"{url} logged console errors:\n" + "\n".join(console)

    # Links, stylesheets, scripts and images: every internal reference must resolve.
    hrefs = set(re.findall(r'(?:href|src)="([^"#]+)', dom.stdout))
    internal = {urljoin(url, h) for h in hrefs if not urlsplit(h).scheme and not h.startswith("//")}
    assert internal, f"{url} has no internal links"
    broken = []
    for link in sorted(internal):
        try:
            with urllib.request.urlopen(link, timeout=10) as resp:
                if resp.status != 200:
                    broken.append(f"{link} -> {resp.status}")
        except urllib.error.URLError as exc:
            broken.append(f"{link} -> {exc}")
    assert not broken, f"{url} has broken internal links:\n" + "\n".join(broken)

    shot = tmp_path / "page.png"
    done = _chromium(
        chromium, "--window-size=1280,900", f"--screenshot={shot}", url, profile=tmp_path / "p2"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 10_000, "screenshot missing or blank"
