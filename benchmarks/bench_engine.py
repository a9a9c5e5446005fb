"""The engine against its peers, measured in the same run on real photographs.

    python benchmarks/bench_engine.py [--quick]

1. cube build seconds per palette and metric (palcli.cube.build_cube, compile excluded);
2. opening a cached cube (header, size, checksum, mmap), in this process and in a fresh one;
3. quantize throughput with a cached cube beside Pillow's Image.quantize(palette=...,
   dither=NONE) and numpy's cube[r, g, b], as ratios, with Pillow's agreement with the exact
   nearest colour (same colour, so duplicate palette entries do not count against it);
4. a pipeline, decode -> map -> encode per image over a batch of 1 MP photos, where the cube is
   no longer in the CPU cache when each image is mapped.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from photos import photo_at, photos  # noqa: E402
from timing import best_of  # noqa: E402

os.environ.setdefault("PALCLI_CACHE_DIR", tempfile.mkdtemp(prefix="palcli-bench-"))

from palcli import Palette, load_palette, quantize  # noqa: E402
from palcli import cache  # noqa: E402
from palcli import cube as cubes  # noqa: E402
from palcli.metrics import METRICS  # noqa: E402

from palcli import mapping as QUANTIZE  # noqa: E402



def palettes(images):
    pixels = np.concatenate([a.reshape(-1, 3) for _, a in images])
    rng = np.random.default_rng(12345)
    sampled = np.unique(pixels[rng.choice(len(pixels), 20000, replace=False)], axis=0)
    sampled = sampled[rng.permutation(len(sampled))[:4096]]
    return [load_palette("pico-8"), load_palette("nes"), load_palette("xterm-256"),
            Palette("photo-4096", sampled)]


def pillow_palette(pal: Palette) -> Image.Image:
    img = Image.new("P", (1, 1))
    img.putpalette(pal.colors.reshape(-1).tolist())
    return img


def _measured(pal, metric, quick, all_ciede):
    if metric == "ciede2000":  # tens of seconds per cube on this machine: one palette by default
        return all_ciede or pal.name == "pico-8"
    return not (quick and len(pal) > 256 and metric != "rgb")


def bench_build(pals, quick, all_ciede):
    from palcli.cube import build_cube

    print("\n## cube build, seconds (compile excluded)")
    print(f"{'palette':>12} {'K':>5} " + " ".join(f"{m:>10}" for m in METRICS))
    tiny = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0]], np.uint8)
    ok = {}
    for m in METRICS:
        try:
            build_cube(tiny, m)
            ok[m] = True
        except NotImplementedError:
            ok[m] = False
    for pal in pals:
        cells = []
        for m in METRICS:
            if not ok[m] or not _measured(pal, m, quick, all_ciede):
                cells.append(f"{'-':>10}")
                continue
            t0 = time.perf_counter()
            build_cube(pal.colors, m)
            cells.append(f"{time.perf_counter() - t0:10.3f}")
        print(f"{pal.name:>12} {len(pal):5d} " + " ".join(cells))


OPEN_FRESH = """
import sys, time
import numpy as np
from palcli import Palette, cube
pal = Palette(sys.argv[1], np.load(sys.argv[2]))
t0 = time.perf_counter(); cube.get_cube(pal, "rgb"); t1 = time.perf_counter()
print((t1 - t0) * 1e3)
"""


def bench_open(pals):
    print("\n## opening a cached cube (verify header, size, checksum; mmap), ms")
    for pal in pals:
        cubes.get_cube(pal, "rgb")  # built and written
        times = []
        for _ in range(10):
            cubes.forget()
            t0 = time.perf_counter()
            cubes.get_cube(pal, "rgb")
            times.append((time.perf_counter() - t0) * 1e3)
        npy = os.path.join(cache.cache_dir(), "bench-palette.npy")
        np.save(npy, pal.colors)
        fresh = [float(subprocess.run([sys.executable, "-c", OPEN_FRESH, pal.name, npy],
                                      check=True, capture_output=True, text=True).stdout)
                 for _ in range(3)]
        print(f"{pal.name:>12} {len(pal):5d}  in-process median {statistics.median(times):5.2f} "
              f"(best {min(times):5.2f})   fresh process median {statistics.median(fresh):5.2f}")


def bench_quantize(pals, images, repeat):
    import numba

    threads = numba.get_num_threads()
    print("\n## quantize with a cached cube (hot), Mpx/s over the photos; ratios to Pillow")
    print(f"{'palette':>12} {'K':>5} {'quantize':>9} {'1 thread':>9} {'lookup-np':>9} "
          f"{'cube[r,g,b]':>11} {'Pillow':>7} {'q/Pillow':>9} {'1t/Pillow':>9} {'np/Pillow':>9} "
          f"{'Pillow agrees':>13}")
    total = sum(a.shape[0] * a.shape[1] for _, a in images) / 1e6
    for pal in pals:
        cube = cubes.get_cube(pal, "rgb").array
        quantize(images[0][1], pal)  # kernel loaded
        t_q = sum(best_of(lambda: quantize(a, pal), repeat) for _, a in images)
        numba.set_num_threads(1)
        t_1 = sum(best_of(lambda: quantize(a, pal), repeat) for _, a in images)
        numba.set_num_threads(threads)
        t_np = sum(best_of(lambda: QUANTIZE.lookup(cube, a, engine="numpy"), repeat)
                   for _, a in images)
        t_fancy = sum(best_of(lambda: cube[a[..., 0], a[..., 1], a[..., 2]], max(1, repeat // 2))
                      for _, a in images)
        row = (f"{pal.name:>12} {len(pal):5d} {total / t_q:9.0f} {total / t_1:9.0f} "
               f"{total / t_np:9.0f} {total / t_fancy:11.0f}")
        if len(pal) <= 256:
            ppal = pillow_palette(pal)
            pims = [Image.fromarray(a) for _, a in images]
            t_pil = sum(best_of(lambda: im.quantize(palette=ppal, dither=Image.Dither.NONE),
                                repeat) for im in pims)
            colours = np.array(ppal.getpalette()).reshape(-1, 3)
            same = 0
            for im, (_, a) in zip(pims, images):
                pil_idx = np.asarray(im.quantize(palette=ppal, dither=Image.Dither.NONE))
                same += np.all(colours[pil_idx] == pal.colors[quantize(a, pal)], axis=-1).sum()
            row += (f" {total / t_pil:7.0f} {t_pil / t_q:8.2f}x {t_pil / t_1:8.2f}x "
                    f"{t_pil / t_np:8.2f}x "
                    f"{100 * same / (total * 1e6):12.2f}%")
        else:
            row += f" {'-':>7} {'-':>9} {'-':>9} {'-':>9} {'-':>13}"
        print(row)


def bench_pipeline(pals, n_images, rounds):
    print(f"\n## pipeline: decode PNG -> map -> encode PNG, {n_images} photos of 1 MP; the map "
          f"step in ms per Mpx with the cube cold (in the pipeline) and hot (repeated alone)")
    print("   palcli's decode includes np.asarray(image), which Pillow's own quantize skips")
    pngs = []
    for i in range(n_images):
        buf = io.BytesIO()
        Image.fromarray(photo_at(1.0, i)[1]).save(buf, "PNG", compress_level=1)
        pngs.append(buf.getvalue())
    print(f"{'palette':>12} {'K':>5} {'q cold':>7} {'q hot':>6} {'np cold':>8} "
          f"{'Pillow cold':>11} {'hot':>6} {'Pillow/q cold':>13} {'np.asarray':>10} "
          f"{'per image: palcli vs Pillow':>28}")
    for pal in pals:
        if len(pal) > 256:
            continue
        ppal = pillow_palette(pal)
        flat = pal.colors.reshape(-1).tolist()
        cube = cubes.get_cube(pal).array
        maps = {
            "q": lambda arr: quantize(arr, pal),
            "np": lambda arr: QUANTIZE.lookup(cube, arr, engine="numpy"),
            "pil": lambda im: im.quantize(palette=ppal, dither=Image.Dither.NONE),
        }
        mapped = {k: 0.0 for k in maps}
        whole = {k: 0.0 for k in maps}
        to_array = 0.0
        mpx = 0.0
        for _ in range(rounds):
            for png in pngs:
                for k, fn in maps.items():
                    t0 = time.perf_counter()
                    im = Image.open(io.BytesIO(png))
                    im.load()
                    ta = time.perf_counter()
                    src = im if k == "pil" else np.asarray(im)
                    t1 = time.perf_counter()
                    res = fn(src)
                    t2 = time.perf_counter()
                    if not isinstance(res, Image.Image):
                        res = Image.fromarray(res, "P")
                        res.putpalette(flat)
                    res.save(io.BytesIO(), "PNG", compress_level=1)
                    mapped[k] += t2 - t1
                    whole[k] += time.perf_counter() - t0
                    if k == "q":
                        to_array += t1 - ta
                mpx += im.width * im.height / 1e6
        ims = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
        arrs = [np.asarray(im) for im in ims]
        hot_q = sum(best_of(lambda: maps["q"](a), 5) for a in arrs)
        hot_pil = sum(best_of(lambda: maps["pil"](im), 5) for im in ims)
        mp1 = mpx / rounds
        n_runs = rounds * len(pngs)
        print(f"{pal.name:>12} {len(pal):5d} {mapped['q'] / mpx * 1e3:7.2f} "
              f"{hot_q / mp1 * 1e3:6.2f} {mapped['np'] / mpx * 1e3:8.2f} "
              f"{mapped['pil'] / mpx * 1e3:11.2f} {hot_pil / mp1 * 1e3:6.2f} "
              f"{mapped['pil'] / mapped['q']:12.2f}x {to_array / mpx * 1e3:10.2f} "
              f"{whole['q'] / n_runs * 1e3:14.1f} vs {whole['pil'] / n_runs * 1e3:5.1f} ms")


def bench_small_job(pal):
    print("\n## a small job in a fresh process: import palcli, quantize one 1 MP photo "
          "(cube cached)")
    script = f"""
import sys, time
sys.path.insert(0, {os.path.dirname(__file__)!r})
from photos import photo_at
img = photo_at(1.0, 0)[1]
t0 = time.perf_counter()
import palcli
from palcli.cube import get_cube
from palcli.mapping import lookup
pal = palcli.load_palette({pal.name!r})
t1 = time.perf_counter()
lookup(get_cube(pal).array, img, engine=sys.argv[1])
t2 = time.perf_counter()
print(f"{{(t1 - t0) * 1e3:.0f}} {{(t2 - t1) * 1e3:.0f}} {{'numba' in sys.modules}}")
"""
    for engine in ("numpy", "numba"):
        out = [subprocess.run([sys.executable, "-c", script, engine], check=True,
                              capture_output=True, text=True).stdout.split() for _ in range(3)]
        imp = statistics.median(float(o[0]) for o in out)
        job = statistics.median(float(o[1]) for o in out)
        print(f"  engine={engine:6s} import palcli {imp:5.0f} ms, open cube + map {job:6.0f} ms "
              f"(numba imported: {out[0][2]})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, rgb only at 4096")
    ap.add_argument("--all-ciede2000", action="store_true",
                    help="build ciede2000 cubes for every palette (slow), not only the first")
    args = ap.parse_args()
    import numba

    images = photos()
    pals = palettes(images)
    mp = sum(a.shape[0] * a.shape[1] for _, a in images) / 1e6
    print(f"# bench_engine: {len(images)} photos, {mp:.1f} Mpx; {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f}), numba {numba.__version__} "
          f"({numba.get_num_threads()} threads), Pillow {Image.__version__}, "
          f"numpy {np.__version__}")
    bench_build(pals, args.quick, args.all_ciede2000)
    bench_open(pals)
    bench_small_job(pals[1])
    bench_quantize(pals, images, 3 if args.quick else 7)
    bench_pipeline(pals, 8, 1 if args.quick else 3)
    print(f"\n# load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
