"""Headless Chromium for the browser tests: found, or installed by the test set-up, or skipped.

:func:`chromium` returns the path of a Chromium (or Chrome) binary: ``$INVASIM_CHROMIUM`` if set,
else the first of :data:`NAMES` on ``PATH``. Where there is none, and the tests run as root on a
system with ``apt-get`` (the CI: a clean Debian 12 clone, run as root), it installs Debian's
``chromium`` package once per session (``apt-get install -y --no-install-recommends chromium``,
then again after an ``apt-get update`` if the package lists are missing or stale), with a time
limit. Where that cannot be done it returns ``None`` and :func:`skip_reason` says why, in one
line, for ``pytest.skip``. ``INVASIM_NO_BROWSER_INSTALL=1`` turns the installation off.

:func:`load_page` drives the binary through its command line only: ``--dump-dom`` after the
page's scripts have run (a virtual time budget lets media load), with the console logged to
standard error (``--enable-logging=stderr``), and ``--screenshot``. Chromium's log does not
tell a console error from a log line, nor show failed loads, so the page is opened as a copy
with a small script (:data:`HARNESS`) put first, which records those and the state of every
image and video into the DOM that ``--dump-dom`` prints.
"""

from __future__ import annotations

import functools
import html as html_lib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: binaries looked for on PATH, in order
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
#: time limit of each apt-get call, s
APT_TIMEOUT_S = 900
#: time limit of one browser call, s
BROWSER_TIMEOUT_S = 120
#: flags every call passes: no GPU, no sandbox (root in a container), no first-run work
BASE_FLAGS = (
    "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--disable-background-networking", "--disable-sync", "--mute-audio",
    "--hide-scrollbars", "--autoplay-policy=no-user-gesture-required",
    "--disable-dev-shm-usage",  # containers have a small /dev/shm
)  # fmt: skip
_reason: list[str] = []


def _find() -> str | None:
    env = os.environ.get("INVASIM_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _tail(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit status {proc.returncode}"


def _apt(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True,
                          timeout=APT_TIMEOUT_S, env=env, check=False)


def _install() -> str | None:
    """Install Debian's chromium with apt-get; the binary, or ``None`` with the reason kept."""
    if os.environ.get("INVASIM_NO_BROWSER_INSTALL") == "1":
        _reason.append("chromium is not on PATH and INVASIM_NO_BROWSER_INSTALL=1")
        return None
    if shutil.which("apt-get") is None:
        _reason.append("chromium is not on PATH and there is no apt-get to install it")
        return None
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        _reason.append("chromium is not on PATH and the tests do not run as root to install it "
                       "(apt-get install chromium, or set INVASIM_CHROMIUM)")
        return None
    install = ("install", "-y", "--no-install-recommends", "chromium")
    try:
        proc = _apt(*install)
        if proc.returncode != 0:  # a clean image has no package lists yet
            update = _apt("update")
            proc = _apt(*install) if update.returncode == 0 else update
    except subprocess.TimeoutExpired:
        _reason.append(f"apt-get did not finish installing chromium in {APT_TIMEOUT_S} s")
        return None
    except OSError as exc:
        _reason.append(f"apt-get could not start: {exc}")
        return None
    if proc.returncode != 0:
        _reason.append(f"apt-get install chromium failed: {_tail(proc)}")
        return None
    found = _find()
    if found is None:
        _reason.append("apt-get installed chromium but no chromium binary is on PATH")
    return found


@functools.cache
def chromium() -> str | None:
    """The Chromium binary, installed first where missing and possible; ``None`` otherwise."""
    return _find() or _install()


def skip_reason() -> str:
    """Why :func:`chromium` found none (after it was called)."""
    return _reason[-1] if _reason else "no chromium"


#: a script put first in a copy of the page: it records console errors and warnings, uncaught
#: errors, failed loads of images, videos and other resources, then, once the page has loaded
#: and every video has its metadata (or failed, or 8 s passed), each image's natural size and
#: each video's state, as JSON in ``<pre id="invasim-check">``
HARNESS = r"""<script>
(function () {
  var R = {errors: [], warnings: [], images: [], videos: [], loaded: false};
  function text(args) { return Array.prototype.map.call(args, String).join(" "); }
  var err = console.error, warn = console.warn;
  console.error = function () { R.errors.push("console.error: " + text(arguments));
                                err.apply(console, arguments); };
  console.warn = function () { R.warnings.push("console.warn: " + text(arguments));
                               warn.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) {
      var src = String(t.currentSrc || t.src || t.href || "").slice(0, 60);
      R.errors.push("failed to load <" + t.tagName.toLowerCase() + "> " + src);
    } else {
      R.errors.push("uncaught: " + (e.message || e));
    }
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    R.errors.push("unhandled rejection: " + e.reason);
  });
  window.addEventListener("load", function () {
    R.loaded = true;
    var videos = Array.prototype.slice.call(document.querySelectorAll("video"));
    var waits = videos.map(function (v) {
      return new Promise(function (done) {
        if (v.readyState >= 1 || v.error) { return done(); }
        v.addEventListener("loadedmetadata", done);
        v.addEventListener("error", done, true);
        setTimeout(done, 8000);
      });
    });
    Promise.all(waits).then(function () {
      R.images = Array.prototype.map.call(document.images, function (i) {
        return {src: i.getAttribute("src").slice(0, 30), complete: i.complete,
                width: i.naturalWidth, height: i.naturalHeight};
      });
      R.videos = videos.map(function (v) {
        return {readyState: v.readyState, duration: isFinite(v.duration) ? v.duration : -1,
                error: v.error ? v.error.code : null, width: v.videoWidth,
                height: v.videoHeight};
      });
      var pre = document.createElement("pre");
      pre.id = "invasim-check";
      pre.textContent = JSON.stringify(R);
      document.body.appendChild(pre);
    });
  });
})();
</script>"""


def with_harness(page: str) -> str:
    """``page`` with :data:`HARNESS` as the first element of its ``<head>``."""
    m = re.search(r"<head[^>]*>", page, flags=re.IGNORECASE)
    if m is None:
        raise ValueError("the page has no <head>")
    return page[: m.end()] + HARNESS + page[m.end() :]


@dataclass
class Page:
    """What the browser saw of one page.

    Attributes:
        check: what :data:`HARNESS` recorded (``errors``, ``warnings``, ``images``,
            ``videos``, ``loaded``), or ``None`` when the page never finished loading.
        console: console messages in the browser's log (the page's own and uncaught errors).
        log: the browser's whole standard error.
        screenshot: the PNG written, or ``None``.
    """

    check: dict | None
    console: list[str]
    log: str
    screenshot: Path | None


#: a console message in Chromium's log: ``[...:INFO:CONSOLE:12] "text", source: url (12)``
#: (older builds: ``CONSOLE(12)``)
_CONSOLE = re.compile(r":CONSOLE[:(]?\d*\)?\]\s*(.*)")
_CHECK = re.compile(r'<pre id="invasim-check">(.*?)</pre>', flags=re.DOTALL)


def _console_lines(log: str) -> list[str]:
    return [m.group(1).strip() for m in map(_CONSOLE.search, log.splitlines()) if m]


def _run(binary: str, flags: list[str], url: str, profile: Path) -> subprocess.CompletedProcess:
    cmd = [binary, *BASE_FLAGS, f"--user-data-dir={profile}", *flags, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S,
                          check=False, env={**os.environ, "LANG": "C.UTF-8"})


def load_page(binary: str, html: Path, workdir: Path, *, screenshot: bool = True,
              window: tuple[int, int] = (1280, 2400), budget_ms: int = 20000) -> Page:
    """Open ``html`` from disk in headless Chromium: what loaded, its console, a screenshot.

    A copy of the page with :data:`HARNESS` first in its head is opened with ``--dump-dom``
    (after a virtual time budget for scripts and media), the console logged to standard error;
    the page itself, unchanged, is opened again for the screenshot.

    Args:
        binary: the Chromium binary.
        html: the page, a local file (opened as a ``file://`` URL).
        workdir: a folder for the browser's profiles, the checked copy and ``screenshot.png``.
        screenshot: take the screenshot.
        window: the window size, pixels (the screenshot's size).
        budget_ms: virtual time the page is given to run scripts and load media first.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    checked = Path(html).resolve().with_name(f".checked-{Path(html).name}")
    checked.write_text(with_harness(Path(html).read_text("utf-8")), "utf-8")
    logging = ["--enable-logging=stderr", "--v=0", f"--virtual-time-budget={budget_ms}"]
    try:
        dom = _run(binary, [*logging, "--dump-dom"], checked.as_uri(), workdir / "profile-dom")
    finally:
        checked.unlink(missing_ok=True)
    m = _CHECK.search(dom.stdout)
    check = json.loads(html_lib.unescape(m.group(1))) if m else None
    shot = None
    log = dom.stderr
    if screenshot:
        shot = workdir / "screenshot.png"
        size = f"--window-size={window[0]},{window[1]}"
        pic = _run(binary, [size, f"--screenshot={shot}", f"--virtual-time-budget={budget_ms}"],
                   Path(html).resolve().as_uri(), workdir / "profile-shot")
        log += pic.stderr
        shot = shot if shot.is_file() else None
    return Page(check=check, console=_console_lines(dom.stderr), log=log, screenshot=shot)
