"""palcli palette list / show / convert: output, exit codes, nothing written on error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import palcli.cli.palette as cli_palette
from palcli import builtin, load_palette
from palcli.cli import cli

DATA = Path(__file__).parent / "data" / "palettes"


def run(*args):
    return CliRunner().invoke(cli, ["palette", *map(str, args)])


def test_list_shows_every_builtin_with_its_size():
    result = run("list")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [r[0] for r in rows] == builtin.names()
    assert ["nes", "55", "colours"] in rows and ["xterm-256", "256", "colours"] in rows


def test_show_prints_name_count_hex_and_colour_names_without_escapes_when_piped():
    result = run("show", "gameboy")
    assert result.exit_code == 0
    assert result.stdout == ("name: gameboy\ncolours: 4\n"
                             "0 #0f380f  darkest\n1 #306230  dark\n2 #8bac0f  light\n3 #9bbc0f  lightest\n")
    assert result.stderr == ""


def test_show_draws_truecolor_swatches_on_a_terminal(monkeypatch):
    monkeypatch.setattr(cli_palette, "_use_swatches", lambda: True)
    result = run("show", "#ff8000")
    assert result.exit_code == 0
    assert "0 \x1b[48;2;255;128;0m    \x1b[0m #ff8000\n" in result.stdout


def test_swatches_respect_no_color(monkeypatch):
    monkeypatch.setattr(cli_palette.sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli_palette._use_swatches() is False
    monkeypatch.delenv("NO_COLOR")
    assert cli_palette._use_swatches() is True


def test_show_index_column_is_aligned():
    lines = run("show", "xterm-256").stdout.splitlines()
    assert lines[2] == "  0 #000000  0" and lines[-1] == "255 #eeeeee  255"


def test_show_prints_no_name_column_for_unnamed_colours():
    assert run("show", "#ff8000,#000").stdout.splitlines()[2:] == ["0 #ff8000", "1 #000000"]


def test_convert_keeps_colour_names_and_the_palette_name(tmp_path):
    assert run("convert", DATA / "ase-rgb.ase", tmp_path / "out.gpl").exit_code == 0
    assert run("convert", "nes", tmp_path / "nes.gpl").exit_code == 0
    assert run("convert", DATA / "gimp-names-with-spaces-and-tabs.gpl", tmp_path / "n.json").exit_code == 0
    assert (tmp_path / "out.gpl").read_text().splitlines()[4:] == ["255   0   0\tred", "128  64 255\thalf"]
    assert (tmp_path / "nes.gpl").read_text().splitlines()[4] == "124 124 124\t$00"
    assert '"name": "Names"' in (tmp_path / "n.json").read_text()  # Name: as written, case kept


@pytest.mark.parametrize("suffix", [".gpl", ".json", ".hex", ".pal", ".act", ".png"])
def test_convert_builtin_to_each_writable_format(tmp_path, suffix):
    out = tmp_path / f"nes{suffix}"
    result = run("convert", "nes", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert np.array_equal(load_palette(out).colors, load_palette("nes").colors)


def test_convert_between_files(tmp_path):
    out = tmp_path / "out.gpl"
    assert run("convert", DATA / "jasc.pal", out).exit_code == 0
    assert load_palette(out).hex() == ["#ff0000", "#00ff00", "#0000ff"]


def test_convert_malformed_input_exits_2_names_file_and_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out.gpl"
    src = DATA / "gimp-missing-component.gpl"
    result = run("convert", src, out)
    assert result.exit_code == 2
    assert result.stderr == (f"palcli: error: {src}:5: expected 'R G B [name]' with R, G, B integers "
                             f"0..255, got '255   0\\tmissing blue'\n")
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_convert_keeps_an_existing_output_when_input_is_bad(tmp_path):
    out = tmp_path / "out.hex"
    out.write_text("ffffff\n")
    assert run("convert", DATA / "hex-bad-line.hex", out).exit_code == 2
    assert out.read_text() == "ffffff\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.hex"]


def test_convert_too_many_colours_for_act_exits_2(tmp_path):
    src = tmp_path / "big.hex"
    src.write_text("".join(f"{i:06x}\n" for i in range(300)))
    result = run("convert", src, tmp_path / "big.act")
    assert result.exit_code == 2
    assert "an .act file holds at most 256 colours; this palette has 300" in result.stderr
    assert not (tmp_path / "big.act").exists()


def test_convert_to_unknown_format_exits_2(tmp_path):
    result = run("convert", "nes", tmp_path / "nes.xyz")
    assert result.exit_code == 2
    assert "cannot write palette format '.xyz' (writable: .gpl, .json, .hex, .pal, .act, .png)" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cmyk_ase_warns_once_on_stderr(tmp_path):
    result = run("convert", DATA / "ase-gray-cmyk-lab.ase", tmp_path / "out.hex")
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("palcli: warning: ")]
    assert len(warnings) == 1 and "CMYK" in warnings[0]
