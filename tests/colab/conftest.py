"""The `colab` tests build a 5.5 GB stand-in for Colab's image: they run only when asked for,
`pytest -m colab tests/colab`. (pyproject.toml deselects the marker by default; this keeps them
out of a plain `pytest` even where no -m expression names it.)"""

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "colab: the simulated Colab runtime (builds a cached image; run with -m colab)")


def pytest_collection_modifyitems(config, items):
    if "colab" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="simulated Colab: run with `pytest -m colab tests/colab`")
    for item in items:
        if item.get_closest_marker("colab"):
            item.add_marker(skip)
