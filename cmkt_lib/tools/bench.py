"""Benchmarks of the course and its library, printed as times and ratios.

    python -m cmkt_lib.tools.bench                 # library: world generation, training-loop
                                                   #   overhead, retrieval metrics
    python -m cmkt_lib.tools.bench --course        # also run every notebook: results/course.json,
                                                   #   results/course.md and the README's table
    python -m cmkt_lib.tools.bench --course --notebook 04 --device cpu
    python -m cmkt_lib.tools.bench --course --device cuda --skip-library
                                                   # GPU times, written beside the CPU ones
    python -m cmkt_lib.tools.bench --course --seed 1
                                                   # every notebook with SEED = 1 (its parameters
                                                   #   cell): results/seeds/course-seed-1.json; the
                                                   #   README and course.json keep the stored seed

Speed is measured here, not in tests: tests stay fast and honest, this reports numbers."""

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ..world import make_world

ROOT = Path(__file__).resolve().parents[2]
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
TIMES_START, TIMES_END = "<!-- times:start -->", "<!-- times:end -->"


def time_world_generation(n: int = 20_000, seed: int = 0, repeats: int = 3) -> dict:
    """Best-of-`repeats` wall time of make_world(n, seed)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        make_world(n, seed)
        times.append(time.perf_counter() - start)
    best = min(times)
    return {"n": n, "seconds": best, "objects_per_second": n / best}


def time_training_overhead(n: int = 4096, batch_size: int = 128, repeats: int = 5) -> dict:
    """One epoch through `cmkt_lib.train.fit` against the same steps as a bare PyTorch loop
    (same model, data, Adam, on the CPU); best of `repeats` each, run alternately."""
    from torch.utils.data import DataLoader

    from ..datasets import WorldDataset
    from ..encoders import Classifier, ImageEncoder
    from ..train import fit

    loader = DataLoader(WorldDataset(make_world(n, seed=0), target="shape", modalities="image"),
                        batch_size=batch_size, shuffle=False)

    def bare_epoch(model):
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        running = torch.zeros(())
        for batch in loader:
            loss = F.cross_entropy(model(batch["image"]), batch["label"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += loss.detach()
        return (running / len(loader)).item()

    def fit_epoch(model):
        return fit(model, loader, epochs=1, lr=1e-3, progress=False)["train_loss"][0]

    times = {"bare": [], "fit": []}
    for _ in range(repeats):
        for name, run in (("bare", bare_epoch), ("fit", fit_epoch)):
            torch.manual_seed(0)
            model = Classifier(ImageEncoder(), 6)
            start = time.perf_counter()
            run(model)
            times[name].append(time.perf_counter() - start)
    bare, ours = min(times["bare"]), min(times["fit"])
    return {"bare_seconds": bare, "fit_seconds": ours, "ratio": ours / bare, "batches": len(loader)}


def time_retrieval(n: int = 5000, repeats: int = 3) -> dict:
    """Recall@1/5/10 and median rank on an n x n similarity matrix, both directions."""
    from ..retrieval import median_rank, recall_at_k

    g = torch.Generator().manual_seed(0)
    sim = torch.randn(n, n, generator=g) + 3 * torch.eye(n)
    mask = torch.eye(n, dtype=torch.bool)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        recall_at_k(sim, mask), recall_at_k(sim.T, mask.T), median_rank(sim, mask), median_rank(sim.T, mask.T)
        best = min(best, time.perf_counter() - start)
    return {"n": n, "seconds": best}


def library_benchmarks() -> None:
    w = time_world_generation()
    print(f"world generation: {w['n']:,} objects in {w['seconds']:.2f} s ({w['objects_per_second']:,.0f} objects/s)")
    t = time_training_overhead()
    print(f"training loop: one epoch of {t['batches']} batches, bare PyTorch {t['bare_seconds']:.2f} s, "
          f"cmkt_lib.train.fit {t['fit_seconds']:.2f} s: overhead ratio {t['ratio']:.3f}")
    r = time_retrieval()
    print(f"retrieval: Recall@1/5/10 and median rank, both directions, on a {r['n']:,} x {r['n']:,} "
          f"similarity matrix in {r['seconds']:.2f} s")


def _replace_between(path: Path, start_marker: str, end_marker: str, text: str) -> None:
    """Rewrite the part of a file between two marker comments."""
    content = path.read_text()
    start, end = content.index(start_marker) + len(start_marker), content.index(end_marker)
    path.write_text(content[:start] + "\n" + text + "\n" + content[end:])


def run_course(notebooks, device, out_dir: Path, update_readme: bool, seed: int | None = None) -> dict:
    from .runner import machine_info, results_table, run_notebook, times_table

    if seed is not None:  # another seed than the stored one: its own file, never the README's table
        out_dir, update_readme = out_dir / "seeds", False
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "course" if seed is None else f"course-seed-{seed}"
    json_path = out_dir / f"{name}.json"
    previous = json.loads(json_path.read_text()) if json_path.exists() else {"notebooks": []}
    rows = {r["notebook"]: r for r in previous["notebooks"] if (ROOT / "notebooks" / r["notebook"]).exists()}
    on_gpu = device is not None and device.startswith("cuda")
    missing = [p.name for p in notebooks if p.name not in rows]
    if on_gpu and missing:
        raise SystemExit(f"no CPU results for {', '.join(missing)} in {json_path}: run "
                         "`python -m cmkt_lib.tools.bench --course` first, then the GPU run adds its times beside them")
    machine = machine_info()
    for path in notebooks:
        print(f"running {path.name} ...", flush=True)
        r = run_notebook(path, device=device, parameters=None if seed is None else {"SEED": seed})
        print(f"  {r['wall_seconds']:.0f} s, peak {r['peak_memory_mb']:.0f} MB on {r['device']}: {r['headline']}", flush=True)
        if on_gpu:  # GPU times go beside the CPU results, which stay as they were
            rows[path.name]["gpu"] = {k: r[k] for k in ("device", "wall_seconds", "peak_memory_mb", "headline")}
        else:  # a new CPU row keeps the GPU times measured before
            rows[path.name] = {**r, "gpu": rows.get(path.name, {}).get("gpu")}
    results = {**previous, ("gpu_machine" if on_gpu else "machine"): machine,
               "notebooks": sorted(rows.values(), key=lambda r: r["notebook"])}
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    table = results_table(results)
    (out_dir / f"{name}.md").write_text(table + "\n")
    print(table)
    if update_readme:
        _replace_between(ROOT / "README.md", README_START, README_END, table)
        _replace_between(ROOT / "docs" / "INSTRUCTORS.md", TIMES_START, TIMES_END, times_table(results))
        print("updated the results table in README.md and the run times in docs/INSTRUCTORS.md")
    return results


def device_problem(device: str) -> str | None:
    """Why `device` cannot be used on this machine, in one line; None when it can."""
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return None
    if kind == "cuda":
        if not torch.cuda.is_available():
            return f"--device {device}: no CUDA GPU is available on this machine (torch {torch.__version__}); use --device cpu"
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            return f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0"
        return None
    if kind == "mps" and not index:
        if not torch.backends.mps.is_available():
            return f"--device {device}: Apple's MPS is not available on this machine; use --device cpu"
        return None
    return f"--device {device}: not a device the course knows; use cpu, cuda (or cuda:N) or mps"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", action="store_true", help="run every notebook and record the results")
    parser.add_argument("--notebook", action="append", help="only notebooks whose name starts with this (repeatable)")
    parser.add_argument("--device", help="force a device for the notebooks: cpu, cuda, mps")
    parser.add_argument("--out", type=Path, default=ROOT / "results", help="folder for course.json and course.md")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README's results table")
    parser.add_argument("--skip-library", action="store_true", help="skip the library benchmarks")
    parser.add_argument("--seed", type=int, help="run the notebooks with this SEED instead of their own "
                        "(results go to <out>/seeds/, the README is left alone)")
    args = parser.parse_args(argv)
    if args.seed is not None and args.seed < 0:
        parser.error(f"--seed must be a whole number >= 0, got {args.seed}")
    if args.seed is not None and not (args.course or args.notebook):
        parser.error("--seed runs notebooks: add --course (all of them) or --notebook NN")
    if args.device is not None and (problem := device_problem(args.device)):  # first, before any long run
        raise SystemExit(problem)
    if not (args.skip_library or args.notebook or args.seed is not None):  # a notebook run is about notebooks
        library_benchmarks()
    if args.course or args.notebook:
        notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
        if args.notebook:
            notebooks = [p for p in notebooks if any(p.name.startswith(k) for k in args.notebook)]
            if not notebooks:
                raise SystemExit(f"no notebook starts with {args.notebook}")
        run_course(notebooks, args.device, args.out, update_readme=not args.no_readme, seed=args.seed)


if __name__ == "__main__":
    main()
