"""Fixtures for the browser test: a `jupyter lab` server on 127.0.0.1 in a temporary copy of the
repository, and headless Chromium driven by Selenium.

Nothing downloads at run time: Chromium and its driver come from the system (Debian:
`apt-get install chromium chromium-driver`), their paths are given to Selenium explicitly, and
the Python side is `pip install -e .[browser]`. Where any of it is missing the tests skip and say
what to install.

Options: `--browser-notebooks 00,04` (or the environment variable CMKT_BROWSER_NOTEBOOKS) picks
the notebooks by number; all of them by default."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = "apt-get install chromium chromium-driver (Debian/Ubuntu) and pip install -e .[browser]"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
# copied into the temporary tree the server runs in: what the notebooks read and import
COPIED = ("cmkt_lib", "data", "results", "notebooks", "docs", "pyproject.toml")


TIMES = pytest.StashKey[list]()


@pytest.fixture
def browser_times(request) -> list:
    """(notebook, what, seconds) rows, printed at the end of the session."""
    return request.config.stash.setdefault(TIMES, [])


def selected_notebooks(config) -> list:
    """The notebooks the browser test opens: all of `notebooks/` unless narrowed by number."""
    wanted = config.getoption("--browser-notebooks") or os.environ.get("CMKT_BROWSER_NOTEBOOKS")
    names = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not wanted:
        return names
    numbers = [w.strip().zfill(2) for w in wanted.split(",") if w.strip()]
    chosen = [n for n in names if n[:2] in numbers]
    unknown = sorted(set(numbers) - {n[:2] for n in chosen})
    if unknown:
        raise pytest.UsageError(f"--browser-notebooks names {unknown}, but notebooks/ has only "
                                f"{sorted(n[:2] for n in names)}")
    return chosen


def pytest_generate_tests(metafunc):
    if "notebook" in metafunc.fixturenames:
        metafunc.parametrize("notebook", selected_notebooks(metafunc.config))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _find(names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def tools():
    """The browser, its driver and Selenium, or a skip that says what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip(f"the browser test needs selenium: {INSTALL}")
    browser, driver = _find(CHROMIUM), _find(("chromedriver",))
    if browser is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if p is None)
        pytest.skip(f"the browser test needs {missing} on PATH: {INSTALL}")
    return browser, driver


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    """A copy of the repository's notebooks and what they read, so that running them in the
    browser (and autosave) never writes in the working tree."""
    root = tmp_path_factory.mktemp("lab")
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.failed.ipynb"))
        elif src.exists():
            shutil.copy2(src, root / name)
    return root


@pytest.fixture(scope="session")
def lab(tools, workdir, tmp_path_factory):
    """`jupyter lab` on 127.0.0.1 with a free port and a token, serving `workdir`; yields its base
    URL and token. The kernel imports cmkt_lib from the copy (PYTHONPATH)."""
    port, token = _free_port(), "cmkt-browser-test"
    home = tmp_path_factory.mktemp("jupyter-home")
    env = dict(os.environ, PYTHONPATH=str(workdir), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), MPLBACKEND="module://matplotlib_inline.backend_inline")
    env.setdefault("OMP_NUM_THREADS", "2")
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
         "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False",
         f"--ServerApp.root_dir={workdir}"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),   # CI containers run as root
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:   # not listening yet
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail(f"jupyter lab did not start; its log:\n{(home / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield {"url": url, "token": token, "root": workdir, "log": home / "lab.log", "pid": proc.pid}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def browser(tools, tmp_path):
    """Headless Chromium through Debian's chromedriver (the path is given, so Selenium downloads
    nothing); a fresh profile per test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = tools
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def pytest_terminal_summary(terminalreporter, config):
    """Print how long each notebook took in the browser."""
    times = config.stash.get(TIMES, [])
    if times:
        terminalreporter.section("time per notebook in JupyterLab")
        for name, what, seconds in times:
            terminalreporter.write_line(f"{name:40s} {what:28s} {seconds:6.0f} s")
