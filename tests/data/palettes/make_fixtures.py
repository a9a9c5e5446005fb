"""Writes the palette fixtures in this directory: one small file per format and per defect.

Run from anywhere: python tests/data/palettes/make_fixtures.py. Imports nothing from palcli,
so a bug in a writer cannot hide in the fixtures its reader is tested on. The quirks of the
text fixtures copy those seen in GIMP, Inkscape and Krita's own palette files (CRLF, no
Columns line, names with spaces and tabs, blank lines and comments between colours,
duplicates, Latin-1 names, more than 256 entries).
"""

import struct
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def text(name: str, body: str, newline: str = "\n", encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(body.replace("\n", newline).encode(encoding))


def gpl_fixtures() -> None:
    text("gimp-basic.gpl", "GIMP Palette\nName: Basic\nColumns: 3\n# three colours\n"
         "255   0   0\tred\n  0 255   0\tgreen\n  0   0 255\tblue\n")
    text("gimp-crlf-line-endings.gpl", "GIMP Palette\nName: CRLF\n#\n"
         " 10  20  30\tone\n 40  50  60\ttwo\n", newline="\r\n")
    text("gimp-no-columns-line.gpl", "GIMP Palette\nName: No columns\n#\n"
         "  8   8   8\tgrey3\n 68  44  44\n 80   8  12\n")
    text("gimp-names-with-spaces-and-tabs.gpl", "GIMP Palette\nName: Names\nColumns: 2\n#\n"
         " 26  26  26  90% Gray\n  0 128 255\tsky\tblue with tab\n"
         "255 255 255    Untitled\n  1   2   3\n")
    text("gimp-comments-and-blank-lines-between-colours.gpl",
         "GIMP Palette\nName: Comments\nColumns: 20\n#\n# by someone\n\n\n"
         "  1   1   1 a\n# a comment between colours\n\n  2   2   2 b\n   # indented comment\n"
         "  3   3   3 c\n\n")
    text("gimp-duplicate-colours.gpl", "GIMP Palette\nName: Dups\n#\n"
         "  0   0   0\n255 255 255\n  0   0   0\n  0   0   0\n")
    rows = "".join(f"{i % 256:3d} {i // 256:3d} {7:3d}\tentry {i}\n" for i in range(300))
    text("gimp-300-entries.gpl", "GIMP Palette\nName: Many\nColumns: 16\n#\n" + rows)
    text("gimp-latin1-name.gpl", "GIMP Palette\nName: Caf\u00e9\n#\n 12  34  56\tcr\u00e8me\n",
         encoding="latin-1")
    text("gimp-utf8-bom.gpl", "\ufeffGIMP Palette\nName: BOM\n#\n  9   8   7\n")
    # Defects.
    text("gimp-missing-component.gpl", "GIMP Palette\nName: Broken\n#\n"
         "255   0   0\tred\n255   0\tmissing blue\n  0   0 255\tblue\n")
    text("gimp-component-over-255.gpl", "GIMP Palette\nName: Over\n#\n256   0   0\n")
    text("gimp-no-header.gpl", "Name: Headless\n255 0 0\n")
    text("gimp-header-only-no-colours.gpl", "GIMP Palette\nName: Empty\nColumns: 16\n#\n")


def json_fixtures() -> None:
    text("json-list-of-hex.json", '["#ff0000", "00ff00", "#00f", "abc"]\n')
    text("json-object-colours.json", '{"name": "British", "colours": ["#102030", "#405060"]}\n')
    text("json-lospec-export.json", '{"name":"Lospec Four","author":"","colors":'
         '["0f380f","306230","8bac0f","9bbc0f"]}')
    text("json-rgb-triples.json", '{"colors": [[1, 2, 3], [255, 254, 253]]}\n')
    text("json-invalid-syntax.json", '{\n  "colors": [\n    "#ff0000",\n  ]\n}\n')
    text("json-bad-hex-entry.json", '["#ff0000", "#gg0000"]\n')
    text("json-empty-list.json", "[]\n")
    text("json-no-colors-key.json", '{"name": "nothing", "swatches": ["#ff0000"]}\n')
    text("json-coolors-objects.json", '[{"name": "Rich Black", "hex": "0b132b", "rgb": [11, 19, 43]},'
         ' {"name": "Maize", "hex": "f4d35e", "rgb": [244, 211, 94]}]\n')
    text("json-names-wrong-length.json", '{"colors": ["#000000", "#ffffff"], "names": ["black"]}\n')


def other_text_fixtures() -> None:
    text("lospec.hex", "0f380f\n306230\n8bac0f\n9bbc0f\n")
    text("hex-crlf-hash-and-short-forms.hex", "#ff8800\n\nf80\n#0A0B0C\n", newline="\r\n")
    text("hex-bad-line.hex", "ff0000\n00ff00\nnot-a-colour\n")
    text("paintnet.txt", ";paint.net Palette File\n;Downloaded from somewhere\n;Colors: 3\n"
         "FFFF0000\nff00ff00\n800000FF\n")
    text("paintnet-trailing-comments-6-digit.txt", "; hand-made\n;\n000000 ; 0 - void\n"
         "9d9d9d ; 1 - grey\n\nFFBE2633;3 - red\n")
    text("paintnet-bad-line.txt", ";paint.net Palette File\nFFFF0000\nFF00FF\nFFZZ0000\n")
    text("jasc.pal", "JASC-PAL\n0100\n3\n255 0 0\n0 255 0\n0 0 255\n", newline="\r\n")
    text("jasc-with-alpha-column.pal", "JASC-PAL\n0100\n2\n1 2 3 255\n4 5 6 0\n")
    text("jasc-count-mismatch.pal", "JASC-PAL\n0100\n4\n255 0 0\n0 255 0\n0 0 255\n")
    text("jasc-bad-header.pal", "JASC-PALETTE\n0100\n1\n255 0 0\n")
    text("jasc-component-over-255.pal", "JASC-PAL\n0100\n2\n255 0 0\n0 300 0\n")


def riff_pal() -> bytes:
    entries = bytes([255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0])
    data = struct.pack("<HH", 0x0300, 3) + entries
    chunk = b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"PAL " + chunk


def act_fixtures() -> None:
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:, 0] = np.arange(256)
    table[:, 2] = 255 - np.arange(256)
    (HERE / "act-768-bytes.act").write_bytes(table.tobytes())
    small = np.zeros((256, 3), dtype=np.uint8)
    small[:3] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    (HERE / "act-772-bytes-with-count.act").write_bytes(small.tobytes() + struct.pack(">HH", 3, 1))
    (HERE / "act-wrong-size.act").write_bytes(small.tobytes()[:700])
    (HERE / "act-count-zero.act").write_bytes(small.tobytes() + struct.pack(">HH", 0, 0xFFFF))
    (HERE / "riff.pal").write_bytes(riff_pal())


def ase_block(kind: int, body: bytes) -> bytes:
    return struct.pack(">HI", kind, len(body)) + body


def ase_name(name: str) -> bytes:
    encoded = (name + "\0").encode("utf-16-be")
    return struct.pack(">H", len(encoded) // 2) + encoded


def ase_color(name: str, model: bytes, values) -> bytes:
    body = ase_name(name) + model + struct.pack(f">{len(values)}f", *values) + struct.pack(">H", 2)
    return ase_block(0x0001, body)


def ase_file(blocks) -> bytes:
    return b"ASEF" + struct.pack(">HHI", 1, 0, len(blocks)) + b"".join(blocks)


def ase_fixtures() -> None:
    rgb = [ase_color("red", b"RGB ", (1.0, 0.0, 0.0)), ase_color("half", b"RGB ", (0.5, 0.25, 1.0))]
    (HERE / "ase-rgb.ase").write_bytes(ase_file(rgb))
    grouped = [ase_color("top", b"RGB ", (0.0, 0.0, 0.0)),
               ase_block(0xC001, ase_name("Accents")),
               ase_color("in group", b"RGB ", (0.0, 1.0, 0.0)),
               ase_color("also in group", b"RGB ", (0.0, 0.0, 1.0)),
               ase_block(0xC002, b""),
               ase_color("after", b"RGB ", (1.0, 1.0, 1.0))]
    (HERE / "ase-rgb-in-groups.ase").write_bytes(ase_file(grouped))
    mixed = [ase_color("grey", b"Gray", (0.5,)),
             ase_color("cmyk red", b"CMYK", (0.0, 1.0, 1.0, 0.0)),
             ase_color("lab white", b"LAB ", (1.0, 0.0, 0.0)),
             ase_color("lab mid grey", b"LAB ", (0.5, 0.0, 0.0))]
    (HERE / "ase-gray-cmyk-lab.ase").write_bytes(ase_file(mixed))
    (HERE / "ase-truncated.ase").write_bytes(ase_file(rgb)[:-7])
    (HERE / "ase-no-signature.ase").write_bytes(b"ASEX" + ase_file(rgb)[4:])


def image_fixtures() -> None:
    # Indexed: the palette order (blue, red, green) differs from the scan order (red first).
    im = Image.frombytes("P", (3, 2), bytes([1, 2, 0, 0, 1, 1]))
    im.putpalette([0, 0, 255, 255, 0, 0, 0, 255, 0])
    im.save(HERE / "image-indexed.png")
    # GIF pads its palette to a power of two: 5 colours become an 8-entry table.
    im = Image.frombytes("P", (5, 1), bytes([0, 1, 2, 3, 4]))
    im.putpalette([10, 0, 0, 20, 0, 0, 30, 0, 0, 40, 0, 0, 50, 0, 0])
    im.save(HERE / "image-indexed-padded.gif")
    # Indexed with a transparent last entry, as palcli's own indexed output has.
    im = Image.frombytes("P", (3, 1), bytes([0, 1, 2]))
    im.putpalette([1, 1, 1, 2, 2, 2, 0, 0, 0])
    im.save(HERE / "image-indexed-transparent-entry.png", transparency=2)
    # RGB: distinct colours in first-seen order, rows top to bottom, each left to right.
    rgb = np.array([[[9, 9, 9], [200, 0, 0], [9, 9, 9]],
                    [[0, 0, 200], [200, 0, 0], [0, 200, 0]]], dtype=np.uint8)
    Image.fromarray(rgb).save(HERE / "image-rgb-first-seen.png")
    Image.fromarray(rgb).save(HERE / "image-rgb.bmp")
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0] = [[5, 5, 5, 0], [6, 6, 6, 255], [7, 7, 7, 128]]
    Image.fromarray(rgba).save(HERE / "image-rgba-transparent-pixel.png")
    text("image-not-an-image.png", "this is not a PNG\n")


if __name__ == "__main__":
    gpl_fixtures()
    json_fixtures()
    other_text_fixtures()
    act_fixtures()
    ase_fixtures()
    image_fixtures()
