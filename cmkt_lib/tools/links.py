"""Keeps every "Open in Colab" badge and every notebook's Colab set-up cell in step with the
GitHub location in `cmkt_lib/tools/course.py`.

    python -m cmkt_lib.tools.links          # rewrite badges and set-up cells
    python -m cmkt_lib.tools.links --check  # list what is out of date (exit 1 if anything is)
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat

from . import labformat
from .course import clone_url, colab_url

SETUP_TAG = "colab-setup"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((https://colab\.research\.google\.com/github/[^)]*)\)")


def badge(notebook: str) -> str:
    """Markdown for the Colab badge of `notebook`."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(notebook)})"


def setup_cell_source() -> str:
    """The first code cell of every notebook: installs the course on Colab, a no-op elsewhere.

    It fails with git's or pip's own last line and what to do about it (a bare CalledProcessError
    tells a learner nothing), and a second run keeps the copy it already has. CMKT_CLONE_URL
    installs from another copy (a fork, a mirror, or a local one in tests/colab); CMKT_HOME puts
    it elsewhere than /content/cmkt (tests/colab, which has no /content)."""
    return f'''# Set-up: on Colab this installs the course (about a minute); anywhere else it does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    url = os.environ.get("CMKT_CLONE_URL", "{clone_url()}")
    home = os.environ.get("CMKT_HOME", "/content/cmkt")

    def step(what, command, advice):
        done = subprocess.run(command, capture_output=True, text=True, env={{**os.environ, "GIT_TERMINAL_PROMPT": "0"}})
        if done.returncode:
            said = [line for line in done.stderr.splitlines() if line.startswith(("fatal:", "ERROR:"))] or [done.stderr.strip()]
            raise RuntimeError(f"{{what}} failed: {{said[0]}}\\n{{advice}}")

    if not os.path.isdir(home):  # a second run keeps the copy the first one made
        step(f"Downloading the course from {{url}}", ["git", "clone", "--depth", "1", url, home],
             "'not found' or 'Username' means the course is not published at that address (yet): give the address of\\n"
             "a published copy with  %env CMKT_CLONE_URL=https://github.com/OWNER/NAME.git  and run this cell again.\\n"
             "Any other error: check the network and run this cell again.")
    step("Installing the course", [sys.executable, "-m", "pip", "install", "-q", "-e", home],
         "Check the network and run this cell again.")
    sys.path.insert(0, home)
    print("Course installed. For a GPU: Runtime > Change runtime type > T4 GPU, then run all again.")'''


def _fix_badges(text: str, notebook_for) -> str:
    def repl(m):
        name = m.group(1).rsplit("/", 1)[-1]
        return badge(notebook_for(name))
    return _BADGE.sub(repl, text)


def sync_notebook(path: Path, write: bool = True) -> bool:
    """Rewrite the badge and set-up cell of one notebook; True if anything changed."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            new = _fix_badges(src, lambda _name: path.name)
        elif SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            new = setup_cell_source()
        else:
            continue
        if new != src:
            cell["source"] = new
            changed = True
    if changed and write:
        labformat.write(nb, path)
    return changed


def sync_readme(path: Path, write: bool = True) -> bool:
    text = path.read_text()
    new = _fix_badges(text, lambda name: name)
    if new != text and write:
        path.write_text(new)
    return new != text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    parser.add_argument("--root", default=Path(__file__).resolve().parents[2], type=Path)
    args = parser.parse_args(argv)
    stale = [p for p in sorted((args.root / "notebooks").glob("*.ipynb")) if sync_notebook(p, not args.check)]
    if sync_readme(args.root / "README.md", not args.check):
        stale.append(args.root / "README.md")
    verb = "out of date" if args.check else "updated"
    for p in stale:
        print(f"{verb}: {p}")
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
