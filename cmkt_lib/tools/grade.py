"""Grades submitted notebooks with the course's own checks; never trusts printed text.

    python -m cmkt_lib.tools.grade submissions/alice/04_shared_embedding.ipynb [more.ipynb ...]
    python -m cmkt_lib.tools.grade --full ...      # run every cell of the submission, top to bottom

Runs from any folder. For each submission:
1. the course's solution notebook of the same file name (in the course's notebooks/, or --solutions)
   says what the exercises are: each code cell that holds a `### BEGIN SOLUTION` region is one
   exercise; the `def` that holds the region names the student's function, and the self-check
   that cell calls names the check (from cmkt_lib.checks.CHECKS);
2. a fresh kernel runs the submission's cells, each on its own, errors allowed and recorded: by
   default the set-up (every top-level import, and every constant such as `LR = 5e-3`, of every
   code cell) and the cells that define an exercise's function; with --full, every code cell;
3. for each exercise, the course's checks module, loaded afresh from its file under a private name,
   is called on the student's function object inside that kernel, and its return value is the
   verdict: a student's own `check_...` that prints ✅, or a ✅ printed anywhere, counts for nothing.
   A cell that fails to compile costs only the exercise whose function it should define.

It prints one line per exercise and "N of M exercises pass", M being the solution notebook's
number of exercises. Exit status 0 when every submission was graded (whatever the marks), 2 when
one could not be (no solution notebook of that name, unreadable file).

What it does not defend against: the student's code runs in the same kernel as the check, so a
submission written to attack the grader (patching torch, or the interpreter) could still fool it.
"""

import argparse
import ast
import json
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import DeadKernelError

from .runner import SlicedPollClient
from .student import BEGIN, END, _read

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = Path(__file__).resolve().parents[1]
CHECKS_FILE = LIBRARY / "checks.py"
_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(")


class GradeError(ValueError):
    """A submission that cannot be graded at all (as opposed to one that fails its exercises)."""


def _check_names() -> set:
    """The names of the course's checks, read from checks.py without importing it: the functions
    in the `CHECKS = {...}` table and those registered below it as `CHECKS["name"] = check_...`."""
    tree = ast.parse(CHECKS_FILE.read_text())
    names, table = set(), False
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if getattr(target, "id", None) == "CHECKS" and isinstance(node.value, ast.Dict):
                table = True
                names |= {v.id for v in node.value.values if isinstance(v, ast.Name)}
            elif isinstance(target, ast.Subscript) and getattr(target.value, "id", None) == "CHECKS" \
                    and isinstance(node.value, ast.Name):
                names.add(node.value.id)
    if not table:
        raise GradeError(f"{CHECKS_FILE} has no CHECKS table")
    return names


def exercises(solution_nb, name: str = "notebook") -> list:
    """[{cell, function, check}] for each code cell of the solution notebook holding a solution."""
    known, found = _check_names(), []
    for index, cell in enumerate(solution_nb.cells):
        if cell.cell_type != "code" or not any(l.strip() == BEGIN for l in cell.source.splitlines()):
            continue
        lines = cell.source.splitlines()
        begins = [i for i, l in enumerate(lines) if l.strip() == BEGIN]
        # A solution region at the top level of a cell holds a prediction (MY_PREDICTION = {...}):
        # any honest prediction is right, so it is not graded. A region inside a function is graded
        # when a check is called on that function; a function nothing checks (a prediction written as
        # a function) is left out, like a top-level one.
        functions = list(dict.fromkeys(defs[-1] for b in begins if not lines[b].startswith(BEGIN)
                                       and (defs := [m.group(1) for l in lines[:b] if (m := _DEF.match(l))])))
        if not functions:
            if all(lines[b].startswith(BEGIN) for b in begins):
                continue  # predictions only
            raise GradeError(f"{name}, cell {index}: the solution is not inside a function, so it cannot be graded")
        outside, inside = [], False
        for line in lines:
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif not inside:
                outside.append(line)
        checked = [(f, c) for f in functions
                   for c in re.findall(r"(?<![\w])(?:checks\.)?(check_\w+)\s*\(\s*" + re.escape(f) + r"\b", "\n".join(outside))
                   if c in known]
        if not checked:
            raise GradeError(f"{name}, cell {index}: calls no check from cmkt_lib.checks on {' or '.join(functions)}")
        function, called = checked[0][0], [checked[0][1]]
        found.append({"cell": index, "function": function, "check": called[0]})
    return found


def _setup_source(source: str) -> str:
    """The top-level imports and constant assignments of a cell (for the default, quick run)."""
    code = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept.append(ast.get_source_segment(code, node))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            try:
                ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            kept.append(ast.get_source_segment(code, node))
    return "\n".join(kept)


def _grading_cell(nonce: str, module: str, function: str, check: str) -> str:
    return f"""
import importlib.util as _cmkt_util, json as _cmkt_json, sys as _cmkt_sys
if {module!r} not in _cmkt_sys.modules:
    _cmkt_spec = _cmkt_util.spec_from_file_location({module!r}, {str(CHECKS_FILE)!r})
    _cmkt_mod = _cmkt_util.module_from_spec(_cmkt_spec)
    _cmkt_spec.loader.exec_module(_cmkt_mod)
    _cmkt_sys.modules[{module!r}] = _cmkt_mod
_cmkt_fn = globals().get({function!r})
if _cmkt_fn is None:
    _cmkt_verdict = {{"defined": False}}
else:
    _cmkt_verdict = {{"defined": True, "pass": _cmkt_sys.modules[{module!r}].{check}(_cmkt_fn) is True}}
print({nonce!r} + _cmkt_json.dumps(_cmkt_verdict))
"""


def _error_of(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"
    return None


def grade(submission, solutions_dir=None, full: bool = False, timeout: int = 120) -> dict:
    """Grade one submission; returns {"notebook", "exercises": [...], "passed", "total", "seconds"}."""
    start = time.perf_counter()
    submission = Path(submission)
    solutions_dir = Path(solutions_dir) if solutions_dir else ROOT / "notebooks"
    solution_path = solutions_dir / submission.name
    if not solution_path.exists():
        raise GradeError(f"{submission}: no solution notebook named {submission.name} in {solutions_dir} "
                         "(a submission keeps the course notebook's file name)")
    wanted = exercises(_read(solution_path), name=solution_path.name)
    nb = _read(submission)
    names = {e["function"] for e in wanted}

    cells, origin = [], []  # cells to run, and for each the submission's cell index (None: grader's)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        defines = {m.group(1) for l in cell.source.splitlines() if (m := _DEF.match(l))} & names
        source = cell.source if (full or defines) else _setup_source(cell.source)
        if source.strip():
            cells.append(nbformat.v4.new_code_cell(source))
            origin.append((index, defines))
    nonce = "CMKT_GRADE_" + secrets.token_hex(16) + ":"
    module = "_cmkt_grader_checks_" + secrets.token_hex(8)
    first_grading = len(cells)
    for e in wanted:
        cells.append(nbformat.v4.new_code_cell(_grading_cell(nonce, module, e["function"], e["check"])))
    run = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)

    env = dict(os.environ)  # the kernel imports the same cmkt_lib as this grader
    env["PYTHONPATH"] = os.pathsep.join([str(LIBRARY.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
    died = None
    with tempfile.TemporaryDirectory(prefix="cmkt-grade-") as cwd:
        client = SlicedPollClient(run, timeout=timeout, kernel_name="python3", allow_errors=True,
                                  interrupt_on_timeout=True, resources={"metadata": {"path": cwd}})
        try:
            client.execute(env=env)
        except DeadKernelError as err:
            died = f"the kernel died ({err})"

    results = []
    for number, (e, cell) in enumerate(zip(wanted, cells[first_grading:]), start=1):
        verdict = None
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines() if out.get("output_type") == "stream" else []:
                if line.startswith(nonce):
                    verdict = json.loads(line[len(nonce):])
        hint = next((l for out in cell.get("outputs", []) if out.get("output_type") == "stream"
                     for l in out.get("text", "").splitlines() if l.startswith(("✅", "❌"))), "")
        defining = [i for i, (index, defines) in enumerate(origin) if e["function"] in defines]
        errors = [f"cell {origin[i][0]}: {err}" for i in defining if (err := _error_of(cells[i]))]
        if verdict is None:
            ok, why = False, died or _error_of(cell) or "the check did not run"
        elif not verdict["defined"]:
            ok = False
            why = (f"{e['function']} is not defined" + (f" ({'; '.join(errors)})" if errors else
                   " (no cell of the submission defines it)" if not defining else ""))
        else:
            ok, why = verdict["pass"], hint
            if errors:
                why = (why + " " if why else "") + f"[errors: {'; '.join(errors)}]"
        results.append({"number": number, "function": e["function"], "check": e["check"], "pass": ok, "detail": why})
    return {"notebook": str(submission), "exercises": results, "passed": sum(r["pass"] for r in results),
            "total": len(wanted), "seconds": round(time.perf_counter() - start, 1)}


def report(result: dict) -> str:
    lines = [result["notebook"]]
    for r in result["exercises"]:
        lines.append(f"  exercise {r['number']}, {r['function']} ({r['check']}): {'pass' if r['pass'] else 'FAIL'}"
                     + (f" - {r['detail']}" if r["detail"] else ""))
    lines.append(f"  {result['passed']} of {result['total']} exercises pass ({result['seconds']:.0f} s)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Grade submitted notebooks with the course's own checks.")
    parser.add_argument("submissions", nargs="+", type=Path, help="submitted notebooks, named like the course's")
    parser.add_argument("--solutions", type=Path, help="folder of the solution notebooks (default: the course's notebooks/)")
    parser.add_argument("--full", action="store_true", help="run every cell of each submission (slow: trains models)")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default 120, 900 with --full)")
    parser.add_argument("--json", type=Path, help="also write all results to this JSON file")
    args = parser.parse_args(argv)
    timeout = args.timeout or (900 if args.full else 120)
    results, failed = [], False
    for path in args.submissions:
        try:
            result = grade(path, args.solutions, full=args.full, timeout=timeout)
        except (GradeError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            failed = True
            continue
        results.append(result)
        print(report(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
