"""Make a notebook's stored seed sweep: run it once per seed and keep what each run recorded.

    python -m cmkt_lib.tools.sweep 03                  # seeds 1-5, into results/sweeps/03_....json
    python -m cmkt_lib.tools.sweep 03 --seeds 1 2 3 --jobs 2
    python -m cmkt_lib.tools.sweep --check             # which stored sweeps no longer match the code

Each run executes the notebook in a fresh kernel with SEED injected after its `parameters` cell,
leaves out the cells tagged `stored-sweep` (they read the sweep being made), and collects the
numbers the notebook passed to `cmkt_lib.sweeps.record_run`. The notebook's own SEED is not in the
default seeds, so its live run is a new draw that the stored runs predict. With --jobs N the runs
go N at a time, each kernel on 1 thread."""

import argparse
import ast
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from ..sweeps import RUN_MIME, RUN_PREFIX, SWEEP_DIR, SWEEP_TAG, code_hash, sweep_path

ROOT = Path(__file__).resolve().parents[2]
WRITER = "cmkt_lib.tools.sweep"


def notebook_parameters(nb, keep_seed: bool = False) -> dict:
    """NAME -> repr(value) for each literal assignment in the `parameters` cell (SEED left out
    unless keep_seed)."""
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"the notebook needs exactly one cell tagged 'parameters', found {len(cells)}")
    params = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if keep_seed or name != "SEED":
                params[name] = repr(ast.literal_eval(node.value))
    return params


def run_one(path: str, seed: int, threads: int | None) -> dict:
    """Execute notebook `path` with SEED = seed, without its stored-sweep cells: the recorded numbers."""
    from .runner import SlicedPollClient, inject_parameters

    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # the kernel inherits it
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if SWEEP_TAG not in c.metadata.get("tags", [])]
    inject_parameters(nb, {"SEED": seed})
    start = time.perf_counter()
    SlicedPollClient(nb, timeout=900, kernel_name="python3",
                     resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    numbers = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if RUN_MIME in out.get("data", {}):
                numbers.update(out["data"][RUN_MIME])
            elif out.get("output_type") == "stream" and out.get("name") == "stdout":
                for line in "".join(out["text"]).splitlines():
                    if line.startswith(RUN_PREFIX):
                        numbers.update(json.loads(line[len(RUN_PREFIX):]))
    if not numbers:
        raise ValueError(f"{Path(path).name} recorded nothing: call cmkt_lib.sweeps.record_run in a cell "
                         f"that is not tagged {SWEEP_TAG!r}")
    return {"seed": seed, "seconds": round(time.perf_counter() - start, 1), "numbers": numbers}


def make_sweep(path: Path, seeds, jobs: int = 1, force: bool = False) -> dict:
    out = sweep_path(path.name)
    if out.exists() and json.loads(out.read_text()).get("written_by") != WRITER and not force:
        raise SystemExit(f"{out} was not written by {WRITER}; move it away or pass --force to replace it")
    nb = nbformat.read(path, as_version=4)
    print(f"{path.name}: seeds {list(seeds)}, {jobs} at a time", flush=True)
    threads = 1 if jobs > 1 else None
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(run_one, [str(path)] * len(seeds), seeds, [threads] * len(seeds)))
    else:
        results = [run_one(str(path), s, threads) for s in seeds]
    for r in results:
        print(f"  seed {r['seed']}: {r['seconds']:.0f} s", flush=True)
    from .runner import machine_info

    data = {
        "written_by": WRITER,
        "notebook": path.name,
        "code_hash": code_hash(path),
        "parameters": notebook_parameters(nb),
        "seeds": [r["seed"] for r in results],
        "runs": [r["numbers"] for r in results],
        "seconds": [r["seconds"] for r in results],
        "threads": threads or int(os.environ.get("OMP_NUM_THREADS", 0)) or os.cpu_count(),
        "machine": machine_info(),
    }
    if notebook_parameters(nb, keep_seed=True).get("SEED") in {repr(s) for s in seeds}:
        print("  note: the notebook's own SEED is among the sweep's seeds; its live run is then not a new draw")
    SWEEP_DIR.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"  wrote {out.relative_to(ROOT)}")
    return data


def stale_sweeps() -> list[str]:
    """The stored sweeps whose notebook is gone or whose code hash no longer matches, in words."""
    problems = []
    for path in sorted(SWEEP_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        notebook = ROOT / "notebooks" / data["notebook"]
        if not notebook.exists():
            problems.append(f"{path.name}: its notebook {data['notebook']} is gone")
        elif data["code_hash"] != code_hash(notebook):
            problems.append(f"{path.name}: {data['notebook']} or the library changed since the sweep was made; "
                            f"remake it: python -m cmkt_lib.tools.sweep {data['notebook'][:2]}")
    return problems


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="*", help="notebook number or name prefix, e.g. 03")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (each on 1 thread)")
    parser.add_argument("--force", action="store_true", help="replace a file this tool did not write")
    parser.add_argument("--check", action="store_true", help="list stored sweeps that no longer match the code")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_sweeps()
        print("\n".join(problems) or "every stored sweep matches its code")
        sys.exit(1 if problems else 0)
    if not args.notebook:
        parser.error("name a notebook (e.g. 03), or pass --check")
    if len(args.seeds) < 3 or len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        parser.error(f"--seeds needs at least 3 different whole numbers >= 0, got {args.seeds}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    for prefix in args.notebook:
        matches = sorted((ROOT / "notebooks").glob(f"{prefix}*.ipynb"))
        if len(matches) != 1:
            raise SystemExit(f"{prefix!r} names {len(matches)} notebooks; give a prefix that names one")
        make_sweep(matches[0], args.seeds, args.jobs, args.force)


if __name__ == "__main__":
    main()
