"""Draws the world's pictures: one anti-aliased shape per 3 x 32 x 32 image on a noisy
background. Every shape is a signed distance function (negative inside), so the edge can be
blended over one pixel, and all images of one shape are drawn at once with numpy."""

import numpy as np

from .attributes import SHAPES

IMAGE_SIZE = 32


def _star_sdf(px, py, r, n, m):
    """Signed distance to a regular n-pointed star (m=2 gives a regular n-gon), after
    Inigo Quilez's `sdStar`. px, py: `(k, H, W)`; r: `(k, 1, 1)` outer radius."""
    an, en = np.pi / n, np.pi / m
    acs = np.array([np.cos(an), np.sin(an)], dtype=np.float32)
    ecs = np.array([np.cos(en), np.sin(en)], dtype=np.float32)
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
    """Images as float32 `(n, 3, 32, 32)` in [0, 1].

    shape: int `(n,)` index into SHAPES; rgb: `(n, 3)`; radius, cx, cy, angle (radians),
    noise_std: `(n,)`; background: `(n, 3)` background colour."""
    n = len(shape)
    grid = np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5
    alpha = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for k, name in enumerate(SHAPES):
        idx = np.flatnonzero(shape == k)
        if idx.size == 0:
            continue
        dx = grid[None, None, :] - cx[idx, None, None].astype(np.float32)
        dy = grid[None, :, None] - cy[idx, None, None].astype(np.float32)
        cos, sin = np.cos(angle[idx])[:, None, None], np.sin(angle[idx])[:, None, None]
        # rotate the sampling grid by -angle; y grows downwards, so flip it to point up
        px = (cos * dx + sin * dy).astype(np.float32)
        py = (sin * dx - cos * dy).astype(np.float32)
        d = shape_sdf(name, px, py, radius[idx, None, None].astype(np.float32))
        alpha[idx] = np.clip(0.5 - d, 0.0, 1.0)
    a = alpha[:, None]
    rgb, background = rgb.astype(np.float32), background.astype(np.float32)
    images = background[:, :, None, None] + a * (rgb - background)[:, :, None, None]
    images += rng.standard_normal(images.shape, dtype=np.float32) * noise_std[:, None, None, None]
    return np.clip(images, 0.0, 1.0, out=images)
