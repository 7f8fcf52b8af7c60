"""Runs a notebook top to bottom in a fresh kernel and measures it: wall time, the kernel's peak
memory, the device it used, and the headline numbers it printed. The course benchmark
(`python -m cmkt_lib.tools.bench --course`) calls this for every notebook."""

import json
import os
import platform
import re
import time
from datetime import date
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient

from ..headline import read_headline

# Appended to a copy of the notebook (never saved): the kernel reports its own peak resident
# memory and the device the course picked. On Linux the peak is VmHWM from /proc: getrusage's
# ru_maxrss would not do, because Linux carries it across fork and exec, so a kernel started by a
# big process (this benchmark, with torch loaded) would report that process's size as its floor.
_PROBE = """
import json as _json, resource as _resource, sys as _sys
from cmkt_lib import describe_device as _describe_device
try:
    _peak_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except (OSError, StopIteration):  # not Linux: ru_maxrss is bytes on macOS
    _peak_kb = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / (1024 if _sys.platform == "darwin" else 1)
print("CMKT_PROBE" + _json.dumps({"peak_memory_mb": _peak_kb / 1024, "device": _describe_device()}))
"""


class SlicedPollClient(NotebookClient):
    """nbclient sometimes notices the reply to a cell that shows a widget only when its wait times
    out (jupyter/nbclient#312: a missed wake-up on the shell socket), which with a long timeout
    looks like a hang. Waiting in one-second slices notices the reply within a second."""

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        get_msg = kc.shell_channel.get_msg

        async def sliced_get_msg(timeout=None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = 1.0 if deadline is None else deadline - time.monotonic()
                try:
                    return await get_msg(timeout=max(0.0, min(1.0, left)))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        kc.shell_channel.get_msg = sliced_get_msg
        return kc


PARAMETERS_TAG = "parameters"


def inject_parameters(nb, parameters: dict):
    """Put `NAME = value` lines in a new cell right after the cell tagged `parameters`, as
    papermill does (the new cell is tagged `injected-parameters`), so the rest of the notebook
    runs with these values. Every name must already be set in the parameters cell: a typo
    would otherwise run the notebook with its defaults and say nothing."""
    cells = [i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"the notebook needs exactly one cell tagged {PARAMETERS_TAG!r} to take parameters, "
                         f"found {len(cells)}")
    defined = set(re.findall(r"^([A-Za-z_]\w*)\s*=", nb.cells[cells[0]].source, flags=re.M))
    lines = []
    for name, value in parameters.items():
        if name not in defined:
            raise ValueError(f"{name!r} is not set in the notebook's parameters cell; it sets {sorted(defined)}")
        if not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"parameter {name} must be a number or a string, got {type(value).__name__}")
        lines.append(f"{name} = {value!r}")
    cell = nbformat.v4.new_code_cell("# Injected parameters\n" + "\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(cells[0] + 1, cell)
    return nb


def run_notebook(path, device: str | None = None, timeout: int = 900, parameters: dict | None = None) -> dict:
    """Execute notebook `path` in a fresh kernel (outputs are not saved) and measure it.

    device: forces CMKT_DEVICE for the kernel ("cpu", "cuda", ...); None keeps the default.
    parameters: values that replace those of the notebook's `parameters` cell, e.g. {"SEED": 1}."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no notebook at {path}")
    nb = nbformat.read(path, as_version=4)
    if parameters:
        inject_parameters(nb, parameters)
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
    saved = os.environ.get("CMKT_DEVICE")
    if device is not None:
        os.environ["CMKT_DEVICE"] = device
    try:
        client = SlicedPollClient(nb, timeout=timeout, kernel_name="python3",
                                  resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - start
    finally:
        if device is not None:
            if saved is None:
                os.environ.pop("CMKT_DEVICE", None)
            else:
                os.environ["CMKT_DEVICE"] = saved
    probe = {}
    for out in nb.cells[-1].outputs:
        for line in "".join(out.get("text", "")).splitlines():
            if line.startswith("CMKT_PROBE"):
                probe = json.loads(line[len("CMKT_PROBE"):])
    return {
        "notebook": path.name,
        **({"parameters": dict(parameters)} if parameters else {}),
        "device": probe.get("device", "unknown"),
        "wall_seconds": round(wall, 1),
        "peak_memory_mb": round(probe.get("peak_memory_mb", float("nan")), 1),
        "headline": read_headline(nb),
    }


def machine_info() -> dict:
    """Cores, CPU model, GPU (if any), versions and today's date, for the results file."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": date.today().isoformat(),
    }


def results_table(results: dict) -> str:
    """A markdown table of a results dict ({"machine": ..., "notebooks": [...]})."""
    m = results["machine"]
    lines = [
        f"Measured on {m['date']}: {m['cores']} cores, {m['cpu']}"
        + (f", GPU {m['gpu']}" if m.get("gpu") else ", no GPU") + f"; Python {m['python']}, torch {m['torch']}.",
        "",
        "| notebook | device | wall time (s) | peak memory (MB) | GPU wall time (s) | headline numbers |",
        "|---|---|---|---|---|---|",
    ]
    for r in results["notebooks"]:
        numbers = ", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in r["headline"].items())
        gpu = f"{r['gpu']['wall_seconds']:.0f}" if r.get("gpu") else ""
        lines.append(f"| {r['notebook']} | {r['device']} | {r['wall_seconds']:.0f} | {r['peak_memory_mb']:.0f} | {gpu} | {numbers} |")
    total = sum(r["wall_seconds"] for r in results["notebooks"])
    lines += ["", f"Whole course: {total / 60:.1f} minutes on the CPU."]
    gpu_runs = [r["gpu"] for r in results["notebooks"] if r.get("gpu")]
    if gpu_runs:
        lines[-1] += f" On the GPU ({results.get('gpu_machine', {}).get('gpu', 'CUDA')}): {sum(g['wall_seconds'] for g in gpu_runs) / 60:.1f} minutes."
    else:
        lines[-1] += " The GPU column stays empty until the course is timed on one (`python -m cmkt_lib.tools.bench --course --device cuda`)."
    return "\n".join(lines)


def times_table(results: dict) -> str:
    """The instructors' guide's table: each notebook's run time on the CPU (and GPU, if measured)."""
    m = results["machine"]
    gpu_name = results.get("gpu_machine", {}).get("gpu")
    lines = [
        f"Measured by `python -m cmkt_lib.tools.bench --course` on {m['date']} ({m['cores']} CPU cores"
        + (f"; GPU {gpu_name}" if gpu_name else "; no GPU measured yet") + ").",
        "",
        "| notebook | CPU run time | GPU run time |",
        "|---|---|---|",
    ]
    for r in results["notebooks"]:
        gpu = f"{r['gpu']['wall_seconds'] / 60:.1f} min" if r.get("gpu") else "not measured"
        lines.append(f"| {r['notebook']} | {r['wall_seconds'] / 60:.1f} min | {gpu} |")
    return "\n".join(lines)

