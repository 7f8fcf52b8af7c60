"""Runs a notebook top to bottom in a fresh kernel and measures it: wall time, the kernel's peak
memory, the device it used, and the headline numbers it printed. The course benchmark
(`python -m cmkt_lib.bench --course`) calls this for every notebook."""

import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .headline import read_headline

# Appended to a copy of the notebook (never saved): the kernel reports its own peak memory,
# and that of any worker processes it started, and the device the course picked.
_PROBE = """
import json as _json, resource as _resource, sys as _sys
from cmkt_lib import describe_device as _describe_device
_scale = 1 if _sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
_peak = max(_resource.getrusage(w).ru_maxrss for w in (_resource.RUSAGE_SELF, _resource.RUSAGE_CHILDREN))
print("CMKT_PROBE" + _json.dumps({"peak_memory_mb": _peak * _scale / 2**20, "device": _describe_device()}))
"""


def run_notebook(path, device: str | None = None, timeout: int = 900) -> dict:
    """Execute notebook `path` in a fresh kernel (outputs are not saved) and measure it.

    device: forces CMKT_DEVICE for the kernel ("cpu", "cuda", ...); None keeps the default."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no notebook at {path}")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
    saved = os.environ.get("CMKT_DEVICE")
    if device is not None:
        os.environ["CMKT_DEVICE"] = device
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
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
        "| notebook | device | wall time (s) | peak memory (MB) | headline numbers |",
        "|---|---|---|---|---|",
    ]
    for r in results["notebooks"]:
        numbers = ", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in r["headline"].items())
        lines.append(f"| {r['notebook']} | {r['device']} | {r['wall_seconds']:.0f} | {r['peak_memory_mb']:.0f} | {numbers} |")
    total = sum(r["wall_seconds"] for r in results["notebooks"])
    lines += ["", f"Whole course: {total / 60:.1f} minutes."]
    return "\n".join(lines)
