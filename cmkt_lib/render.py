"""Draws the world's pictures: one anti-aliased shape per 3 x 32 x 32 image on a noisy
background. Every shape is a signed distance function (negative inside), so the edge can be
blended over one pixel, and all images of one shape are drawn at once with numpy.

Everything is computed in float64. numpy picks a different vector code path for sin, cos and
arctan2 on different CPUs (AVX-512, AVX2, Arm), and their float32 results differ in the last bit,
which is enough to move a pixel across a rounding boundary of the stored uint8 image. In float64
those differences stay below 1e-12 of a grey level (7e-13 measured between AVX-512 and baseline
code), far inside the margin that the tests prove every stored pixel keeps from a rounding
boundary (tests/test_data.py)."""

import math

import numpy as np

from .attributes import SHAPES

IMAGE_SIZE = 32


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _star_sdf(px, py, r, n, m):
    """Signed distance to a regular n-pointed star (m=2 gives a regular n-gon), after
    Inigo Quilez's `sdStar`. px, py: `(k, H, W)`; r: `(k, 1, 1)` outer radius."""
    an, en = math.pi / n, math.pi / m
    acs = (math.cos(an), math.sin(an))
    ecs = (math.cos(en), math.sin(en))
    bn = np.mod(np.arctan2(px, py), 2 * an) - an
    length = np.sqrt(px * px + py * py)
    qx, qy = length * np.cos(bn), length * np.abs(np.sin(bn))
    qx, qy = qx - r * acs[0], qy - r * acs[1]
    t = np.clip(-(qx * ecs[0] + qy * ecs[1]), 0.0, r * acs[1] / ecs[1])
    qx, qy = qx + ecs[0] * t, qy + ecs[1] * t
    return np.sqrt(qx * qx + qy * qy) * np.sign(qx)


def _box_sdf(px, py, bx, by):
    """Signed distance to an axis-aligned box with half-sides bx, by."""
    qx, qy = np.abs(px) - bx, np.abs(py) - by
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0)


def shape_sdf(shape: str, px, py, r):
    """Signed distance (pixels) to `shape` of radius r centred at the origin."""
    if shape == "circle":
        return np.sqrt(px * px + py * py) - r
    if shape == "square":
        return _box_sdf(px, py, 0.8 * r, 0.8 * r)
    if shape == "diamond":
        return _star_sdf(px, py, 1.1 * r, 4, 2)
    if shape == "triangle":
        return _star_sdf(px, py, 1.15 * r, 3, 2)
    if shape == "star":
        return _star_sdf(px, py, 1.2 * r, 5, 3.2)
    if shape == "cross":
        arm = 0.33 * r
        return np.minimum(_box_sdf(px, py, r, arm), _box_sdf(px, py, arm, r))
    raise ValueError(f"unknown shape {shape!r}; allowed values are {list(SHAPES)}")


def render_images(shape, rgb, radius, cx, cy, angle, background, noise_std, rng):
    """Images as float64 `(n, 3, 32, 32)` in [0, 1], before rounding to a stored grid.

    shape: int `(n,)` index into SHAPES; rgb: `(n, 3)`; radius, cx, cy, angle (radians),
    noise_std: `(n,)`; background: `(n, 3)` background colour."""
    n = len(shape)
    grid = np.arange(IMAGE_SIZE, dtype=np.float64) + 0.5
    alpha = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float64)
    for k, name in enumerate(SHAPES):
        idx = np.flatnonzero(shape == k)
        if idx.size == 0:
            continue
        dx = grid[None, None, :] - _f64(cx)[idx, None, None]
        dy = grid[None, :, None] - _f64(cy)[idx, None, None]
        a = _f64(angle)[idx, None, None]
        # rotate the sampling grid by -angle; y grows downwards, so flip it to point up
        px = np.cos(a) * dx + np.sin(a) * dy
        py = np.sin(a) * dx - np.cos(a) * dy
        d = shape_sdf(name, px, py, _f64(radius)[idx, None, None])
        alpha[idx] = np.clip(0.5 - d, 0.0, 1.0)
    rgb, background = _f64(rgb), _f64(background)
    images = background[:, :, None, None] + alpha[:, None] * (rgb - background)[:, :, None, None]
    images += rng.standard_normal(images.shape) * _f64(noise_std)[:, None, None, None]
    return np.clip(images, 0.0, 1.0, out=images)
