"""pytest set-up shared by the unit tests and the notebooks under nbval.

nbval compares a cell's stored stdout and stderr with what it prints now. stderr carries
progress bars and library warnings that differ between machines, so it is left out of the
comparison here; stdout and rich outputs are still compared."""

import nbval.plugin as _nbval

_compare_streams = _nbval.transform_streams_for_comparison


def _without_stderr(outputs):
    kept = [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    return _compare_streams(kept)


_nbval.transform_streams_for_comparison = _without_stderr


def pytest_addoption(parser):
    # here, at the root, so that `pytest -m browser` knows it (tests/browser/conftest.py reads it)
    parser.addoption("--browser-notebooks", default=None,
                     help="comma-separated notebook numbers for the browser test, e.g. 00,04 (default: all; "
                          "or set CMKT_BROWSER_NOTEBOOKS)")
