"""Palette, load_palette and the built-in palettes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from palcli import builtin
from palcli.errors import PaletteError
from palcli.palette import MAX_COLORS, Palette, load_palette, save_palette

REQUIRED = ["1bit", "gameboy", "cga", "ega", "nes", "pico-8", "c64", "zx-spectrum", "msx", "apple-ii",
            "web-safe", "xterm-256", "grayscale-16", "nord", "gruvbox", "dracula", "solarized",
            "catppuccin-mocha"]


# --- Palette ---------------------------------------------------------------------------------

def test_palette_is_frozen_and_read_only():
    source = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)
    pal = Palette("p", source)
    source[0, 0] = 99  # the palette holds its own copy
    assert pal.colors[0, 0] == 1
    with pytest.raises(ValueError):
        pal.colors[0, 0] = 7
    with pytest.raises(AttributeError):
        pal.name = "other"
    assert len(pal) == 2 and pal.hex() == ["#010203", "#040506"]


def test_digest_depends_on_colours_in_order_only():
    a = Palette("a", np.array([[1, 2, 3], [4, 5, 6]], np.uint8))
    b = Palette("b", np.array([[1, 2, 3], [4, 5, 6]], np.uint8))
    c = Palette("c", np.array([[4, 5, 6], [1, 2, 3]], np.uint8))
    assert a.digest == b.digest != c.digest
    assert re.fullmatch(r"[0-9a-f]{64}", a.digest)


@pytest.mark.parametrize("shape", [(0, 3), (3,), (2, 4)])
def test_palette_rejects_bad_shapes(shape):
    with pytest.raises(PaletteError):
        Palette("bad", np.zeros(shape, np.uint8))


def test_names_default_to_none_per_colour_and_are_checked():
    colors = np.array([[1, 2, 3], [4, 5, 6]], np.uint8)
    assert Palette("p", colors).names == (None, None) and not Palette("p", colors).has_names
    named = Palette("p", colors, ["one", ""])
    assert named.names == ("one", None) and named.has_names  # an empty name is no name
    assert named.digest == Palette("q", colors).digest  # names never change the cube
    with pytest.raises(PaletteError, match="3 colour names for 2 colours"):
        Palette("p", colors, ("a", "b", "c"))
    with pytest.raises(TypeError, match="colour names must be str or None, not int"):
        Palette("p", colors, ("a", 7))


def test_palette_with_names_pickles():
    import pickle

    pal = pickle.loads(pickle.dumps(Palette("p", np.array([[1, 2, 3]], np.uint8), ("x",))))
    assert pal.names == ("x",) and pal.hex() == ["#010203"]


def test_builtin_colour_names_are_loaded():
    assert load_palette("pico-8").names[:2] == ("black", "dark blue")


def test_palette_size_limits():
    assert len(Palette("max", np.zeros((MAX_COLORS, 3), np.uint8))) == 65536
    with pytest.raises(PaletteError, match="65537 colours; at most 65536"):
        Palette("over", np.zeros((MAX_COLORS + 1, 3), np.uint8))


# --- load_palette ----------------------------------------------------------------------------

def test_load_inline_forms():
    assert load_palette("#ff0000,#00ff00").hex() == ["#ff0000", "#00ff00"]
    assert load_palette("ff0000 00ff00").hex() == ["#ff0000", "#00ff00"]
    assert load_palette("#f80").hex() == ["#ff8800"]
    assert load_palette("#000, #fff;#abc").hex() == ["#000000", "#ffffff", "#aabbcc"]


def test_load_array_and_palette_pass_through():
    pal = load_palette(np.array([[0, 0, 0], [0, 0, 0]], np.uint8))
    assert pal.hex() == ["#000000", "#000000"]  # duplicates kept
    assert load_palette(pal) is pal
    assert load_palette([[1, 2, 3]]).hex() == ["#010203"]
    with pytest.raises(TypeError, match=r"shape \(K, 3\)"):
        load_palette(np.zeros((2, 2), np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        load_palette(np.array([[0, 0, 256]]))
    with pytest.raises(PaletteError, match="no colours found"):
        load_palette(np.zeros((0, 3), np.int64))
    with pytest.raises(TypeError, match="got float"):
        load_palette(1.5)


def test_load_file_by_str_and_path(tmp_path):
    path = tmp_path / "two.hex"
    path.write_text("ff0000\n0000ff\n")
    assert load_palette(path).name == "two"
    assert load_palette(str(path)).hex() == ["#ff0000", "#0000ff"]


def test_unknown_name_is_a_palette_error_naming_it():
    with pytest.raises(PaletteError) as info:
        load_palette("no-such-palette")
    assert str(info.value) == ("no-such-palette: no such palette file or built-in palette "
                               "(see 'palcli palette list')")
    with pytest.raises(ValueError, match="missing.gpl: no such file"):
        load_palette("sub/missing.gpl")


def test_save_palette_round_trip(tmp_path):
    save_palette("pico-8", tmp_path / "p.json")
    assert np.array_equal(load_palette(tmp_path / "p.json").colors, load_palette("pico-8").colors)


# --- built-ins -------------------------------------------------------------------------------

def test_every_required_builtin_is_listed():
    assert set(REQUIRED) <= set(builtin.names())


@pytest.mark.parametrize("name", REQUIRED)
def test_builtin_loads_by_bare_name_and_names_its_source(name):
    pal = load_palette(name)
    assert pal.name == name and 2 <= len(pal) <= 256
    text = builtin.path(name).read_text()
    assert re.search(r"^# Source: \S", text, re.M), f"{name}.gpl does not name the source of its colours"


def test_builtin_names_are_case_insensitive():
    assert load_palette("NES").digest == load_palette("nes").digest


# Independent facts about a few built-ins: their published values or their construction.
def test_builtin_spot_checks():
    assert load_palette("1bit").hex() == ["#000000", "#ffffff"]
    assert load_palette("gameboy").hex() == ["#0f380f", "#306230", "#8bac0f", "#9bbc0f"]
    pico = load_palette("pico-8").hex()
    assert len(pico) == 16 and pico[0] == "#000000" and pico[8] == "#ff004d" and pico[15] == "#ffccaa"
    assert load_palette("c64").hex()[2] == "#68372b"
    assert load_palette("cga").hex()[6] == "#aa5500"  # brown, not dark yellow
    assert len(load_palette("nes")) == 55 and load_palette("nes").hex()[0] == "#7c7c7c"
    assert load_palette("solarized").hex()[0] == "#002b36"
    assert load_palette("nord").hex()[0] == "#2e3440"
    assert load_palette("dracula").hex()[0] == "#282a36"
    assert load_palette("catppuccin-mocha").hex()[-1] == "#11111b"


def test_builtin_constructed_palettes():
    levels = [0x00, 0x33, 0x66, 0x99, 0xCC, 0xFF]
    web = load_palette("web-safe").colors
    assert web.tolist() == [[r, g, b] for r in levels for g in levels for b in levels]
    gray = load_palette("grayscale-16").colors
    assert gray.tolist() == [[17 * i] * 3 for i in range(16)]
    xterm = load_palette("xterm-256").colors
    cube = [0, 95, 135, 175, 215, 255]
    assert len(xterm) == 256
    assert xterm[16 + 36 * 5 + 6 * 2 + 1].tolist() == [255, 135, 95]
    assert xterm[232:].tolist() == [[8 + 10 * i] * 3 for i in range(24)]
    assert set(xterm[16:232, 0].tolist()) == set(cube)
    ega = load_palette("ega").colors
    assert len(ega) == 64 and len(np.unique(ega, axis=0)) == 64
    assert set(np.unique(ega).tolist()) == {0, 0x55, 0xAA, 0xFF}


def test_builtin_source_tree_fallback(monkeypatch):
    import importlib.resources

    def missing(_name):
        raise ModuleNotFoundError("palcli.palettes")

    monkeypatch.setattr(importlib.resources, "files", missing)
    # As if palcli were imported from this checkout (the tests may run on an installed wheel).
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.setattr(builtin, "__file__", str(repo / "palcli" / "builtin.py"))
    d = builtin.directory()
    assert d == repo / "palettes"
    assert set(REQUIRED) <= set(builtin.names())


def test_long_inline_palette_is_not_taken_for_a_file_name():
    # 256 colours inline are longer than a file name may be (ENAMETOOLONG on stat()).
    colors = [f"#{i:02x}{255 - i:02x}{i // 2:02x}" for i in range(256)]
    pal = load_palette(",".join(colors))
    assert len(pal) == 256
    assert pal.hex() == colors


def test_long_unknown_name_is_a_palette_error():
    with pytest.raises(PaletteError, match="no such palette"):
        load_palette("x" * 5000)
