"""Input checks shared by the teaching modules, so that each module's maths reads first.

`check_scalar` follows scikit-learn's `sklearn.utils.check_scalar`: it names the argument,
says what was expected and what came instead, and (through `hint`) how to fix it."""

import math
from numbers import Integral, Real

_BOUNDARIES = ("both", "left", "right", "neither")


def check_scalar(x, name: str, target_type, *, min_val=None, max_val=None,
                 include_boundaries: str = "both", hint: str = ""):
    """Return `x` unchanged if it is a `target_type` (a type or tuple of types, e.g. Integral or
    Real) lying between `min_val` and `max_val`; raise a TypeError or ValueError in plain words
    otherwise. `include_boundaries` says which ends are allowed ("both", "left", "right",
    "neither"). A bool is never accepted as a number, and a Real must be finite. `hint` is
    appended to the message (e.g. "CLIP uses 0.07")."""
    if include_boundaries not in _BOUNDARIES:
        raise ValueError(f"include_boundaries must be one of {_BOUNDARIES}, got {include_boundaries!r}")
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    tail = f"; {hint}" if hint else ""
    kind = " or ".join(_type_name(t) for t in types)
    if (isinstance(x, bool) and bool not in types) or not isinstance(x, types):
        raise TypeError(f"{name} must be {kind}, got {x!r} of type {type(x).__name__}{tail}")
    if isinstance(x, Real) and not isinstance(x, bool) and not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {x!r}{tail}")
    low_ok = min_val is None or (x >= min_val if include_boundaries in ("both", "left") else x > min_val)
    high_ok = max_val is None or (x <= max_val if include_boundaries in ("both", "right") else x < max_val)
    if not (low_ok and high_ok):
        raise ValueError(f"{name} must be {_range(min_val, max_val, include_boundaries)}, got {x!r}{tail}")
    return x


def _type_name(t) -> str:
    return {Integral: "a whole number", Real: "a number", int: "a whole number", float: "a number",
            str: "a string", bool: "True or False"}.get(t, f"a {getattr(t, '__name__', t)}")


def _range(low, high, include: str) -> str:
    left = include in ("both", "left")
    right = include in ("both", "right")
    if low is not None and high is not None:
        return f"in {'[' if left else '('}{low}, {high}{']' if right else ')'}"
    if low is not None:
        return f"{'>=' if left else '>'} {low}"
    return f"{'<=' if right else '<'} {high}"
