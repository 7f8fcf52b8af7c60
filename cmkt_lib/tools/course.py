"""Where the course lives. Every "Open in Colab" badge and every notebook's set-up cell is
written from these values by `python -m cmkt_lib.tools.links`, and a test checks they agree."""

GITHUB_REPO = "cmkt-course/cmkt"  # owner/name on GitHub
BRANCH = "main"


def colab_url(notebook: str) -> str:
    """The Colab address that opens `notebook` (e.g. '00_setup_and_tour.ipynb') from GitHub."""
    return f"https://colab.research.google.com/github/{GITHUB_REPO}/blob/{BRANCH}/notebooks/{notebook}"


def clone_url() -> str:
    return f"https://github.com/{GITHUB_REPO}.git"
