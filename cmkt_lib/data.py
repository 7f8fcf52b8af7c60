"""The standard world every notebook shares, and its frozen evaluation split in data/.

The frozen copy is checked against sha256 sums before use: a missing or corrupted file is
reported in plain words (or, if asked, regenerated in memory with a warning), never used
silently. Files are plain .npz arrays loaded with allow_pickle=False: nothing is unpickled.

Check the frozen copy against the generator:  python -m cmkt_lib.data
Rebuild it after changing the generator:      python -m cmkt_lib.data --write
(--write refuses to replace a file whose contents differ from what this machine generates,
unless --force is given: a different file is a change to review, never a silent rewrite.)
"""

import argparse
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from .world import World, from_grid, make_world

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
    """File name -> sha256 from folder/SHA256SUMS (the format `sha256sum` writes: 64 hex digits,
    two spaces or a space and '*', the name). A line in any other form is reported, not skipped."""
    sums = Path(folder) / SUMS_FILE
    fix = "restore it with `git checkout -- data/` or rebuild it with: python -m cmkt_lib.data --write"
    if not sums.exists():
        raise DataIntegrityError(f"{sums} is missing; {fix}")
    if not sums.is_file():
        raise DataIntegrityError(f"{sums} is a folder, not the list of checksums; remove it, then {fix}")
    out = {}
    for number, line in enumerate(sums.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise DataIntegrityError(
                f"line {number} of {sums} is not '<64 hex digits>  <file name>': {line[:60]!r}; {fix}")
        out[parts[1].strip().lstrip("*")] = digest
    return out


def verify(name: str, folder: Path | None = None) -> Path:
    """Path of data file `name` after checking its sha256; DataIntegrityError if it fails."""
    folder = data_dir() if folder is None else Path(folder)
    path = folder / name
    fix = "restore it with `git checkout -- data/` or rebuild it with `python -m cmkt_lib.data --write`"
    if not path.exists():
        raise DataIntegrityError(f"data file {path} is missing; {fix}")
    if not path.is_file():
        raise DataIntegrityError(f"data file {path} is a folder, not a file; move the folder away, then {fix}")
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
        images=from_grid(a["images"], 255),
        captions=[str(c) for c in a["captions"]],
        waveforms=from_grid(a["waveforms"], 32767),
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
    return _from_arrays(_read_arrays(path))


def _read_arrays(path: Path) -> dict:
    """Every array of an .npz file, loaded without unpickling anything."""
    with np.load(path, allow_pickle=False) as a:
        return {k: a[k] for k in a.files}


def generated_standard_test() -> dict:
    """The arrays of standard_test.npz as the generator makes them on this machine."""
    world = standard_world()
    return _to_arrays(world.subset("test"), world.indices("test"))


def compare_with_generator(folder: Path | None = None) -> list:
    """Differences between the frozen test split and what make_world generates here, as
    sentences ("images: 2 of 3,072,000 values differ, by at most 1"); [] when they agree."""
    return _differences(_read_arrays(verify(TEST_FILE, folder)), generated_standard_test())


def _differences(stored: dict, generated: dict) -> list:
    out = []
    for key in sorted(set(stored) | set(generated)):
        if key not in stored or key not in generated:
            out.append(f"{key}: only in the {'generated' if key in generated else 'stored'} arrays")
        elif stored[key].shape != generated[key].shape or stored[key].dtype != generated[key].dtype:
            out.append(f"{key}: stored {stored[key].dtype}{stored[key].shape}, "
                       f"generated {generated[key].dtype}{generated[key].shape}")
        elif not np.array_equal(stored[key], generated[key]):
            differ = stored[key] != generated[key]
            line = f"{key}: {differ.sum():,} of {differ.size:,} values differ"
            if np.issubdtype(stored[key].dtype, np.number):
                gap = np.abs(stored[key].astype(np.float64) - generated[key].astype(np.float64)).max()
                line += f", by at most {gap:g}"
            out.append(line)
    return out


def write_standard_test(folder: Path | None = None, force: bool = False) -> Path:
    """Write data/standard_test.npz from the standard world and record its sha256.

    A file that is already there is replaced only when it is identical in content (then nothing
    is written) or when force=True: the frozen split is the course's reference, and a generator
    that gives other values on this machine is a problem to look at, not a file to overwrite."""
    folder = data_dir() if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TEST_FILE
    arrays = generated_standard_test()
    if path.exists() and not force:
        try:
            verify(TEST_FILE, folder)
        except DataIntegrityError as err:
            raise DataIntegrityError(
                f"{err}. Not overwriting a file that fails its checksum: restore it with "
                "`git checkout -- data/`, or pass --force to replace it with what this machine generates"
            ) from None
        differences = _differences(_read_arrays(path), arrays)
        if not differences:
            return path  # already identical: leave the file (and its bytes) as they are
        raise DataIntegrityError(
            f"{path} differs from what the generator makes on this machine: "
            + "; ".join(differences)
            + ". Nothing was written. If you changed the generator on purpose, rerun with --force "
            "and commit the new file; otherwise report this machine (CPU, numpy version): "
            "the generator is meant to give the same values everywhere"
        )
    np.savez_compressed(path, **arrays)
    sums = folder / SUMS_FILE
    lines = [l for l in (sums.read_text().splitlines() if sums.exists() else [])
             if l.strip() and l.split(maxsplit=1)[-1].strip().lstrip("*") != TEST_FILE]
    sums.write_text("".join(f"{l}\n" for l in lines) + f"{sha256(path)}  {TEST_FILE}\n")
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Check or rebuild the frozen data in data/.")
    parser.add_argument("--write", action="store_true",
                        help="write the files and their sums (refuses to replace a file that differs)")
    parser.add_argument("--force", action="store_true", help="with --write: replace a file that differs")
    args = parser.parse_args(argv)
    if args.force and not args.write:
        parser.error("--force only makes sense with --write")
    try:
        if args.write:
            before = sha256(data_dir() / TEST_FILE) if (data_dir() / TEST_FILE).exists() else None
            path = write_standard_test(force=args.force)
            changed = "unchanged (identical contents)" if sha256(path) == before else "written"
            print(f"{path}: {changed}, {path.stat().st_size / 1e6:.1f} MB; equal to what make_world generates here")
            return
        differences = compare_with_generator()
    except DataIntegrityError as err:
        raise SystemExit(f"error: {err}") from None
    if differences:
        raise SystemExit(f"error: {TEST_FILE} is intact but differs from the generator on this machine: "
                         + "; ".join(differences))
    print(f"ok: {TEST_FILE} verified and equal to what make_world generates on this machine")


if __name__ == "__main__":
    main()
