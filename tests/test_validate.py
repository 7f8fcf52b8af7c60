from numbers import Integral, Real

import pytest

from cmkt_lib._validate import check_scalar


def test_check_scalar_returns_a_valid_value():
    assert check_scalar(3, "epochs", Integral, min_val=1) == 3
    assert check_scalar(0.5, "p", Real, min_val=0, max_val=1) == 0.5


def test_check_scalar_names_the_argument_and_the_type():
    with pytest.raises(TypeError, match=r"epochs must be a whole number, got 2.5 of type float"):
        check_scalar(2.5, "epochs", Integral)
    with pytest.raises(TypeError, match="got True"):
        check_scalar(True, "epochs", Integral)


@pytest.mark.parametrize("value, include, ok", [
    (0.0, "both", True), (0.0, "right", False), (1.0, "left", False), (1.0, "neither", False),
    (0.5, "neither", True)])
def test_check_scalar_boundaries(value, include, ok):
    if ok:
        check_scalar(value, "p", Real, min_val=0, max_val=1, include_boundaries=include)
    else:
        with pytest.raises(ValueError, match=r"p must be in [\[(]0, 1[\])]"):
            check_scalar(value, "p", Real, min_val=0, max_val=1, include_boundaries=include)


def test_check_scalar_rejects_nan_and_adds_the_hint():
    with pytest.raises(ValueError, match="finite"):
        check_scalar(float("nan"), "lr", Real)
    with pytest.raises(ValueError, match=r"lr must be > 0, got -1; such as 1e-3"):
        check_scalar(-1, "lr", Real, min_val=0, include_boundaries="neither", hint="such as 1e-3")
