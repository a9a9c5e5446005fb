"""Palette file formats: one fixture per format and per defect (tests/data/palettes/)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from palcli.errors import PalcliWarning, PaletteError
from palcli.formats import PALETTE_FORMATS, READERS, WRITERS, read_palette_file, write_palette_file
from palcli.palette import Palette, load_palette

DATA = Path(__file__).parent / "data" / "palettes"

# fixture -> (name read from the file or None, colours in order)
GOOD = {
    "gimp-basic.gpl": ("Basic", ["#ff0000", "#00ff00", "#0000ff"]),
    "gimp-crlf-line-endings.gpl": ("CRLF", ["#0a141e", "#28323c"]),
    "gimp-no-columns-line.gpl": ("No columns", ["#080808", "#442c2c", "#50080c"]),
    "gimp-names-with-spaces-and-tabs.gpl": ("Names", ["#1a1a1a", "#0080ff", "#ffffff", "#010203"]),
    "gimp-comments-and-blank-lines-between-colours.gpl": ("Comments", ["#010101", "#020202", "#030303"]),
    "gimp-duplicate-colours.gpl": ("Dups", ["#000000", "#ffffff", "#000000", "#000000"]),
    "gimp-latin1-name.gpl": ("Caf\u00e9", ["#0c2238"]),
    "gimp-utf8-bom.gpl": ("BOM", ["#090807"]),
    "json-list-of-hex.json": (None, ["#ff0000", "#00ff00", "#0000ff", "#aabbcc"]),
    "json-object-colours.json": ("British", ["#102030", "#405060"]),
    "json-lospec-export.json": ("Lospec Four", ["#0f380f", "#306230", "#8bac0f", "#9bbc0f"]),
    "json-rgb-triples.json": (None, ["#010203", "#fffefd"]),
    "json-coolors-objects.json": (None, ["#0b132b", "#f4d35e"]),
    "lospec.hex": (None, ["#0f380f", "#306230", "#8bac0f", "#9bbc0f"]),
    "hex-crlf-hash-and-short-forms.hex": (None, ["#ff8800", "#ff8800", "#0a0b0c"]),
    "paintnet.txt": (None, ["#ff0000", "#00ff00", "#0000ff"]),
    "paintnet-trailing-comments-6-digit.txt": (None, ["#000000", "#9d9d9d", "#be2633"]),
    "jasc.pal": (None, ["#ff0000", "#00ff00", "#0000ff"]),
    "jasc-with-alpha-column.pal": (None, ["#010203", "#040506"]),
    "riff.pal": (None, ["#ff0000", "#00ff00", "#0000ff"]),
    "act-772-bytes-with-count.act": (None, ["#ff0000", "#00ff00", "#0000ff"]),
    "ase-rgb.ase": (None, ["#ff0000", "#8040ff"]),
    "ase-rgb-in-groups.ase": (None, ["#000000", "#00ff00", "#0000ff", "#ffffff"]),
    # Palette order, not scan order (the first pixel is red, index 1).
    "image-indexed.png": (None, ["#0000ff", "#ff0000", "#00ff00"]),
    # The GIF table is padded to 8 entries; only the 5 the pixels use are colours.
    "image-indexed-padded.gif": (None, ["#0a0000", "#140000", "#1e0000", "#280000", "#320000"]),
    "image-indexed-transparent-entry.png": (None, ["#010101", "#020202"]),
    "image-rgb-first-seen.png": (None, ["#090909", "#c80000", "#0000c8", "#00c800"]),
    "image-rgb.bmp": (None, ["#090909", "#c80000", "#0000c8", "#00c800"]),
    "image-rgba-transparent-pixel.png": (None, ["#060606", "#070707"]),
}

# fixture -> (line or None, words the message must contain)
BAD = {
    "gimp-missing-component.gpl": (5, "expected 'R G B [name]'"),
    "gimp-component-over-255.gpl": (4, "integers 0..255"),
    "gimp-no-header.gpl": (1, "expected 'GIMP Palette'"),
    "gimp-header-only-no-colours.gpl": (None, "no colours found"),
    "json-invalid-syntax.json": (4, "not valid JSON"),
    "json-bad-hex-entry.json": (None, 'colour 1: expected a hex colour or [r, g, b] with integers 0..255, '
                                      'got "#gg0000"'),
    "json-empty-list.json": (None, "no colours found"),
    "json-no-colors-key.json": (None, 'an object with "colors"'),
    "json-names-wrong-length.json": (None, '"names" must be a list of 2 strings or nulls'),
    "hex-bad-line.hex": (3, "got 'not-a-colour'"),
    "paintnet-bad-line.txt": (4, "got 'FFZZ0000'"),
    "jasc-count-mismatch.pal": (3, "the header says 4 colours but the file has 3"),
    "jasc-bad-header.pal": (1, "expected 'JASC-PAL'"),
    "jasc-component-over-255.pal": (5, "got '0 300 0'"),
    "act-wrong-size.act": (None, "expected 768 or 772 bytes (an Adobe colour table), got 700"),
    "act-count-zero.act": (None, "the colour count field says 0"),
    "ase-truncated.ase": (None, "truncated"),
    "ase-no-signature.ase": (None, "no 'ASEF' signature"),
    "image-not-an-image.png": (None, "not an image"),
}


def test_every_fixture_is_covered():
    on_disk = {p.name for p in DATA.iterdir() if p.suffix != ".py"}
    covered = set(GOOD) | set(BAD) | {"gimp-300-entries.gpl", "act-768-bytes.act", "ase-gray-cmyk-lab.ase"}
    assert set(NAMES) <= set(GOOD)
    assert on_disk == covered


# fixture -> the colour names read from it (every other fixture's colours have none)
NAMES = {
    "gimp-basic.gpl": ["red", "green", "blue"],
    "gimp-crlf-line-endings.gpl": ["one", "two"],
    "gimp-no-columns-line.gpl": ["grey3", None, None],
    "gimp-comments-and-blank-lines-between-colours.gpl": ["a", "b", "c"],
    "gimp-latin1-name.gpl": ["cr\u00e8me"],
    "gimp-names-with-spaces-and-tabs.gpl": ["90% Gray", "sky\tblue with tab", "Untitled", None],
    "paintnet-trailing-comments-6-digit.txt": ["0 - void", "1 - grey", "3 - red"],
    "ase-rgb.ase": ["red", "half"],
    "ase-rgb-in-groups.ase": ["top", "in group", "also in group", "after"],
    "json-coolors-objects.json": ["Rich Black", "Maize"],
}


@pytest.mark.parametrize("fixture", sorted(GOOD))
def test_reads_fixture(fixture):
    name, colors, names = read_palette_file(DATA / fixture)
    want_name, want = GOOD[fixture]
    assert name == want_name
    assert colors.dtype == np.uint8 and colors.shape == (len(want), 3)
    assert Palette("x", colors).hex() == want
    assert (names or [None] * len(want)) == NAMES.get(fixture, [None] * len(want))


@pytest.mark.parametrize("fixture", sorted(BAD))
def test_defect_is_one_clear_error(fixture):
    line, words = BAD[fixture]
    path = DATA / fixture
    with pytest.raises(PaletteError) as info:
        load_palette(str(path))
    err = info.value
    assert err.source == str(path) and err.line == line
    where = str(path) if line is None else f"{path}:{line}"
    assert str(err).startswith(where + ": ")
    assert words in str(err)
    assert "\n" not in str(err)


def test_gpl_more_than_256_entries():
    name, colors, _ = read_palette_file(DATA / "gimp-300-entries.gpl")
    i = np.arange(300)
    assert colors.shape == (300, 3)
    assert (colors[:, 0] == i % 256).all() and (colors[:, 1] == i // 256).all() and (colors[:, 2] == 7).all()


def test_act_768_bytes_is_256_colours():
    _, colors, _ = read_palette_file(DATA / "act-768-bytes.act")
    assert colors.shape == (256, 3)
    assert (colors[:, 0] == np.arange(256)).all() and (colors[:, 2] == 255 - np.arange(256)).all()


def test_ase_gray_cmyk_lab_converted_to_srgb_with_one_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, colors, _ = read_palette_file(DATA / "ase-gray-cmyk-lab.ase")
    # Gray 0.5 -> 128; CMYK (0, 1, 1, 0) -> red; Lab L*=100 -> white; L*=50 (D50, a=b=0) -> sRGB 119
    # (Y = 0.18419, encoded 0.46635 * 255 = 118.9).
    assert Palette("x", colors).hex() == ["#808080", "#ff0000", "#ffffff", "#777777"]
    msgs = [str(w.message) for w in caught if issubclass(w.category, PalcliWarning)]
    assert len(msgs) == 1 and "1 CMYK swatch(es)" in msgs[0] and "approximate" in msgs[0]


def test_ase_lab_is_d50():
    from palcli.formats import ase

    # sRGB red is L*a*b* (54.29, 80.81, 69.89) under D50 (Bradford), e.g. Lindbloom's calculator.
    r, g, b = ase._to_srgb8(b"LAB ", (0.5429, 80.81, 69.89))
    assert r >= 254 and g <= 1 and b <= 1


def test_gpl_writer_keeps_the_name_on_one_line(tmp_path):
    write_palette_file(Palette("two\nlines", np.array([[1, 2, 3]], np.uint8)), tmp_path / "p.gpl")
    assert read_palette_file(tmp_path / "p.gpl")[0] == "two lines"


def test_unknown_suffix_names_the_known_formats(tmp_path):
    path = tmp_path / "p.xyz"
    path.write_text("ff0000\n")
    with pytest.raises(PaletteError, match=r"unknown palette format '\.xyz' \(known: \.gpl"):
        load_palette(path)


def test_suffix_is_case_insensitive(tmp_path):
    path = tmp_path / "UPPER.HEX"
    path.write_text("ff0000\n")
    assert load_palette(path).hex() == ["#ff0000"]


def test_over_65536_colours_is_an_error(tmp_path):
    path = tmp_path / "big.hex"
    path.write_text("".join(f"{i:06x}\n" for i in range(65537)))
    with pytest.raises(PaletteError, match="65537 colours; at most 65536"):
        load_palette(path)
    path.write_text("".join(f"{i:06x}\n" for i in range(65536)))
    assert len(load_palette(path)) == 65536


def test_image_with_too_many_colours_is_an_error(tmp_path):
    from PIL import Image

    i = np.arange(257 * 256)
    rgb = np.stack([i % 256, i // 256 % 256, i // 65536], axis=1).astype(np.uint8).reshape(257, 256, 3)
    Image.fromarray(rgb).save(tmp_path / "many.png")
    with pytest.raises(PaletteError, match="65792 colours; at most 65536 are allowed"):
        load_palette(tmp_path / "many.png")


def test_registry_matches_the_spec():
    assert set(READERS) == {".gpl", ".json", ".hex", ".txt", ".pal", ".act", ".ase", ".png", ".gif", ".bmp"}
    assert set(WRITERS) == {".gpl", ".json", ".hex", ".pal", ".act", ".png"}
    assert all(f.description for f in PALETTE_FORMATS.values())


def test_reading_does_not_import_pillow_for_text_formats():
    import subprocess
    import sys

    code = ("import sys; from palcli import load_palette; load_palette('nes'); "
            "print('PIL' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --- writing ---------------------------------------------------------------------------------

def _palettes():
    rng = np.random.default_rng(5)
    return {
        "one": np.array([[1, 2, 3]], np.uint8),
        "duplicates": np.array([[0, 0, 0], [255, 255, 255], [0, 0, 0], [0, 0, 0]], np.uint8),
        "random-256": rng.integers(0, 256, (256, 3), dtype=np.uint8),
        "random-1000-with-repeats": rng.integers(0, 256, (500, 3), dtype=np.uint8)[rng.integers(0, 500, 1000)],
    }


@pytest.mark.parametrize("suffix", sorted(WRITERS))
@pytest.mark.parametrize("which", sorted(_palettes()))
def test_round_trip_through_every_writer(tmp_path, suffix, which):
    colors = _palettes()[which]
    pal = Palette("round trip", colors)
    path = tmp_path / f"p{suffix}"
    if suffix == ".act" and len(pal) > 256:
        with pytest.raises(PaletteError, match="at most 256 colours; this palette has 1000"):
            write_palette_file(pal, path)
        assert list(tmp_path.iterdir()) == []
        return
    write_palette_file(pal, path)
    name, back, names = read_palette_file(path)
    assert names is None or names == [None] * len(back)  # no names in, none out
    if suffix == ".png" and len(pal) > 256:
        # An RGB swatch keeps first-seen order but cannot hold a repeated colour twice.
        _, first = np.unique(colors, axis=0, return_index=True)
        assert np.array_equal(back, colors[np.sort(first)])
    else:
        assert np.array_equal(back, colors)
    if suffix in (".gpl", ".json"):
        assert name == "round trip"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


@settings(max_examples=40, deadline=None)
@given(colors=arrays(np.uint8, st.tuples(st.integers(1, 300), st.just(3))),
       suffix=st.sampled_from([".gpl", ".json", ".hex", ".pal"]))
def test_text_writers_round_trip_any_palette(tmp_path_factory, colors, suffix):
    path = tmp_path_factory.mktemp("rt") / f"p{suffix}"
    write_palette_file(Palette("any", colors), path)
    assert np.array_equal(read_palette_file(path)[1], colors)


# Palettes shipped by GIMP, Inkscape and Krita, where installed, or unpacked from their Debian
# packages into the directories named by PALCLI_TEST_PALETTE_DIRS (os.pathsep-separated; .ci/run
# unpacks gimp-data there).
REAL_WORLD_DIRS = ["/usr/share/gimp/2.0/palettes", "/usr/share/inkscape/palettes",
                   "/usr/share/krita/palettes"]
REAL_WORLD_DIRS += [d for d in os.environ.get("PALCLI_TEST_PALETTE_DIRS", "").split(os.pathsep) if d]
REAL_WORLD_FILES = sorted(p for d in REAL_WORLD_DIRS for p in Path(d).rglob("*.gpl"))


@pytest.mark.skipif(not REAL_WORLD_FILES, reason="no GIMP, Inkscape or Krita palettes on this machine")
def test_installed_gimp_inkscape_krita_palettes_load():
    for path in REAL_WORLD_FILES:
        assert len(load_palette(path)) >= 1, path


def test_act_writes_count_and_no_transparency(tmp_path):
    write_palette_file(Palette("x", np.array([[1, 2, 3], [4, 5, 6]], np.uint8)), tmp_path / "p.act")
    data = (tmp_path / "p.act").read_bytes()
    assert len(data) == 772 and data[:6] == bytes([1, 2, 3, 4, 5, 6]) and data[768:] == b"\x00\x02\xff\xff"


def test_gpl_writer_output_is_readable_by_strict_gimp_rules(tmp_path):
    write_palette_file(Palette("My palette", np.array([[255, 0, 0]], np.uint8)), tmp_path / "p.gpl")
    assert (tmp_path / "p.gpl").read_text() == "GIMP Palette\nName: My palette\nColumns: 1\n#\n255   0   0\t#ff0000\n"


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "p.hex"
    path.write_text("old\n")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(PaletteError, match="cannot write: No space left on device"):
        write_palette_file(Palette("x", np.array([[1, 2, 3]], np.uint8)), path)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.hex"]


def test_write_into_missing_directory_is_a_palette_error(tmp_path):
    with pytest.raises(PaletteError, match="cannot write"):
        write_palette_file(Palette("x", np.array([[1, 2, 3]], np.uint8)), tmp_path / "no" / "p.gpl")


def test_written_file_has_ordinary_permissions(tmp_path):
    path = tmp_path / "p.gpl"
    write_palette_file(Palette("x", np.array([[1, 2, 3]], np.uint8)), path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_cannot_write_read_only_formats(tmp_path):
    with pytest.raises(PaletteError, match=r"cannot write palette format '\.ase' \(writable: "):
        write_palette_file(Palette("x", np.array([[1, 2, 3]], np.uint8)), tmp_path / "p.ase")
    assert list(tmp_path.iterdir()) == []


# --- colour names ----------------------------------------------------------------------------

NAMED = Palette("Named Ones", np.array([[255, 0, 0], [0, 0, 0], [1, 2, 3]], np.uint8),
                ("Fire Red", None, "two  words\tand tab"))


@pytest.mark.parametrize("suffix", [".gpl", ".json"])
def test_writers_that_hold_names_write_them_back(tmp_path, suffix):
    path = tmp_path / f"p{suffix}"
    write_palette_file(NAMED, path)
    back = load_palette(path)
    assert back.name == "Named Ones"  # Name: keeps its case
    assert back.hex() == ["#ff0000", "#000000", "#010203"]
    # .gpl holds a name on one line: its runs of white space become one space
    third = "two words and tab" if suffix == ".gpl" else "two  words\tand tab"
    assert back.names == ("Fire Red", None, third)


def test_gpl_writes_hex_for_an_unnamed_colour_and_reads_it_back_as_no_name(tmp_path):
    write_palette_file(NAMED, tmp_path / "p.gpl")
    lines = (tmp_path / "p.gpl").read_text().splitlines()
    assert lines[1] == "Name: Named Ones"
    assert lines[4:] == ["255   0   0\tFire Red", "  0   0   0\t#000000", "  1   2   3\ttwo words and tab"]


def test_gpl_label_naming_another_colour_is_a_name(tmp_path):
    path = tmp_path / "p.gpl"
    path.write_text("GIMP Palette\nName: x\n0 0 0 #FFFFFF\n255 255 255 #FFFFFF\n")
    assert load_palette(path).names == ("#FFFFFF", None)


def test_json_writes_names_beside_the_lospec_form_only_when_there_are_names(tmp_path):
    import json

    write_palette_file(NAMED, tmp_path / "named.json")
    doc = json.loads((tmp_path / "named.json").read_text())
    assert doc == {"name": "Named Ones", "colors": ["ff0000", "000000", "010203"],
                   "names": ["Fire Red", None, "two  words\tand tab"]}
    write_palette_file(Palette("plain", NAMED.colors), tmp_path / "plain.json")
    assert "names" not in json.loads((tmp_path / "plain.json").read_text())


@pytest.mark.parametrize("fixture", ["ase-rgb.ase", "paintnet-trailing-comments-6-digit.txt", "gimp-basic.gpl"])
def test_names_from_read_only_formats_survive_a_convert_to_gpl(tmp_path, fixture):
    src = load_palette(DATA / fixture)
    write_palette_file(src, tmp_path / "out.gpl")
    assert load_palette(tmp_path / "out.gpl").names == tuple(NAMES[fixture])


@pytest.mark.parametrize("suffix", [".hex", ".pal", ".act", ".png"])
def test_writers_without_names_still_write_the_colours(tmp_path, suffix):
    path = tmp_path / f"p{suffix}"
    write_palette_file(NAMED, path)
    assert load_palette(path).hex() == NAMED.hex()
