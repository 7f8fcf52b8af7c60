import json

import numpy as np
import pytest

from cmkt_lib import read_headline, show_headline


def test_show_headline_prints_one_json_line(capsys):
    out = show_headline({"n": np.int64(3), "accuracy": np.float32(0.5)})
    printed = capsys.readouterr().out.strip()
    assert json.loads(printed) == out == {"accuracy": 0.5, "n": 3}
    assert isinstance(out["n"], int)


@pytest.mark.parametrize("bad, error, message", [
    ({}, ValueError, "non-empty dict"),
    ({"x": float("nan")}, ValueError, "headline 'x' must be a finite number, got nan"),
    ({"x": "high"}, TypeError, "headline 'x' must be a number, got 'high'"),  # a wrong type: TypeError
    ({"x": True}, TypeError, "headline 'x' must be a number, got True"),
    ({"": 1}, ValueError, "non-empty strings"),
])
def test_bad_headlines(bad, error, message):
    with pytest.raises(error, match=message):
        show_headline(bad)


def _nb(tags_and_outputs):
    return {"cells": [
        {"cell_type": "code", "metadata": {"tags": tags}, "outputs": outputs, "source": ""}
        for tags, outputs in tags_and_outputs
    ]}


def test_read_headline_from_a_notebook_dict():
    nb = _nb([([], []), (["headline"], [{"output_type": "stream", "name": "stdout", "text": ['{"a": 1}\n']}])])
    assert read_headline(nb) == {"a": 1}


def test_read_headline_needs_exactly_one_executed_cell():
    with pytest.raises(ValueError, match="exactly one cell tagged"):
        read_headline(_nb([([], [])]))
    with pytest.raises(ValueError, match="run the notebook first"):
        read_headline(_nb([(["headline"], [])]))
