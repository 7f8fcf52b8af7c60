"""The real pictograms of notebook 13: the font check, the rendering, and the pinned split."""

import shutil
import sys

import numpy as np
import pytest

from cmkt_lib import pictograms as pg
from cmkt_lib.data import DataIntegrityError, data_dir

pytest.importorskip("manimgx_fonts")
pytest.importorskip("PIL")


@pytest.fixture(scope="module")
def table():
    return pg.load_pictograms()


def test_rendering_gives_unit_range_pictures_with_ink():
    images = pg.render_pictograms([0x1F431, 0x1F6B2, 0x2600])   # cat face, bicycle, sun
    assert images.shape == (3, 1, 32, 32) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    ink = images.mean(axis=(1, 2, 3))
    assert (ink > 0.05).all() and (ink < 0.8).all(), ink          # drawn, and not a filled box
    assert np.abs(images[0] - images[1]).mean() > 0.05             # two glyphs are two pictures


def test_rendering_is_the_same_twice_and_follows_the_size():
    a = pg.render_pictograms([0x1F40D], size=40, font_px=30)
    assert a.shape == (1, 1, 40, 40)
    assert np.array_equal(a, pg.render_pictograms([0x1F40D], size=40, font_px=30))


def test_every_pinned_pictogram_is_drawn_and_barely_clipped(table):
    images = pg.render_pictograms(table["codepoint"])
    assert (images.max(axis=(1, 2, 3)) > 0.5).all(), "a blank picture"
    edge = np.concatenate([images[:, 0, [0, -1], :], images[:, 0, :, [0, -1]].transpose(1, 0, 2)], axis=1)
    assert (edge.max(axis=1) > 0.5).mean() < 0.05, "more than 5 % of the glyphs touch the border"
    # no picture drawn as the font's 'missing glyph' box: the pictures are (nearly) all different
    flat = images.reshape(len(images), -1)
    assert len(np.unique(flat.round(2), axis=0)) > 0.98 * len(flat)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="at least one code point"):
        pg.render_pictograms([])
    with pytest.raises(ValueError, match="outside Unicode"):
        pg.render_pictograms([0x110000])
    with pytest.raises(ValueError, match="font_px"):
        pg.render_pictograms([0x1F431], size=16, font_px=24)


def test_an_altered_font_is_refused(tmp_path):
    copy = tmp_path / pg.FONT_FILE
    shutil.copy(pg.font_path(), copy)
    assert pg.verify_font(copy) == copy
    with open(copy, "ab") as f:
        f.write(b"\0")
    with pytest.raises(pg.PictogramSourceError, match="pip install --force-reinstall"):
        pg.verify_font(copy)
    with pytest.raises(pg.PictogramSourceError, match="pip install"):
        pg.render_pictograms([0x1F431], font_file=copy)


def test_a_missing_package_says_which_pip_command_fixes_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "manimgx_fonts", None)   # import fails as if not installed
    with pytest.raises(pg.PictogramSourceError, match=r"pip install .*manimgx-fonts"):
        pg.font_path()


def test_an_altered_table_is_refused(tmp_path):
    for name in ("SHA256SUMS", pg.TABLE_FILE):
        shutil.copy(data_dir() / name, tmp_path / name)
    assert len(pg.load_pictograms(tmp_path)["name"]) > 1000
    (tmp_path / pg.TABLE_FILE).write_text((tmp_path / pg.TABLE_FILE).read_text().replace("cat", "dog", 1))
    with pytest.raises(DataIntegrityError, match="corrupted"):
        pg.load_pictograms(tmp_path)


def test_the_pinned_split_keeps_word_groups_whole(table):
    seen, unseen = table["split"] == "seen", table["split"] == "unseen"
    assert (seen | unseen).all() and unseen.sum() >= 100 and seen.sum() > 3 * unseen.sum()
    assert not set(table["group"][seen]) & set(table["group"][unseen]), "a word group straddles the split"
    seen_words = {w for n in table["name"][seen] for w in pg.name_words(n)} - pg.LINK_STOP_WORDS
    for name in table["name"][unseen]:
        assert not set(pg.name_words(name)) - pg.LINK_STOP_WORDS & seen_words, name
    names = list(table["name"])
    for a, b in (("cat", "cat face"), ("clock face one oclock", "clock face two oclock"), ("dog", "dog face")):
        i, j = names.index(a), names.index(b)
        assert table["split"][i] == table["split"][j], (a, b)
    assert len(set(table["codepoint"])) == len(names)


def test_the_pinned_groups_are_the_rule_applied_to_the_names(table):
    alike = pg.same_pictures(pg.render_pictograms(table["codepoint"]))
    assert alike, "the font draws some pictograms alike (dancer, man dancing)"
    assert np.array_equal(pg.word_groups(table["name"], alike), table["group"])


def test_word_groups_link_through_chains():
    groups = pg.word_groups(["cat", "cat face", "face of a dog", "dog house", "sun"])
    # "face" is a stop word, so "cat face" and "face of a dog" are not linked by it
    assert groups[0] == groups[1] and groups[2] == groups[3] and groups[1] != groups[2]
    assert len(set(groups)) == 3
    linked = pg.word_groups(["cat", "cat face", "face of a dog", "dog house", "sun"], also_linked=[(4, 0)])
    assert linked[4] == linked[0] and len(set(linked)) == 2


def test_no_unseen_picture_is_a_copy_of_a_seen_one(table):
    images = pg.render_pictograms(table["codepoint"]).reshape(len(table["name"]), -1)
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    seen, unseen = images[table["split"] == "seen"], images[table["split"] == "unseen"]
    assert (unseen @ seen.T).max() < 0.99
