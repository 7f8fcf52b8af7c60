"""The course as a learner meets it in JupyterLab, in a real browser (`pytest -m browser`).

For each notebook: open it, Run All (00 and 04 also "Restart Kernel and Run All"), wait until
every code cell has run, and check that nothing went wrong on the way: no error output outside
the cells tagged `raises-exception`, no stalled queue (the kernel idle while cells still wait),
and the live widgets rendered. In 00, moving the explorer's shape control redraws its pictures.
A separate check opens a notebook and saves it (Ctrl+S) without running anything and compares
the file's bytes.

Timeouts (seconds) come from CMKT_BROWSER_TIMEOUT (a whole notebook, default 1800) and
CMKT_BROWSER_STALL (how long the kernel may use no CPU while cells are still queued, default 90)."""

import json
import os
import time

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]

TIMEOUT = float(os.environ.get("CMKT_BROWSER_TIMEOUT", 1800))
STALL = float(os.environ.get("CMKT_BROWSER_STALL", 90))
RESTART_TOO = ("00", "04")   # also "Restart Kernel and Run All"

# The state of the notebook in the current tab, read from JupyterLab's own models
# (window.jupyterapp is there because the server runs with expose_app_in_browser).
STATE_JS = """
const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
if (!w || !w.content || !w.content.widgets || !w.sessionContext) { return null; }
const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
const cells = w.content.widgets.filter(c => c.model.type === 'code');
return {
  path: w.context.path,
  ready: w.context.isReady,
  dirty: w.context.model.dirty,
  kernel: kernel ? kernel.status : null,
  connection: kernel ? kernel.connectionStatus : null,
  cells: cells.map(c => ({
    count: c.model.executionCount,
    prompt: (c.node.querySelector('.jp-InputPrompt') || {}).textContent || '',
    tags: c.model.getMetadata('tags') || [],
    outputs: c.model.outputs.toJSON().map(o => ({type: o.output_type, ename: o.ename || null,
                                                 evalue: o.evalue || null,
                                                 widget: !!(o.data && o.data['application/vnd.jupyter.widget-view+json'])})),
  })),
};
"""


def state(driver):
    return driver.execute_script(STATE_JS)


def open_notebook(driver, lab, name, timeout=180):
    """Open notebooks/<name> in JupyterLab and wait until its kernel is connected and idle."""
    # reset: start from an empty workspace, so that the tabs of earlier tests do not reopen (and
    # start kernels) behind this one
    driver.get(f"{lab['url']}/lab/tree/notebooks/{name}?reset&token={lab['token']}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = state(driver)
        if s and s["path"].endswith(name) and s["ready"] and s["kernel"] == "idle" and s["connection"] == "connected":
            driver.execute_script(STATUS_LOG_JS)
            return s
        time.sleep(1)
    pytest.fail(f"{name} did not open with an idle kernel within {timeout} s; last state: "
                f"{json.dumps({k: v for k, v in (s or {}).items() if k != 'cells'})}")


# Record the kernel's status messages with what they answer, for the report when a run stalls.
STATUS_LOG_JS = """
const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
window.cmktStatus = [];
k.iopubMessage.connect((_, m) => {
  if (m.header.msg_type === 'status') {
    const p = m.parent_header || {};
    window.cmktStatus.push([Date.now(), m.content.execution_state, p.msg_type || null, p.subshell_id || null]);
  }
});
"""


def status_tail(driver, n=12):
    """The last status messages: (ms ago, state, the request it answers, its subshell)."""
    return driver.execute_script(
        "const now = Date.now(); return (window.cmktStatus || []).slice(-arguments[0])"
        ".map(s => [now - s[0], s[1], s[2], s[3] ? s[3].slice(0, 8) : null]);", n)


def queued(s):
    """Code cells that wait or run ('[*]') or have not run."""
    return [i for i, c in enumerate(s["cells"]) if c["count"] is None or "*" in c["prompt"]]


def kernel_cpu_seconds(lab, kernel_id):
    """CPU seconds the kernel process has used so far (user + system, its threads included)."""
    import psutil

    for proc in psutil.Process(lab["pid"]).children(recursive=True):
        try:
            if any(kernel_id in part for part in proc.cmdline()):
                t = proc.cpu_times()
                return t.user + t.system
        except psutil.Error:
            continue
    return None


def wait_for_run(driver, lab, name, started):
    """Wait until every code cell of the open notebook has an execution count and no cell is
    queued. Fails when cells are still queued but the kernel process has used no CPU for STALL
    seconds (the stall of issue 19: a request waits unread while the kernel sleeps), or when the
    notebook takes longer than TIMEOUT.

    JupyterLab's kernel status is no guide here (issue 19's "stall" in 04): when the first widget
    of a running cell opens (04's progress bar), JupyterLab 4 (commsOverSubshells, default
    perCommTarget) asks ipykernel 7 for a subshell on the control channel; the kernel answers with
    busy/idle status messages whose parent is that control request, and JupyterLab shows the last
    one, "idle", until the cell ends, while the queued cells keep their [*]. The kernel was not
    stalled: py-spy showed its main thread in train_shared_space's backward(), and every queued
    request ran once the training cell replied. A real stall (requests waiting unread, as in
    jupyter/nbclient#312 or ipython/ipykernel#1554) leaves the kernel process without CPU, which is
    what this checks."""
    kernel_id = driver.execute_script(
        "return window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id;")
    history = []   # (time, kernel CPU seconds, cells done)
    while True:
        time.sleep(2)
        s = state(driver)
        waiting = queued(s)
        if not waiting:
            return s
        now = time.monotonic()
        history.append((now, kernel_cpu_seconds(lab, kernel_id), len(s["cells"]) - len(waiting)))
        window = [h for h in history if h[0] >= now - STALL]
        if now - history[0][0] >= STALL and None not in (window[0][1], window[-1][1]) \
                and window[-1][1] - window[0][1] < 0.02 * STALL and window[-1][2] == window[0][2]:
            pytest.fail(f"{name}: stalled - code cells {waiting[:5]}{'...' if len(waiting) > 5 else ''} "
                        f"(of {len(s['cells'])}) still wait, but the kernel has used "
                        f"{window[-1][1] - window[0][1]:.2f} s of CPU in {STALL:.0f} s (JupyterLab shows it {s['kernel']}); "
                        f"last status messages (ms ago, state, request, subshell): {status_tail(driver)}")
        if time.monotonic() - started > TIMEOUT:
            pytest.fail(f"{name}: Run All did not finish within {TIMEOUT:.0f} s; cells {waiting[:5]} still wait, "
                        f"kernel {s['kernel']}")


def check_run(driver, name, s):
    """No error output except in cells tagged raises-exception; every cell ran; the widget
    views the kernel sent are rendered in the page."""
    unexpected = [(i, o["ename"], (o["evalue"] or "")[:200]) for i, c in enumerate(s["cells"])
                  for o in c["outputs"] if o["type"] == "error" and "raises-exception" not in c["tags"]]
    assert not unexpected, f"{name}: unexpected errors (code cell, exception, message): {unexpected}"
    counts = [c["count"] for c in s["cells"]]
    assert all(isinstance(n, int) for n in counts), f"{name}: cells without an execution count: {counts}"
    views = sum(o["widget"] for c in s["cells"] for o in c["outputs"])
    problems = driver.execute_script("""
        const bad = [...document.querySelectorAll('.jp-OutputArea-output')]
            .map(n => n.textContent).filter(t => /Error displaying widget|model not found|Loading widget/.test(t));
        return {rendered: document.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length, bad: bad.slice(0, 3)};
    """)
    assert not problems["bad"], f"{name}: widget views that did not render: {problems['bad']}"
    if views:
        assert problems["rendered"] > 0, f"{name}: the kernel sent {views} widget views but none is in the page"
    return views, problems["rendered"]


def command(driver, cmd):
    driver.execute_script("window.jupyterapp.commands.execute(arguments[0]);", cmd)


def accept_dialog(driver, timeout=30):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept"))).click()


def run_all(driver, lab, name, restart=False):
    """Run All (or Restart Kernel and Run All) through JupyterLab's own commands, as the Run
    menu does; returns the final state and the seconds it took."""
    started = time.monotonic()
    if restart:
        command(driver, "notebook:restart-run-all")
        accept_dialog(driver)
        time.sleep(3)   # the restart clears the execution counts before the cells are queued
    else:
        command(driver, "notebook:run-all-cells")
    s = wait_for_run(driver, lab, name, started)
    return s, time.monotonic() - started


def move_explorer(driver):
    """00's explorer: pick another shape in its dropdown and wait for its pictures to change."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    picture_js = """
        const box = arguments[0].closest('.widget-interact');
        const img = box && box.querySelector('.jp-OutputArea img, .widget-output img');
        return img ? img.src : null;"""
    dropdowns = [d for d in driver.find_elements(By.CSS_SELECTOR, ".widget-interact .widget-dropdown")
                 if d.find_element(By.CSS_SELECTOR, "label").get_attribute("textContent").strip() == "shape"]
    assert dropdowns, "00: the explorer's 'shape' dropdown is not in the page"
    select = dropdowns[0].find_element(By.CSS_SELECTOR, "select")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", select)
    before = driver.execute_script(picture_js, select)
    assert before, "00: the explorer shows no picture before the control moves"
    choice = Select(select)
    other = [o.text for o in choice.options if o.text != choice.first_selected_option.text and o.text != "any"][0]
    choice.select_by_visible_text(other)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = driver.execute_script(picture_js, select)
        if after and after != before:
            return other
        time.sleep(0.5)
    pytest.fail(f"00: choosing shape={other!r} in the explorer did not change its pictures within 60 s")


def test_run_all(browser, lab, notebook, browser_times):
    """Run All completes with no unexpected error and no stall, widgets render; 00 and 04 also
    after Restart Kernel and Run All; 00's explorer answers its controls."""
    number = notebook[:2]
    open_notebook(browser, lab, notebook)
    s, seconds = run_all(browser, lab, notebook)
    views, rendered = check_run(browser, notebook, s)
    timings = browser_times
    timings.append((notebook, "Run All", seconds))
    print(f"\n{notebook}: Run All in {seconds:.0f} s ({len(s['cells'])} code cells, {views} widget views, "
          f"{rendered} rendered)", flush=True)
    if number == "00":
        shape = move_explorer(browser)
        print(f"00: the explorer redrew for shape={shape!r}", flush=True)
    if number in RESTART_TOO:
        s, seconds = run_all(browser, lab, notebook, restart=True)
        check_run(browser, notebook, s)
        timings.append((notebook, "Restart Kernel and Run All", seconds))
        print(f"{notebook}: Restart Kernel and Run All in {seconds:.0f} s", flush=True)
    command(browser, "kernelmenu:shutdown")


def test_open_and_save_changes_nothing(browser, lab, notebook):
    """Opening a notebook and saving it (Ctrl+S) without running anything leaves its bytes as stored."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    path = lab["root"] / "notebooks" / notebook
    stored = (REPO / "notebooks" / notebook).read_bytes()   # as committed: the Run All test's autosave
    path.write_bytes(stored)                                 # may have rewritten the served copy
    mtime = path.stat().st_mtime_ns
    open_notebook(browser, lab, notebook)
    time.sleep(3)
    browser.execute_script("return window.jupyterapp.shell.currentWidget.content.node;").click()
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
    deadline = time.monotonic() + 30
    while path.stat().st_mtime_ns == mtime and time.monotonic() < deadline:
        time.sleep(0.5)
    assert path.stat().st_mtime_ns != mtime, f"{notebook}: Ctrl+S did not save the file within 30 s"
    saved = path.read_bytes()
    path.write_bytes(stored)     # leave the copy as stored for the other tests
    command(browser, "kernelmenu:shutdown")
    if saved != stored:
        import difflib
        diff = list(difflib.unified_diff(stored.decode().splitlines(), saved.decode().splitlines(), "stored",
                                         "saved by JupyterLab", lineterm="", n=0))
        pytest.fail(f"{notebook}: saving without running changed {sum(l[:1] in '+-' for l in diff[2:])} lines:\n"
                    + "\n".join(diff[:20]))
