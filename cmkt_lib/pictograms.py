"""Real pictures with real names (notebook 13): Noto Emoji's monochrome glyphs and their Unicode names.

The pictures come from the font file `NotoEmoji[wght].ttf` that the PyPI wheel `manimgx-fonts`
installs (Noto Emoji, SIL Open Font License 1.1). The font's sha256 is checked before it is used,
so a missing or altered package stops with a plain-words error saying which pip command fixes it.
Glyphs are drawn by Pillow's FreeType rasteriser (integer arithmetic: the same pixels on every CPU).

Which pictograms exist, their names and the seen / unseen split are pinned in
`data/pictograms.csv` (checked against `data/SHA256SUMS`), because Python's `unicodedata` changes
with the Python version. The split keeps near-duplicates together: two names that share a word
(outside a short list of very common words, `LINK_STOP_WORDS`) are in one group, and a group is
seen or unseen as a whole, so "cat" and "cat face" or the clock faces never straddle the split;
two pictograms the font draws alike (pixel cosine of at least 0.99) are in one group too.

    table = load_pictograms()                         # codepoints, names, split, group, block
    images = render_pictograms(table["codepoint"])    # float32 (N, 1, 32, 32) in [0, 1], ink = 1

Rebuild the pinned list (only after a deliberate change; it refuses to replace a different file
unless --force is given):  python -m cmkt_lib.pictograms --write
"""

import argparse
import csv
import hashlib
import re
import unicodedata
from pathlib import Path

import numpy as np

from ._validate import check_scalar

FONT_PACKAGE = "manimgx-fonts"
FONT_FILE = "NotoEmoji[wght].ttf"
FONT_SHA256 = "de6c18832938afc99caf132b39d6a30a19bac7f2e812e28db2535b4608d27551"
INSTALL_HINT = f"pip install --force-reinstall '{FONT_PACKAGE}>=2026.9.26'"
TABLE_FILE = "pictograms.csv"
UNSEEN_FRACTION = 0.2   # the share of pictograms held out, taken as whole word groups
SAME_PICTURE = 0.99     # pictures this alike (cosine similarity of pixels) are kept on one side of the split

# Words so common in Unicode names that linking on them would put almost every name in one group.
# They are ignored when names are linked (and counted when we ask which unseen names share any word).
LINK_STOP_WORDS = frozenset(
    "with of and a the in on for face sign symbol black white medium small large heavy squared circled "
    "button mark left right up down upwards downwards leftwards rightwards arrow open closed one two three "
    "four five man woman person hand heart emoji old without o double".split())
# Names that are not pictures of a thing: letters to combine into flags, skin-tone swatches, tags.
LEFT_OUT = ("regional indicator", "emoji modifier", "emoji component", "tag ")

# Unicode blocks (Blocks.txt) that hold emoji: the coarse level of the category check.
BLOCKS = (
    (0x2000, 0x206F, "General Punctuation"), (0x2100, 0x214F, "Letterlike Symbols"), (0x2190, 0x21FF, "Arrows"),
    (0x2300, 0x23FF, "Miscellaneous Technical"), (0x2460, 0x24FF, "Enclosed Alphanumerics"),
    (0x25A0, 0x25FF, "Geometric Shapes"), (0x2600, 0x26FF, "Miscellaneous Symbols"), (0x2700, 0x27BF, "Dingbats"),
    (0x2900, 0x297F, "Supplemental Arrows-B"), (0x2B00, 0x2BFF, "Miscellaneous Symbols and Arrows"),
    (0x3000, 0x303F, "CJK Symbols and Punctuation"), (0x3200, 0x32FF, "Enclosed CJK Letters and Months"),
    (0x1F000, 0x1F02F, "Mahjong Tiles"), (0x1F0A0, 0x1F0FF, "Playing Cards"),
    (0x1F100, 0x1F1FF, "Enclosed Alphanumeric Supplement"), (0x1F200, 0x1F2FF, "Enclosed Ideographic Supplement"),
    (0x1F300, 0x1F5FF, "Miscellaneous Symbols and Pictographs"), (0x1F600, 0x1F64F, "Emoticons"),
    (0x1F680, 0x1F6FF, "Transport and Map Symbols"), (0x1F780, 0x1F7FF, "Geometric Shapes Extended"),
    (0x1F900, 0x1F9FF, "Supplemental Symbols and Pictographs"),
    (0x1FA70, 0x1FAFF, "Symbols and Pictographs Extended-A"),
)


class PictogramSourceError(RuntimeError):
    """The font package is missing, or its font file is not the one the course was built with."""


def font_path() -> Path:
    """The Noto Emoji font file that the `manimgx-fonts` wheel installed (not yet checked)."""
    try:
        import manimgx_fonts
    except ImportError as error:
        raise PictogramSourceError(
            f"the pictogram font is not installed: notebook 13 draws its pictures with Noto Emoji from the "
            f"package {FONT_PACKAGE} (3.5 MB, SIL Open Font License); install it with: {INSTALL_HINT}") from error
    path = Path(manimgx_fonts.__file__).parent / FONT_FILE
    if not path.is_file():
        raise PictogramSourceError(f"{FONT_PACKAGE} is installed but {FONT_FILE} is missing from {path.parent}; "
                                   f"reinstall it with: {INSTALL_HINT}")
    return path


def verify_font(path=None, expected: str = FONT_SHA256) -> Path:
    """The font's path after checking its sha256 against `expected`; PictogramSourceError if it differs."""
    path = font_path() if path is None else Path(path)
    if not path.is_file():
        raise PictogramSourceError(f"no font file at {path}; reinstall the font package with: {INSTALL_HINT}")
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != expected:
        raise PictogramSourceError(
            f"the font file {path} is not the one this course was built with (sha256 {got[:12]}..., expected "
            f"{expected[:12]}...): another version of {FONT_PACKAGE} draws other pictures. Reinstall the "
            f"pinned one with: {INSTALL_HINT}")
    return path


def render_pictograms(codepoints, size: int = 32, font_px: int = 24, font_file=None) -> np.ndarray:
    """Draw each code point's glyph, centred, white ink on black: float32 `(N, 1, size, size)` in [0, 1].

    font_px is the font size in pixels (24 of 32 leaves a margin, so wide glyphs are barely
    clipped). The font is hash-checked first (`verify_font`)."""
    from PIL import Image, ImageDraw, ImageFont

    check_scalar(size, "size", int, min_val=8, hint="the picture's side in pixels")
    check_scalar(font_px, "font_px", int, min_val=4, max_val=size, hint="the glyph's size, at most the picture's")
    codepoints = [int(c) for c in codepoints]
    if not codepoints:
        raise ValueError("render_pictograms needs at least one code point, e.g. [0x1F431] for a cat face")
    font = ImageFont.truetype(str(verify_font(font_file)), font_px)
    out = np.zeros((len(codepoints), 1, size, size), dtype=np.float32)
    for i, cp in enumerate(codepoints):
        if not 0 <= cp <= 0x10FFFF:
            raise ValueError(f"code point {cp} is outside Unicode (0 to 0x10FFFF)")
        image = Image.new("L", (size, size), 0)
        ImageDraw.Draw(image).text((size / 2, size / 2), chr(cp), fill=255, font=font, anchor="mm")
        out[i, 0] = np.asarray(image, dtype=np.float32) / 255.0
    return out


def name_words(name: str) -> list:
    """The words of a Unicode name, lower case, hyphens split: "t-shirt" -> ["t", "shirt"]."""
    return re.findall(r"[a-z0-9]+", name.lower())


def block_of(codepoint: int) -> str:
    """The Unicode block that holds `codepoint` (one of BLOCKS), or "other"."""
    for low, high, name in BLOCKS:
        if low <= codepoint <= high:
            return name
    return "other"


def word_groups(names, also_linked=()) -> np.ndarray:
    """(N,) int64 group ids: names linked (directly or in a chain) by a shared word outside
    LINK_STOP_WORDS share a group, and so do the pairs of positions (i, j) in `also_linked`
    (pictograms drawn alike, `same_pictures`). Group ids are numbered by first appearance."""
    names = list(names)
    parent = list(range(len(names)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with = {}
    for i, name in enumerate(names):
        for word in set(name_words(name)) - LINK_STOP_WORDS:
            if word in first_with:
                parent[find(i)] = find(first_with[word])
            else:
                first_with[word] = i
    for i, j in also_linked:
        parent[find(int(i))] = find(int(j))
    roots, ids = {}, []
    for i in range(len(names)):
        ids.append(roots.setdefault(find(i), len(roots)))
    return np.array(ids, dtype=np.int64)


def same_pictures(images, threshold: float = SAME_PICTURE) -> list:
    """Pairs (i, j), i < j, of pictures `(N, ...)` whose pixels have a cosine similarity of at least
    `threshold`: the font draws some pictograms alike ("dancer" and "man dancing")."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    flat = flat / np.linalg.norm(flat, axis=1, keepdims=True)
    i, j = np.nonzero(np.triu(flat @ flat.T, k=1) >= threshold)
    return list(zip(i.tolist(), j.tolist()))


def build_table(font_file=None) -> list:
    """The pictogram list, built from the font and this Python's `unicodedata` (the pinned copy in
    data/ is what notebooks use): one dict per pictogram with codepoint, name, group, block, split.

    Pictograms: every code point above U+2000 of Unicode category So (other symbol) that the font
    draws, less LEFT_OUT. Groups: `word_groups`, linking also the pictures drawn alike
    (`same_pictures`). Split: the largest word group is seen (it is the group every common word
    runs through); the other groups, in the order of the sha256 of their first code point, are
    unseen until UNSEEN_FRACTION of all pictograms is; the rest are seen."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(verify_font(font_file))).getBestCmap()
    cps = [c for c in sorted(cmap) if c > 0x2000 and unicodedata.category(chr(c)) == "So"]
    cps = [c for c in cps if not any(s in unicodedata.name(chr(c), "").lower() for s in LEFT_OUT)]
    names = [unicodedata.name(chr(c)).lower() for c in cps]
    groups = word_groups(names, same_pictures(render_pictograms(cps, font_file=font_file)))
    sizes = np.bincount(groups)
    order = sorted((g for g in range(len(sizes)) if g != sizes.argmax()),
                   key=lambda g: hashlib.sha256(f"{cps[int(np.flatnonzero(groups == g)[0])]:X}".encode()).hexdigest())
    unseen, target = set(), UNSEEN_FRACTION * len(cps)
    for g in order:
        if sum(sizes[list(unseen)]) >= target:
            break
        unseen.add(g)
    return [{"codepoint": f"{c:X}", "name": n, "group": int(g), "block": block_of(c),
             "split": "unseen" if g in unseen else "seen"} for c, n, g in zip(cps, names, groups)]


def load_pictograms(folder=None) -> dict:
    """The pinned pictogram list from data/pictograms.csv, checksum-checked: a dict of arrays
    codepoint (N,) int64, name (N,) str, group (N,) int64, block (N,) str, split (N,) str."""
    from .data import data_dir, verify

    path = verify(TABLE_FILE, data_dir() if folder is None else Path(folder))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"codepoint": np.array([int(r["codepoint"], 16) for r in rows], dtype=np.int64),
            "name": np.array([r["name"] for r in rows]),
            "group": np.array([int(r["group"]) for r in rows], dtype=np.int64),
            "block": np.array([r["block"] for r in rows]),
            "split": np.array([r["split"] for r in rows])}


def write_table(path, rows, force: bool = False) -> bool:
    """Write `rows` to `path` as CSV; refuse to replace a file with other contents unless `force`."""
    path = Path(path)
    lines = ["codepoint,name,group,block,split"] + [
        f"{r['codepoint']},{r['name']},{r['group']},{r['block']},{r['split']}" for r in rows]
    text = "\n".join(lines) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") != text and not force:
        raise FileExistsError(f"{path} exists with other contents (another Python's unicodedata, or another "
                              f"rule?); compare them, and pass --force only if the change is meant")
    path.write_text(text, encoding="utf-8")
    return True


def main(argv=None) -> None:
    from .data import data_dir

    parser = argparse.ArgumentParser(description="Build the pinned pictogram list (data/pictograms.csv).")
    parser.add_argument("--write", action="store_true", help="write data/pictograms.csv")
    parser.add_argument("--force", action="store_true", help="replace a file with other contents")
    args = parser.parse_args(argv)
    rows = build_table()
    n_unseen = sum(r["split"] == "unseen" for r in rows)
    print(f"{len(rows)} pictograms, {n_unseen} unseen, Unicode {unicodedata.unidata_version}")
    if args.write:
        path = data_dir() / TABLE_FILE
        write_table(path, rows, force=args.force)
        print(f"wrote {path}; now add its sha256 to data/SHA256SUMS (sha256sum data/{TABLE_FILE})")


if __name__ == "__main__":
    main()
