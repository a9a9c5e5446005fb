"""palcli convert against what users run instead, all measured in this one run (2 cores).

    pip install scikit-image        # benchmarks/photos.py takes its real photographs from it
    python benchmarks/bench_convert.py [--images 50] [--magick-images 10]

Batch: a directory of JPEGs of 1 MP made from real photos, mapped to the PICO-8 palette without
dithering, whole processes timed from start to exit:
  palcli -j 2, palcli -j 1,
  (a) a multiprocessing Pillow script (decode, quantize(palette=...), save: what a user writes),
  (b) ImageMagick `convert IN +dither -remap palette.png OUT`, two at a time (on a subset: its
      per-image throughput is the same and it is slow).
Single: one 1 MP JPEG, whole process, warm cube cache: palcli against ImageMagick.
Prints each time, images per second, output bytes and the ratios the targets are stated in.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import jpeg_batch  # noqa: E402

PALETTE = "pico-8"

PILLOW_SCRIPT = """
import os, sys
from multiprocessing import Pool
from PIL import Image

src, dst, pal_png = sys.argv[1:4]
palette = Image.new("P", (1, 1))  # the palette as an image, as quantize() wants it
palette.putpalette(Image.open(pal_png).convert("RGB").tobytes())

def one(name):
    im = Image.open(os.path.join(src, name)).convert("RGB")
    im.quantize(palette=palette, dither=Image.Dither.NONE).save(
        os.path.join(dst, os.path.splitext(name)[0] + ".png"))

if __name__ == "__main__":
    with Pool(2) as pool:
        for _ in pool.imap_unordered(one, sorted(os.listdir(src))):
            pass
"""


# The floor: one process of N, no pool, looping over its share of the photos with palcli's own
# read, map and write functions, writing real files as convert does (temp file, rename), after
# the set-up a worker does once (prepare).
# Prints the seconds spent in the map step and the pixels it mapped, after its first image (whose
# map step pays numba's one-off start, told apart below), and that first image's map seconds.
FLOOR_SCRIPT = """
import os, sys, time
from palcli import engine
from palcli.batch import make_settings
from palcli.atomic import write_atomic
from palcli.cube import resolve, worker_ref
from palcli.dither import DitherParams
from palcli.images import open_frames, open_input, write_image
from palcli.mapping import map_indices
from palcli.palette import load_palette
from palcli.worker import prepare
from dataclasses import replace

palette, out, share = sys.argv[1], sys.argv[2], sys.argv[3:]
pal = load_palette(palette)
settings = make_settings(pal, "rgb", DitherParams())
with worker_ref(settings.cube, share=False) as ref:
    prepare(replace(settings, cube=ref))  # what a worker does once: the cube, memory reuse
    cube = resolve(ref)
mapping = pixels = first = 0
for n, src in enumerate(share):
    engine.expect_tasks(len(share) - n - 1)  # as palcli's executors tell their workers
    with open_input(src) as f, open_frames(f, name=src) as (info, frames):
        mapped = []
        for frame in frames:
            t = time.perf_counter()
            idx = map_indices(frame.pixels, cube, pal, settings.dither)
            if n:
                mapping += time.perf_counter() - t
                pixels += idx.size
            else:
                first += time.perf_counter() - t
            mapped.append((idx, None))
    name = os.path.splitext(os.path.basename(src))[0] + ".png"
    write_atomic(os.path.join(out, name),
                 lambda fp: write_image(fp, mapped, pal.colors, "png", stamp=settings.stamp("png")))
print(mapping, pixels, first)
"""

ENV = dict(os.environ)


def wall(cmd, **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV, **kw)
    return time.perf_counter() - t


def du(d: Path) -> int:
    return sum(p.stat().st_size for p in d.iterdir())


def palcli_cmd(*args) -> list[str]:
    # The entry point installed beside this Python, as a venv has it; a version manager's shim
    # on PATH (pyenv's is a shell script) would add its own start-up to every palcli run.
    exe = Path(sys.executable).parent / "palcli"
    if not exe.exists():
        exe = shutil.which("palcli")
    return [str(exe), *args] if exe else [sys.executable, "-m", "palcli.cli", *args]


def floor_run(src: Path, out: Path, processes: int) -> tuple[float, float, int, float]:
    """The floor on `processes` processes started together: (wall seconds, map seconds and
    pixels mapped after each process's first image, the first images' map seconds)."""
    files = sorted(str(p) for p in src.iterdir())
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", FLOOR_SCRIPT, PALETTE, str(out),
                               *files[i::processes]], stdout=subprocess.PIPE, text=True, env=ENV)
             for i in range(processes)]
    outs = [proc.communicate()[0].split() for proc in procs]
    wall_s = time.perf_counter() - t
    assert all(proc.returncode == 0 for proc in procs)
    return (wall_s, sum(float(o[0]) for o in outs), sum(int(o[1]) for o in outs),
            sum(float(o[2]) for o in outs))


def steady_state(work: Path, images: int, repeat: int) -> None:
    """-j 1 and -j 2 against the floor on 1 and 2 processes, on the same photos."""
    src = work / "steady"
    jpeg_batch(src, images)
    wall(palcli_cmd("convert", str(src / "photo000.jpg"), str(work / "w.png"), "-p", PALETTE))
    runs = {
        "floor, 2 processes": lambda out: floor_run(src, out, 2),
        "floor, 1 process": lambda out: floor_run(src, out, 1),
        "palcli -j 2": lambda out: (wall(palcli_cmd("convert", str(src), str(out), "-p", PALETTE,
                                                    "-j", "2", "-q")), 0.0, 0, 0.0),
        "palcli -j 1": lambda out: (wall(palcli_cmd("convert", str(src), str(out), "-p", PALETTE,
                                                    "-j", "1", "-q")), 0.0, 0, 0.0),
    }
    best = {name: (float("inf"), 0.0, 0, 0.0) for name in runs}
    for r in range(repeat):  # interleaved: a busy moment hurts every one alike
        for i, (name, run) in enumerate(runs.items()):
            out = work / f"steady-{i}-{r}"
            out.mkdir()
            result = run(out)
            if result[0] < best[name][0]:
                best[name] = result
            shutil.rmtree(out)
    print(f"\nsteady state: {images} JPEGs of 1 MP, palette {PALETTE}, no dither, best of "
          f"{repeat}; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, (secs, *_) in best.items():
        print(f"  {name:22s} {secs:7.3f} s  {images / secs:6.1f} img/s")
    rate = {name: images / secs for name, (secs, *_) in best.items()}
    _, map_s, map_px, first_s = best["floor, 1 process"]
    print(f"  map step inside the pipeline: {map_s / (map_px / 1e6) * 1e3:.2f} ms per MP "
          f"(target <= 2); the first image's, with numba's one-off start: {first_s:.3f} s")
    print(f"  palcli -j 2 / floor on 2 processes  {rate['palcli -j 2'] / rate['floor, 2 processes']:6.2f}x"
          f"  (target >= 0.85)")
    print(f"  palcli -j 2 / -j 1                  {rate['palcli -j 2'] / rate['palcli -j 1']:6.2f}x"
          f"  (target >= 1.8)")
    print(f"  floor: 2 processes / 1              {rate['floor, 2 processes'] / rate['floor, 1 process']:6.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--magick-images", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5, help="best of N for each batch")
    ap.add_argument("--steady-images", type=int, default=240,
                    help="photos for the steady-state rows against the floor (0: skip them)")
    ap.add_argument("--only-steady", action="store_true", help="skip the peers' comparison")
    args = ap.parse_args()
    if shutil.which("convert") is None:
        raise SystemExit("ImageMagick's convert is needed for the comparison")

    from palcli import load_palette

    work = Path(tempfile.mkdtemp(prefix="bench-convert-"))
    # Python processes start as an installed program's do: with compiled bytecode (kept in
    # the temp dir), even where PYTHONDONTWRITEBYTECODE is set for development.
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    ENV["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    if args.only_steady:
        try:
            steady_state(work, args.steady_images, args.repeat)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    try:
        src = work / "photos"
        jpeg_batch(src, args.images)
        pal_png = work / "palette.png"
        Image.fromarray(load_palette(PALETTE).colors[None]).save(pal_png)
        magick_src = work / "magick-src"
        magick_src.mkdir()
        for p in sorted(src.iterdir())[: args.magick_images]:
            shutil.copy(p, magick_src / p.name)
        one = src / "photo000.jpg"
        mp = sum(Image.open(p).size[0] * Image.open(p).size[1] for p in src.iterdir()) / 1e6
        for _ in range(2):  # the cube into the cache, bytecode into pycache: the runs are warm
            wall(palcli_cmd("convert", str(one), str(work / "warm.png"), "-p", PALETTE))

        script = work / "pillow_pool.py"
        script.write_text(PILLOW_SCRIPT)
        commands = {
            "palcli -j 2": ("palcli2", lambda out: palcli_cmd(
                "convert", str(src), str(out), "-p", PALETTE, "-j", "2", "-q")),
            "palcli -j 1": ("palcli1", lambda out: palcli_cmd(
                "convert", str(src), str(out), "-p", PALETTE, "-j", "1", "-q")),
            "Pillow pool script": ("pillow", lambda out: [sys.executable, str(script), str(src),
                                                          str(out), str(pal_png)]),
        }
        best = {name: float("inf") for name in commands}
        for r in range(args.repeat):  # interleaved, so a busy moment hurts every one alike
            for name, (tag, cmd_for) in commands.items():
                out = work / f"{tag}-{r}"
                out.mkdir()
                best[name] = min(best[name], wall(cmd_for(out)))
        results = {name: (best[name], du(work / f"{tag}-0"))
                   for name, (tag, _) in commands.items()}

        magick_out = work / "magick"
        magick_out.mkdir()
        names = sorted(p.name for p in magick_src.iterdir())
        t = time.perf_counter()
        with ThreadPoolExecutor(2) as ex:
            list(ex.map(lambda n: subprocess.run(
                ["convert", str(magick_src / n), "+dither", "-remap", str(pal_png),
                 str(magick_out / (n[:-4] + ".png"))], check=True), names))
        magick_t = time.perf_counter() - t
        magick_rate = len(names) / magick_t

        print(f"batch: {args.images} JPEGs, {mp:.1f} MP, palette {PALETTE}, no dither, "
              f"{os.cpu_count()} cores, best of {args.repeat}")
        rates = {}
        for name, (secs, size) in results.items():
            rates[name] = args.images / secs
            print(f"  {name:22s} {secs:7.3f} s  {rates[name]:6.1f} img/s  "
                  f"{size / args.images / 1024:6.1f} KiB/img")
        print(f"  {'ImageMagick x2':22s} {magick_t:7.3f} s  {magick_rate:6.1f} img/s  "
              f"{du(magick_out) / len(names) / 1024:6.1f} KiB/img  ({len(names)} images)")

        # Exactness, for the record: how many pixels Pillow's palette mapping gets wrong.
        exact = np.asarray(Image.open(work / "palcli2-0" / "photo000.png").convert("RGB"))
        pillow = np.asarray(Image.open(work / "pillow-0" / "photo000.png").convert("RGB"))
        print(f"  pixels of photo000 Pillow maps to another colour than the exact nearest: "
              f"{(exact != pillow).any(-1).mean():.2%}")

        tiny = work / "tiny.png"
        Image.new("RGB", (8, 8)).save(tiny)
        singles = {"palcli": [], "ImageMagick": [], "start-up": []}
        for r in range(5):  # interleaved again; best of 5 like the batches
            singles["palcli"].append(wall(palcli_cmd("convert", str(one), str(work / "s.png"),
                                                     "-p", PALETTE)))
            singles["ImageMagick"].append(wall(["convert", str(one), "+dither", "-remap",
                                                str(pal_png), str(work / "m.png")]))
            singles["start-up"].append(wall(palcli_cmd("convert", str(tiny),
                                                       str(work / "t.png"), "-p", PALETTE)))
        s_pal, s_im, startup = (min(singles[k]) for k in ("palcli", "ImageMagick", "start-up"))
        print(f"single 1 MP JPEG, whole process, warm cache (best of 5): palcli {s_pal:.3f} s, "
              f"ImageMagick {s_im:.3f} s")

        j2, j1 = rates["palcli -j 2"], rates["palcli -j 1"]
        print("targets:")
        print(f"  palcli -j 2 / Pillow pool script  {j2 / rates['Pillow pool script']:6.2f}x  "
              f"(target >= 1)")
        print(f"  palcli -j 2 / ImageMagick x2      {j2 / magick_rate:6.2f}x  (target >= 12)")
        print(f"  single image: palcli / ImageMagick time {s_pal / s_im:6.2f}  (target <= 0.6)")
        print(f"  palcli -j 2 / -j 1                {j2 / j1:6.2f}x  (target >= 1.8)")
        t2, t1 = results["palcli -j 2"][0], results["palcli -j 1"][0]
        print(f"    for the record: palcli start-up (an 8x8 image, whole process) {startup:.3f} s;"
              f" -j 2 / -j 1 past it {(t1 - startup) / (t2 - startup):.2f}x")
        if args.steady_images:
            steady_state(work, args.steady_images, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
