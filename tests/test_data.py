import shutil

import numpy as np
import pytest

from cmkt_lib import DataIntegrityError, load_standard_test, standard_world
from cmkt_lib.data import SUMS_FILE, TEST_FILE, data_dir, verify


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
    # images and sounds were stored as uint8 / int16; make_world rounds to the same grid
    assert np.abs(frozen.images - world.images[idx]).max() < 1e-6
    assert np.abs(frozen.waveforms - world.waveforms[idx]).max() < 1e-6


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


def test_regenerate_on_request_warns_and_gives_the_same_split(data_copy):
    (data_copy / TEST_FILE).write_bytes(b"not a zip")
    with pytest.warns(UserWarning, match="Regenerating"):
        regenerated = load_standard_test(data_copy, on_error="regenerate")
    assert regenerated.captions == load_standard_test().captions


def test_bad_on_error():
    with pytest.raises(ValueError, match="on_error"):
        load_standard_test(on_error="ignore")
