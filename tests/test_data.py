import shutil
import subprocess
import sys

import numpy as np
import pytest

import cmkt_lib.data as data_module
from cmkt_lib import DataIntegrityError, load_standard_test, standard_world
from cmkt_lib.data import SUMS_FILE, TEST_FILE, data_dir, generated_standard_test, verify, write_standard_test


@pytest.fixture()
def data_copy(tmp_path):
    for name in (TEST_FILE, SUMS_FILE):
        shutil.copy(data_dir() / name, tmp_path / name)
    return tmp_path


def test_frozen_test_split_loads_and_matches_the_generator():
    frozen = load_standard_test()
    world = standard_world()
    idx = world.indices("test")
    assert len(frozen) == len(idx) == 1000
    assert np.array_equal(frozen.config["world_indices"], idx)
    assert frozen.captions == [world.captions[i] for i in idx]
    for key in ("shape", "colour", "concept", "position"):
        assert np.array_equal(frozen.labels(key), world.labels(key)[idx])
    # images and sounds were stored as uint8 / int16; make_world rounds to the same grid and
    # decodes it the same way, so the two agree to the last bit on every CPU (see the next test)
    assert np.array_equal(frozen.images, world.images[idx])
    assert np.array_equal(frozen.waveforms, world.waveforms[idx])


# The largest difference between two CPUs' float64 sin/cos/exp/arctan2 seen in the values before
# rounding, in grid steps: numpy's AVX-512 paths against NPY_DISABLE_CPU_FEATURES="X86_V4
# AVX512_ICL X86_V3", on the standard test split (images 7.4e-13, sounds 7.3e-12). Vendors document
# these functions to within a few ulp, so any CPU lands this close. Every value before rounding must
# keep MARGIN from a rounding boundary, over 100 times that, so rounding gives the same grid point.
LARGEST_CPU_DIFFERENCE = 7.3e-12
MARGIN = 1e-9


def test_generated_values_keep_a_margin_from_every_rounding_boundary(monkeypatch):
    import cmkt_lib.world as world_module

    before_rounding = []
    quantise = world_module._quantise

    def recording_quantise(x, levels):
        before_rounding.append((x.copy(), levels))
        return quantise(x, levels)

    monkeypatch.setattr(world_module, "_quantise", recording_quantise)
    world = standard_world()
    idx = world.indices("test")
    assert sorted(levels for _, levels in before_rounding) == [255, 32767]  # images, sounds
    assert MARGIN > 100 * LARGEST_CPU_DIFFERENCE
    for x, levels in before_rounding:
        assert x.dtype == np.float64
        steps = x[idx] * levels
        distance = np.abs(steps - np.floor(steps) - 0.5)  # round() switches at k + 0.5
        assert distance.min() >= MARGIN, f"a value lies {distance.min():.1e} steps from a rounding boundary"


def test_corrupted_file_is_reported(data_copy):
    path = data_copy / TEST_FILE
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DataIntegrityError, match="corrupted"):
        load_standard_test(data_copy)


def test_missing_file_is_reported(data_copy):
    (data_copy / TEST_FILE).unlink()
    with pytest.raises(DataIntegrityError, match="missing.*python -m cmkt_lib.data --write"):
        verify(TEST_FILE, data_copy)


def test_missing_checksums_are_reported(data_copy):
    (data_copy / SUMS_FILE).unlink()
    with pytest.raises(DataIntegrityError, match="SHA256SUMS is missing"):
        load_standard_test(data_copy)


@pytest.mark.parametrize("garbage", ["oops", "not-a-digest  standard_test.npz", "4b0fc9df  standard_test.npz"])
def test_garbage_line_in_checksums_is_reported(data_copy, garbage):
    sums = data_copy / SUMS_FILE
    line = len(sums.read_text().splitlines()) + 1   # the garbage line's number (data/ holds several files)
    sums.write_text(sums.read_text() + garbage + "\n")
    with pytest.raises(DataIntegrityError, match=rf"line {line} of .*SHA256SUMS is not '<64 hex digits>  <file name>'"):
        load_standard_test(data_copy)


def test_folders_in_data_are_reported(data_copy):
    (data_copy / TEST_FILE).unlink()
    (data_copy / TEST_FILE).mkdir()
    with pytest.raises(DataIntegrityError, match=r"standard_test\.npz is a folder, not a file"):
        verify(TEST_FILE, data_copy)
    (data_copy / SUMS_FILE).unlink()
    (data_copy / SUMS_FILE).mkdir()
    with pytest.raises(DataIntegrityError, match=r"SHA256SUMS is a folder"):
        data_module.expected_sums(data_copy)


def test_regenerate_on_request_warns_and_gives_the_same_split(data_copy):
    (data_copy / TEST_FILE).write_bytes(b"not a zip")
    with pytest.warns(UserWarning, match="Regenerating"):
        regenerated = load_standard_test(data_copy, on_error="regenerate")
    frozen = load_standard_test()
    assert regenerated.captions == frozen.captions
    assert np.array_equal(regenerated.images, frozen.images)
    assert np.array_equal(regenerated.waveforms, frozen.waveforms)


@pytest.fixture(scope="module")
def generated():
    return generated_standard_test()


def test_write_leaves_an_identical_file_untouched(data_copy, generated, monkeypatch):
    monkeypatch.setattr(data_module, "generated_standard_test", lambda: generated)
    path = data_copy / TEST_FILE
    before = (path.read_bytes(), path.stat().st_mtime_ns, (data_copy / SUMS_FILE).read_text())
    write_standard_test(data_copy)
    assert (path.read_bytes(), path.stat().st_mtime_ns, (data_copy / SUMS_FILE).read_text()) == before


def test_write_refuses_to_replace_a_file_that_differs(data_copy, generated, monkeypatch):
    other = {k: v.copy() for k, v in generated.items()}
    other["images"][0, 0, 0, 0] ^= 1  # what another machine's generator might have made
    monkeypatch.setattr(data_module, "generated_standard_test", lambda: other)
    path = data_copy / TEST_FILE
    before = path.read_bytes()
    with pytest.raises(DataIntegrityError, match="images: 1 of 3,072,000 values differ.*Nothing was written.*--force"):
        write_standard_test(data_copy)
    assert path.read_bytes() == before
    assert verify(TEST_FILE, data_copy) == path
    write_standard_test(data_copy, force=True)  # on purpose: the new file and its sum are written
    assert load_standard_test(data_copy).images[0, 0, 0, 0] != load_standard_test().images[0, 0, 0, 0]


def test_write_refuses_to_replace_a_corrupted_file(data_copy):
    path = data_copy / TEST_FILE
    path.write_bytes(b"someone else's file")
    with pytest.raises(DataIntegrityError, match="Not overwriting.*git checkout"):
        write_standard_test(data_copy)
    assert path.read_bytes() == b"someone else's file"


def test_write_restores_a_missing_file(data_copy, generated, monkeypatch):
    monkeypatch.setattr(data_module, "generated_standard_test", lambda: generated)
    (data_copy / TEST_FILE).unlink()
    (data_copy / SUMS_FILE).write_text("0" * 64 + "  other.npz\n")
    write_standard_test(data_copy)
    assert np.array_equal(load_standard_test(data_copy).images, load_standard_test().images)
    assert "other.npz" in (data_copy / SUMS_FILE).read_text()  # other files' sums are kept


def test_command_line_check_says_ok():
    out = subprocess.run([sys.executable, "-m", "cmkt_lib.data"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "equal to what make_world generates" in out.stdout


def test_bad_on_error():
    with pytest.raises(ValueError, match="on_error"):
        load_standard_test(on_error="ignore")
