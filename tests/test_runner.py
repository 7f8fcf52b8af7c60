import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cmkt_lib.tools.bench import README_END, README_START, TIMES_END, TIMES_START
from cmkt_lib.tools.runner import inject_parameters, results_table, run_notebook, times_table

ROOT = Path(__file__).resolve().parent.parent


def test_run_notebook_measures_a_tiny_notebook(tmp_path):
    cells = [
        new_code_cell("import numpy as np\nx = np.ones((1000, 1000))"),
        new_code_cell("from cmkt_lib import show_headline\nshow_headline({'answer': 42, 'mean': float(x.mean())})",
                      metadata={"tags": ["headline"]}),
    ]
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    result = run_notebook(path, device="cpu", timeout=120)
    assert result["notebook"] == "01_tiny.ipynb"
    assert result["headline"] == {"answer": 42, "mean": 1.0}
    assert result["device"].startswith("cpu")
    assert result["peak_memory_mb"] > 8  # it held an 8 MB array
    assert result["wall_seconds"] > 0
    assert len(nbformat.read(path, as_version=4).cells) == 2, "the notebook on disk is not changed"


def _parameterised_notebook(path):
    cells = [
        new_code_cell("SEED = 0\nSIZE = 2", metadata={"tags": ["parameters"]}),
        new_code_cell("from cmkt_lib import show_headline\nshow_headline({'seed': SEED, 'size': SIZE})",
                      metadata={"tags": ["headline"]}),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_parameters_replace_the_parameters_cell(tmp_path):
    path = _parameterised_notebook(tmp_path / "02_seeded.ipynb")
    assert run_notebook(path, timeout=120)["headline"] == {"seed": 0, "size": 2}
    result = run_notebook(path, timeout=120, parameters={"SEED": 7})
    assert result["headline"] == {"seed": 7, "size": 2}
    assert result["parameters"] == {"SEED": 7}


def test_parameters_that_the_notebook_does_not_take_are_refused(tmp_path):
    path = _parameterised_notebook(tmp_path / "03_seeded.ipynb")
    nb = nbformat.read(path, as_version=4)
    with pytest.raises(ValueError, match="'SEEDS' is not set in the notebook's parameters cell; it sets \\['SEED', 'SIZE'\\]"):
        inject_parameters(nb, {"SEEDS": 1})
    with pytest.raises(ValueError, match="must be a number or a string"):
        inject_parameters(nb, {"SEED": [1]})
    nb.cells[0].metadata["tags"] = []
    with pytest.raises(ValueError, match="exactly one cell tagged 'parameters'"):
        inject_parameters(nb, {"SEED": 1})


def test_run_notebook_reports_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook"):
        run_notebook(tmp_path / "nope.ipynb")


def test_results_table():
    results = {"machine": {"date": "2026-11-27", "cores": 2, "cpu": "x", "gpu": None, "python": "3.11", "torch": "2"},
               "notebooks": [{"notebook": "00_a.ipynb", "device": "cpu", "wall_seconds": 61.0,
                              "peak_memory_mb": 500.0, "headline": {"acc": 0.91234, "n": 3}}]}
    table = results_table(results)
    assert "| 00_a.ipynb | cpu | 61 | 500 |  | acc = 0.912, n = 3 |" in table, "the GPU column stays empty"
    assert "no GPU" in table and "1.0 minutes on the CPU" in table and "stays empty" in table
    results["notebooks"][0]["gpu"] = {"device": "cuda (H100)", "wall_seconds": 12.4, "peak_memory_mb": 900.0,
                                      "headline": {}}
    results["gpu_machine"] = {"gpu": "NVIDIA H100"}
    table = results_table(results)
    assert "| 00_a.ipynb | cpu | 61 | 500 | 12 | acc = 0.912, n = 3 |" in table
    assert "On the GPU (NVIDIA H100): 0.2 minutes." in table


def test_readme_table_matches_the_results_file():
    readme = (ROOT / "README.md").read_text()
    shown = readme[readme.index(README_START) + len(README_START):readme.index(README_END)].strip()
    results = ROOT / "results" / "course.json"
    if not results.exists():
        assert "Not measured yet" in shown
    else:
        assert shown == results_table(json.loads(results.read_text()))


def test_instructors_times_match_the_results_file():
    guide = (ROOT / "docs" / "INSTRUCTORS.md").read_text()
    shown = guide[guide.index(TIMES_START) + len(TIMES_START):guide.index(TIMES_END)].strip()
    results = json.loads((ROOT / "results" / "course.json").read_text())
    assert shown == times_table(results)
    assert {r["notebook"] for r in results["notebooks"]} == {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}, \
        "every notebook has measured results: run python -m cmkt_lib.tools.bench --course"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from Linux's /proc")
def test_peak_memory_is_the_kernels_own_not_its_parents(tmp_path):
    """Linux carries ru_maxrss across fork and exec; the runner must not report the size of the
    process that started the kernel."""
    cells = [new_code_cell("x = 1"), new_code_cell("from cmkt_lib import show_headline\nshow_headline({'x': x})",
                                                   metadata={"tags": ["headline"]})]
    path = tmp_path / "01_small.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    ballast = bytearray(600 * 2**20)  # 600 MB held by this process while it starts the kernel
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page so it is resident
    parent_mb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:")) / 1024
    result = run_notebook(path, device="cpu", timeout=120)
    assert result["peak_memory_mb"] < parent_mb - 500, (result["peak_memory_mb"], parent_mb)
    del ballast


def test_gpu_times_go_beside_the_cpu_results(tmp_path, monkeypatch):
    """A --device cuda run adds a GPU field to each CPU row and keeps the CPU numbers; a later CPU
    run keeps the GPU field; a GPU run without CPU results is refused."""
    from cmkt_lib.tools import bench, runner

    def fake_run(path, device=None, parameters=None):
        seconds = 10.0 if device == "cuda" else 60.0
        acc = 0.5 if parameters is None else 0.1 * parameters["SEED"]
        return {"notebook": path.name, "device": device or "cpu", "wall_seconds": seconds,
                "peak_memory_mb": 100.0, "headline": {"acc": acc}}

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    monkeypatch.setattr(runner, "machine_info", lambda: {"date": "2026-11-27", "cores": 2, "cpu": "x",
                                                         "gpu": None, "python": "3.11", "torch": "2"})
    notebook = ROOT / "notebooks" / "00_setup_and_tour.ipynb"
    with pytest.raises(SystemExit, match="no CPU results"):
        bench.run_course([notebook], "cuda", tmp_path, update_readme=False)
    bench.run_course([notebook], None, tmp_path, update_readme=False)
    results = bench.run_course([notebook], "cuda", tmp_path, update_readme=False)
    row = results["notebooks"][0]
    assert (row["wall_seconds"], row["gpu"]["wall_seconds"]) == (60.0, 10.0)
    assert "gpu_machine" in results and "machine" in results
    results = bench.run_course([notebook], None, tmp_path, update_readme=False)
    assert results["notebooks"][0]["gpu"]["wall_seconds"] == 10.0, "a CPU rerun keeps the GPU times"
    assert json.loads((tmp_path / "course.json").read_text()) == results
    # another seed writes its own file and leaves the stored seed's results alone
    seeded = bench.run_course([notebook], None, tmp_path, update_readme=False, seed=3)
    assert seeded["notebooks"][0]["headline"] == {"acc": pytest.approx(0.3)}
    assert json.loads((tmp_path / "seeds" / "course-seed-3.json").read_text()) == seeded
    assert json.loads((tmp_path / "course.json").read_text()) == results


@pytest.mark.parametrize("argv, message", [
    (["--course", "--seed", "-1"], "--seed must be a whole number >= 0, got -1"),
    (["--seed", "1"], "--seed runs notebooks: add --course"),
])
def test_bench_refuses_a_seed_it_cannot_use(argv, message, capsys):
    from cmkt_lib.tools import bench

    with pytest.raises(SystemExit):
        bench.main(argv)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("device, message", [("cuda", "no CUDA GPU is available"), ("mps", "MPS is not available")])
def test_bench_checks_the_device_first(device, message, monkeypatch):
    """An unavailable device ends the run at once with one plain line, before any benchmark."""
    import torch

    from cmkt_lib.tools import bench

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(bench, "library_benchmarks", lambda: pytest.fail("benchmarks ran before the device check"))
    monkeypatch.setattr(bench, "run_course", lambda *a, **k: pytest.fail("notebooks ran before the device check"))
    with pytest.raises(SystemExit) as stop:
        bench.main(["--course", "--device", device])
    assert message in str(stop.value) and "\n" not in str(stop.value)


def test_bench_refuses_an_unknown_device(monkeypatch):
    from cmkt_lib.tools import bench

    monkeypatch.setattr(bench, "library_benchmarks", lambda: pytest.fail("benchmarks ran before the device check"))
    with pytest.raises(SystemExit, match="not a device the course knows"):
        bench.main(["--device", "gpu"])
    assert bench.device_problem("cpu") is None


def test_bench_device_check_from_the_command_line():
    """Without a GPU, `--device cuda` says so in one line, at once (skipped where a GPU is present)."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = subprocess.run([sys.executable, "-m", "cmkt_lib.tools.bench", "--course", "--device", "cuda"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "no CUDA GPU" in result.stderr
