"""Seed sweeps: the same notebook run with several seeds, stored in results/sweeps/.

One run of a notebook is one draw: another seed (initialisation, batch order, every random
choice) gives other numbers. A comparison is only worth stating if it holds across draws, so the
notebooks that compare methods lean on a stored sweep: `python -m cmkt_lib.tools.sweep NN` runs
notebook NN once per seed and records the numbers each run passed to `record_run`. Three or more
seeds take longer than a notebook should, so the sweep is stored, with a hash of the code that made
it (tests fail when the code changes and the sweep is not remade), and each notebook checks that
its own live run falls where the stored runs say a new run should.

    run = record_run({"late": 0.91, "early": 0.85})   # in the notebook: this run's numbers
    sweep = load_sweep("03_multimodal_network")        # the stored runs (cells tagged stored-sweep)
    sweep.table(["late", "early"])                     # mean, interval, min, max over seeds
    sweep.check_live(run, globals())                   # this run inside the prediction interval

Cells that read the stored sweep are tagged `stored-sweep`; the sweep tool leaves them out when it
makes the sweep (a sweep cannot depend on itself)."""

import ast
import hashlib
import json
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SWEEP_DIR = ROOT / "results" / "sweeps"
SWEEP_TAG = "stored-sweep"
RUN_PREFIX = "CMKT_RUN "  # outside Jupyter, a recorded run is one printed line with this prefix
RUN_MIME = "application/vnd.cmkt.run+json"  # in Jupyter, a display output of this type
# Library files that cannot change a notebook's numbers (they check exercises, draw, or print);
# every other module of cmkt_lib is part of a sweep's code hash.
NOT_IN_HASH = {"__init__.py", "checks.py", "plots.py", "headline.py", "sweeps.py", "bench.py", "progress.py"}


def record_run(numbers: dict) -> dict:
    """Record this run's numbers (name -> finite number) where the sweep tool reads them back, and
    return them. In a notebook they travel in an output of their own type, so a reader sees one
    short line; elsewhere they are printed as one JSON line. A notebook may call it several times;
    the sweep merges the calls."""
    if not isinstance(numbers, dict) or not numbers:
        raise ValueError("record_run expects a non-empty dict of name -> number, e.g. {'late': 0.91}")
    clean = {}
    for name, value in numbers.items():
        value = value.item() if hasattr(value, "item") else value
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise ValueError(f"record_run: {name!r} must be a name with a finite number, got {value!r}")
        clean[name] = float(value)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        text = f"recorded {len(clean)} number{'s' * (len(clean) != 1)} of this run for the seed sweep"
        display({"text/plain": text, RUN_MIME: clean}, raw=True)
    else:
        print(RUN_PREFIX + json.dumps(clean, sort_keys=True))
    return clean


def _t_quantile(level: float, dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, dof))


class Sweep:
    """The stored runs of one notebook: `runs[i]` holds the numbers of the run with `seeds[i]`."""

    def __init__(self, notebook: str, seeds, runs, parameters: dict, code_hash: str):
        if len(seeds) != len(runs) or len(seeds) < 2:
            raise ValueError(f"a sweep needs at least 2 runs, one per seed; got {len(runs)} runs for seeds {seeds}")
        self.notebook, self.seeds, self.runs = notebook, list(seeds), list(runs)
        self.parameters, self.code_hash = dict(parameters), code_hash

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    def values(self, key: str) -> np.ndarray:
        """(n_seeds,) the value of `key` in every stored run, in seed order."""
        missing = [s for s, r in zip(self.seeds, self.runs) if key not in r]
        if missing:
            known = sorted(set().union(*self.runs))
            raise KeyError(f"{key!r} is not in the stored runs of {self.notebook} (seeds {missing}); "
                           f"they hold {known}. Remake the sweep after adding it to record_run.")
        return np.array([r[key] for r in self.runs], dtype=float)

    def interval(self, key: str, level: float = 0.95) -> tuple[float, float]:
        """Student-t confidence interval for the mean of `key` over seeds."""
        v = self.values(key)
        half = _t_quantile(level, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
        return float(v.mean() - half), float(v.mean() + half)

    def prediction_interval(self, key: str, level: float = 0.95) -> tuple[float, float]:
        """Where one new run (a new seed) should fall: mean ± t · sd · sqrt(1 + 1/n)."""
        v = self.values(key)
        half = _t_quantile(level, len(v) - 1) * v.std(ddof=1) * math.sqrt(1 + 1 / len(v))
        return float(v.mean() - half), float(v.mean() + half)

    def table(self, keys, level: float = 0.95):
        """A DataFrame, one row per key: mean, sd, the `level` interval of the mean, min and max."""
        import pandas as pd

        rows = []
        for key in keys:
            v = self.values(key)
            lo, hi = self.interval(key, level)
            rows.append({"measure": key, "mean": v.mean(), "sd": v.std(ddof=1), "ci_low": lo, "ci_high": hi,
                         "min": v.min(), "max": v.max(), "seeds": len(v)})
        return pd.DataFrame(rows).set_index("measure").round(4)

    def check_live(self, run: dict, namespace: dict | None = None, keys=None, level: float = 0.95,
                   slack: float = 0.01) -> bool:
        """Check that this live `run` looks like one more draw of the stored runs: each number is
        tested against its `level` prediction interval (widened by `slack`, for rounding and for
        numbers that barely move between seeds). With n numbers about (1 - level) * n fall outside
        by chance alone, so the check fails only when more fall outside than a Binomial(n, 1 - level)
        count exceeds once in a hundred times (the numbers are not independent, so this is a
        screen, not a test).

        namespace: the notebook's globals(); if a parameter other than SEED differs from the one the
        sweep was made with, the check is skipped (and says so): the stored runs answer another
        question. Returns True when checked."""
        if namespace is not None:
            changed = {k: v for k, v in self.parameters.items()
                       if k in namespace and repr(namespace[k]) != v}
            if changed:
                print(f"skipped: you changed {', '.join(changed)} since the stored sweep "
                      f"({', '.join(f'{k} = {v}' for k, v in changed.items())}), so its runs are not comparable")
                return False
        from scipy.stats import binom

        keys = list(keys or run)
        missing = [k for k in keys if k not in run]
        if missing:
            raise KeyError(f"check_live: this run has no {missing}; pass the dict that record_run returned, "
                           f"merged over the notebook (run |= record_run(...)), or name only keys it holds")
        outside = []
        for key in keys:
            lo, hi = self.prediction_interval(key, level)
            if not lo - slack <= run[key] <= hi + slack:
                outside.append(f"{key} = {run[key]:.4f} outside [{lo:.4f}, {hi:.4f}] ± {slack}")
        allowed = int(binom.ppf(0.99, len(keys), 1 - level))
        expected = (1 - level) * len(keys)
        print(f"{len(outside)} of {len(keys)} numbers of this run fall outside their {level:.0%} prediction "
              f"interval (about {expected:.1f} expected by chance; the check allows {allowed})")
        for line in outside:
            print("  " + line)
        assert len(outside) <= allowed, (
            "this run does not look like the stored sweep's runs. If you changed the code, remake the "
            f"sweep: python -m cmkt_lib.tools.sweep {self.notebook[:2]}")
        return True


def sweep_path(notebook: str) -> Path:
    return SWEEP_DIR / f"{Path(notebook).stem}.json"


def load_sweep(notebook: str) -> Sweep:
    """The stored sweep of `notebook` (its file name, with or without .ipynb)."""
    path = sweep_path(notebook)
    if not path.exists():
        raise FileNotFoundError(f"no stored sweep at {path}: make it with "
                                f"python -m cmkt_lib.tools.sweep {Path(notebook).stem[:2]}")
    data = json.loads(path.read_text())
    return Sweep(data["notebook"], data["seeds"], data["runs"], data["parameters"], data["code_hash"])


def _imported_modules(source: str, exported: dict) -> set:
    """The cmkt_lib modules that `source` imports: `from cmkt_lib.x import ...`, `import cmkt_lib.x`,
    and `from cmkt_lib import name`, where `exported` maps a name the package re-exports to its module
    (relative imports, level=1, are a module's own imports inside the package)."""
    # notebook magics and shell lines are not Python
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("cmkt_lib"):
            parts = node.module.split(".")
            found |= {exported.get(a.name, a.name) for a in node.names} if len(parts) == 1 else {parts[1]}
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("cmkt_lib.")}
    return found


def modules_used(sources) -> list:
    """The library modules (cmkt_lib/<name>.py) that code `sources` runs, following the modules'
    own imports: the part of the library a notebook's numbers can depend on. The modules in
    NOT_IN_HASH (self-checks, drawings, printing) and what only they import are left out."""
    package = ROOT / "cmkt_lib"
    init = ast.parse((package / "__init__.py").read_text())
    exported = {a.asname or a.name: node.module.split(".")[0] for node in ast.walk(init)
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module for a in node.names}
    todo = set().union(*(_imported_modules(s, exported) for s in sources))
    seen = set()
    while todo:
        name = todo.pop()
        path = package / f"{name}.py"
        if name in seen or not path.exists() or path.name in NOT_IN_HASH:  # they change no number
            continue
        seen.add(name)
        todo |= _imported_modules(path.read_text(), exported)
    return sorted(seen)


def code_hash(notebook_path) -> str:
    """sha256 of what decides a notebook's numbers: its code cells (except those tagged
    `stored-sweep`, `headline`, `injected-parameters` and `colab-setup`, the first cell, which
    does nothing outside Colab), the library modules those cells run
    (`modules_used`, less the ones in NOT_IN_HASH, which cannot change a number) and the data's
    checksums. A change anywhere else in the library leaves the sweep valid."""
    nb = json.loads(Path(notebook_path).read_text())
    skip = {SWEEP_TAG, "headline", "injected-parameters", "colab-setup"}
    sources = [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in nb["cells"]
               if c["cell_type"] == "code" and not skip & set(c.get("metadata", {}).get("tags", []))]
    h = hashlib.sha256()
    for source in sources:
        h.update(source.replace("\r\n", "\n").encode() + b"\0")
    for name in modules_used(sources):
        text = (ROOT / "cmkt_lib" / f"{name}.py").read_text().replace("\r\n", "\n")
        h.update(name.encode() + b"\0" + text.encode())
    sums = ROOT / "data" / "SHA256SUMS"
    if sums.exists():
        h.update(sums.read_bytes())
    return h.hexdigest()
