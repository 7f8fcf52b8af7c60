"""The attributes of the world's objects, their names, and the high-level concept rule.

Every object has a shape, a colour, a size and a position. The *concept* is a high-level
label that no single attribute decides: it depends on the colour's temperature **and** on
whether the shape is sharp or blunt.
"""

SHAPES = ("circle", "square", "triangle", "star", "cross", "diamond")
COLOURS = ("red", "orange", "yellow", "green", "blue", "purple")
SIZES = ("small", "medium", "large")
# Positions are the cells of a 3 x 3 grid, read row by row from the top left.
VERTICAL = ("top", "middle", "bottom")
HORIZONTAL = ("left", "centre", "right")
POSITIONS = tuple(f"{v} {h}" for v in VERTICAL for h in HORIZONTAL)
CONCEPTS = ("safe", "neutral", "danger")

WARM_COLOURS = ("red", "orange", "yellow")
SHARP_SHAPES = ("triangle", "star", "cross")

# Names of the label arrays a World carries, and the class names of each.
TARGETS = {
    "shape": SHAPES,
    "colour": COLOURS,
    "size": SIZES,
    "position": POSITIONS,
    "concept": CONCEPTS,
}

# RGB of each colour, before per-sample jitter.
RGB = {
    "red": (0.90, 0.12, 0.10),
    "orange": (0.97, 0.55, 0.08),
    "yellow": (0.95, 0.90, 0.12),
    "green": (0.12, 0.72, 0.20),
    "blue": (0.12, 0.30, 0.92),
    "purple": (0.58, 0.18, 0.80),
}

# Radius range in pixels (on a 32 x 32 image) for each size.
SIZE_RADIUS = {"small": (4.0, 5.0), "medium": (6.0, 7.0), "large": (8.0, 9.0)}


def concept_of(shape: str, colour: str) -> str:
    """The high-level concept: warm and sharp is 'danger', cool and blunt is 'safe',
    anything mixed is 'neutral'. Knowing only the shape or only the colour is not enough."""
    check_value("shape", shape)
    check_value("colour", colour)
    warm = colour in WARM_COLOURS
    sharp = shape in SHARP_SHAPES
    if warm and sharp:
        return "danger"
    if not warm and not sharp:
        return "safe"
    return "neutral"


def check_value(target: str, value: str) -> None:
    """Raise a ValueError that lists the allowed values when `value` is not one of them."""
    if target not in TARGETS:
        raise ValueError(f"unknown attribute {target!r}; the attributes are {list(TARGETS)}")
    if value not in TARGETS[target]:
        raise ValueError(
            f"unknown {target} {value!r}; allowed values are {list(TARGETS[target])}"
        )
