"""The standard world every notebook shares, and its frozen evaluation split in data/.

The frozen copy is checked against sha256 sums before use: a missing or corrupted file is
reported in plain words (or, if asked, regenerated in memory with a warning), never used
silently. Files are plain .npz arrays loaded with allow_pickle=False: nothing is unpickled.

Rebuild the frozen copy with:  python -m cmkt_lib.data --write
"""

import argparse
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from .world import World, make_world

STANDARD = dict(n=10_000, seed=2026)  # the standard world: 8,000 train, 1,000 val, 1,000 test
TEST_FILE = "standard_test.npz"
SUMS_FILE = "SHA256SUMS"
_NUMERIC = ("shape", "colour", "size", "position", "concept", "radius", "x", "y")


class DataIntegrityError(ValueError):
    """A file in data/ is missing or does not match its recorded checksum."""


def standard_world(**overrides) -> World:
    """make_world with the course's standard arguments (n=10,000, seed=2026)."""
    return make_world(**{**STANDARD, **overrides})


def data_dir() -> Path:
    """The data/ folder: $CMKT_DATA if set, else the one beside the cmkt_lib package."""
    env = os.environ.get("CMKT_DATA")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def expected_sums(folder: Path) -> dict:
    sums = Path(folder) / SUMS_FILE
    if not sums.exists():
        raise DataIntegrityError(f"{sums} is missing; rebuild it with: python -m cmkt_lib.data --write")
    out = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip().lstrip("*")] = digest
    return out


def verify(name: str, folder: Path | None = None) -> Path:
    """Path of data file `name` after checking its sha256; DataIntegrityError if it fails."""
    folder = data_dir() if folder is None else Path(folder)
    path = folder / name
    fix = "restore it with `git checkout -- data/` or rebuild it with `python -m cmkt_lib.data --write`"
    if not path.exists():
        raise DataIntegrityError(f"data file {path} is missing; {fix}")
    want = expected_sums(folder).get(name)
    if want is None:
        raise DataIntegrityError(f"{name} has no checksum in {folder / SUMS_FILE}; {fix}")
    got = sha256(path)
    if got != want:
        raise DataIntegrityError(
            f"data file {path} is corrupted: its sha256 is {got[:12]}..., expected {want[:12]}...; {fix}"
        )
    return path


def _to_arrays(world: World, indices) -> dict:
    return dict(
        indices=np.asarray(indices, dtype=np.int64),
        images=np.round(world.images * 255).astype(np.uint8),
        waveforms=np.round(world.waveforms * 32767).astype(np.int16),
        captions=np.array(world.captions, dtype="<U80"),
        caption_source=world.caption_source,
        **{f"attr_{k}": world.attributes[k] for k in _NUMERIC},
    )


def _from_arrays(a) -> World:
    n = len(a["captions"])
    return World(
        images=a["images"].astype(np.float32) / np.float32(255),
        captions=[str(c) for c in a["captions"]],
        waveforms=a["waveforms"].astype(np.float32) / np.float32(32767),
        attributes={k: a[f"attr_{k}"] for k in _NUMERIC},
        caption_source=a["caption_source"],
        splits={"test": np.arange(n)},
        config=dict(STANDARD, frozen=TEST_FILE, world_indices=a["indices"]),
    )


def load_standard_test(folder: Path | None = None, on_error: str = "raise") -> World:
    """The standard world's test split (1,000 objects) from data/, checksum verified.

    on_error="regenerate" rebuilds it from make_world instead of failing, with a warning."""
    if on_error not in ("raise", "regenerate"):
        raise ValueError(f"on_error must be 'raise' or 'regenerate', got {on_error!r}")
    try:
        path = verify(TEST_FILE, folder)
    except DataIntegrityError as err:
        if on_error == "raise":
            raise
        warnings.warn(f"{err}. Regenerating the test split in memory instead (a few seconds).")
        world = standard_world()
        return _from_arrays(_to_arrays(world.subset("test"), world.indices("test")))
    with np.load(path, allow_pickle=False) as a:
        return _from_arrays({k: a[k] for k in a.files})


def write_standard_test(folder: Path | None = None) -> Path:
    """Regenerate data/standard_test.npz from the standard world and record its sha256."""
    folder = data_dir() if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    world = standard_world()
    path = folder / TEST_FILE
    np.savez_compressed(path, **_to_arrays(world.subset("test"), world.indices("test")))
    (folder / SUMS_FILE).write_text(f"{sha256(path)}  {TEST_FILE}\n")
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Check or rebuild the frozen data in data/.")
    parser.add_argument("--write", action="store_true", help="regenerate the files and their sums")
    args = parser.parse_args(argv)
    if args.write:
        path = write_standard_test()
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    world = load_standard_test()
    print(f"ok: {TEST_FILE} verified, {len(world)} objects")


if __name__ == "__main__":
    main()
