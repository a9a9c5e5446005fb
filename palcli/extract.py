"""Palette extraction: the N colours that represent a set of images best under a metric.

    pal = extract_palette([pixels_a, pixels_b], 16, metric="oklab", seed=0, include="1bit")
    pal = extract_palette(read_histogram(["photos/a.jpg", "photos/b.png"]), 16)

1. Every visible pixel of every input is pooled into one histogram of distinct colours with
   their counts: memory follows the number of distinct colours (at most 2^24), not of pixels.
2. The histogram is clustered in the metric's space (OKLab, CIELAB or RGB): k-means++ seeding
   from a fixed seed (several, the best kept), Lloyd iterations on the squared
   distance, then Weiszfeld iterations that minimise the summed distance itself, which is what
   the mean error of a mapping adds up. These run on the cells of a grid laid over that space
   (each the weighted mean of its colours), a few thousand points.
3. The centres are rounded to sRGB colours and refined with the exact nearest-colour assignment
   palcli's mapping makes (palcli.nearest, the cube's answer) over a grid twice as fine: centre
   updates, then a search of each colour's sRGB neighbours under the metric itself; last, over
   every distinct colour. A palette is kept only while the summed distance falls.
`include` colours are centres that never move; they are in the palette first, as given.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ._validate import check_image, check_int
from .errors import UsageError
from .metrics import check_metric
from .nearest import SPACES, distance, from_space, nearest, to_space, use_numba_for
from .palette import MAX_COLORS, Palette, load_palette

DEFAULT_METRIC = "oklab"
# Grid cells along the lightness axis (see _binned) for the clustering: GRID x k^(1/3), so each
# colour gets about as many cells whatever k; twice as fine for the first exact refinement.
GRID = 24
# The grid's extent per space: OKLab's lightness range; CIELAB's a* and b* reach three times
# further than OKLab's a and b against lightness, so its cells span 2 units of L* (1% of OKLab's);
# RGB's channel range.
_SPAN = {"oklab": 1.0, "lab": 200.0, "rgb": 255.0}
_DIRECT = 4096  # histograms with at most this many colours are clustered colour by colour
# Seedings clustered (the one with the least summed distance is refined): more for few colours,
# where each costs little and a poor start costs most.
RESTARTS = 4
RESTARTS_FEW = 8  # for k <= 8
_LLOYD_ITERATIONS = 40
_WEISZFELD_ITERATIONS = 20
_REFINE_ITERATIONS = (8, 3)  # over the 6-bit bins, then over every distinct colour
_STEPS = (4, 2, 1)  # sRGB steps of the search around each refined colour
_SEARCH_ROUNDS = 3  # at most, per step
# the 26 neighbours of a colour in the sRGB grid: straight moves alone stall where the metric's
# valleys run diagonally (CIEDE2000's hue and chroma terms)
_MOVES = np.array([m for m in itertools.product((-1, 0, 1), repeat=3) if any(m)], np.int64)
_RTOL = 1e-5  # relative improvement below which iterating stops
_FLOOR = 1e-9  # the least distance a Weiszfeld weight divides by
# nearest() under "oklab" is the plain Euclidean distance of whatever points it is given: the
# clustering measures with it in the metric's own space.
_EUCLIDEAN = "oklab"


@dataclass(frozen=True)
class ColorHistogram:
    """Distinct sRGB colours (M, 3) uint8, in ascending r, g, b order, and their pixel counts."""

    colors: np.ndarray
    counts: np.ndarray  # (M,) int64

    @property
    def pixels(self) -> int:
        return int(self.counts.sum())


class HistogramBuilder:
    """Pools pixels into one ColorHistogram; merges as it goes, so memory stays bounded by the
    distinct colours seen (a packed uint32 and an int64 count each), not by the pixels added."""

    def __init__(self, alpha_threshold: int = 128):
        self.alpha_threshold = alpha_threshold
        self._values = np.empty(0, np.uint32)
        self._counts = np.empty(0, np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0

    def add(self, pixels: np.ndarray, alpha: bool = True) -> None:
        """Add an (H, W, 3|4) uint8 image. With four channels and alpha=True, pixels whose alpha
        is below the threshold are transparent and ignored; alpha=False reads RGBX."""
        pixels = check_image(pixels, "pixels")
        flat = pixels.reshape(-1, pixels.shape[2])
        if pixels.shape[2] == 4 and alpha:
            flat = flat[flat[:, 3] >= self.alpha_threshold]
        packed = (flat[:, 0].astype(np.uint32) << 16) | (flat[:, 1].astype(np.uint32) << 8) \
            | flat[:, 2]
        values, counts = np.unique(packed, return_counts=True)
        self._pending.append((values, counts.astype(np.int64)))
        self._pending_size += len(values)
        if self._pending_size > max(len(self._values), 1 << 20):
            self._merge()

    def result(self) -> ColorHistogram:
        self._merge()
        v = self._values
        colors = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=1).astype(np.uint8)
        return ColorHistogram(colors, self._counts.copy())

    def _merge(self) -> None:
        if not self._pending:
            return
        values = np.concatenate([self._values] + [v for v, _ in self._pending])
        counts = np.concatenate([self._counts] + [c for _, c in self._pending])
        self._values, inverse = np.unique(values, return_inverse=True)
        self._counts = np.bincount(inverse.reshape(-1), counts, len(self._values)).astype(np.int64)
        self._pending, self._pending_size = [], 0


def read_histogram(paths, *, alpha_threshold: int = 128, max_pixels: int | None = None
                   ) -> ColorHistogram:
    """The pooled histogram of every frame of every image file in paths (ImageError if one
    cannot be read)."""
    from .images import open_frames
    from .images import open_input  # as convert opens them: special files refused

    builder = HistogramBuilder(alpha_threshold)
    for path in map(str, paths):
        with open_input(path, max_pixels) as source, \
                open_frames(source, max_pixels, name=path) as (_, frames):
            for frame in frames:  # one decoded frame at a time
                builder.add(frame.pixels, alpha=frame.alpha)
    return builder.result()


def extract_palette(source, n: int, *, metric: str = DEFAULT_METRIC, seed: int = 0,
                    include=None, name: str = "extract") -> Palette:
    """The n colours that best represent source under metric's nearest-colour mapping.

    source: a ColorHistogram, or (H, W, 3|4) uint8 arrays pooled with the default alpha
    threshold. include: a palette (anything load_palette takes) whose colours are kept, first
    and as given, counted in n. The same source, n, metric, seed and include give the same
    palette. Fewer than n colours come back when the images have fewer. Extracted colours are
    ordered dark to light and named 'extract 1', 'extract 2', ...
    """
    metric = check_metric(metric)
    n = check_int(n, "n", 1, MAX_COLORS)
    seed = check_int(seed, "seed", 0)
    hist = source if isinstance(source, ColorHistogram) else _pool(source)
    fixed = load_palette(include) if include is not None else None
    n_fixed = len(fixed) if fixed is not None else 0
    if n < n_fixed:
        raise UsageError(f"{n} colours cannot hold the {n_fixed} colours to include")
    if len(hist.colors) == 0:
        raise UsageError("no visible pixels to extract colours from")
    fixed_colors = fixed.colors if fixed is not None else np.empty((0, 3), np.uint8)
    free = _free_colors(hist, fixed_colors, n - n_fixed, metric, seed)
    return _assemble(free, fixed, name)


def _pool(images) -> ColorHistogram:
    if isinstance(images, np.ndarray):
        images = [images]
    builder = HistogramBuilder()
    for pixels in images:
        builder.add(pixels)
    return builder.result()


def _free_colors(hist: ColorHistogram, fixed: np.ndarray, k: int, metric: str,
                 seed: int) -> np.ndarray:
    """Up to k colours beside the fixed ones, as (k', 3) uint8."""
    rest = hist.colors[~_is_in(hist.colors, fixed)]
    if len(rest) <= k:  # every colour fits: the images' own colours are the answer
        return rest
    if k == 0:
        return rest[:0]
    if metric == "ciede2000":  # the last refinement alone passes over every colour 2-3 times
        use_numba_for(len(hist.colors) * (k + len(fixed)) * 3)
    weights = hist.counts.astype(np.float64)
    exact = to_space(hist.colors, metric)
    steps = GRID * k ** (1 / 3)
    points, bin_weights = _binned(exact, weights, metric, steps)
    centres = _cluster(points, bin_weights, to_space(fixed, metric), k, seed)
    palette = from_space(centres, metric)
    fine, fine_weights = _binned(exact, weights, metric, 2 * steps)
    palette = _refine(fine, fine_weights, fixed, palette, metric, _REFINE_ITERATIONS[0])
    palette = _search(fine, fine_weights, fixed, palette, metric)
    palette = _refine(exact, weights, fixed, palette, metric, _REFINE_ITERATIONS[1])
    return np.unique(palette[~_is_in(palette, fixed)], axis=0)  # rounding can merge two


def _cluster(points, weights, anchors, k: int, seed: int) -> np.ndarray:
    """k centres beside the fixed anchors: of several seedings from seed, each followed by
    Lloyd then Weiszfeld iterations, the one with the least summed distance."""
    rng = np.random.default_rng(seed)
    best, best_cost = None, np.inf
    for _ in range(RESTARTS_FEW if k <= 8 else RESTARTS):
        centres = _seed(points, weights, anchors, k, rng)
        centres, _ = _lloyd(points, weights, anchors, centres, squared=True)
        centres, cost = _lloyd(points, weights, anchors, centres, squared=False)
        if cost < best_cost:
            best, best_cost = centres, cost
    return best


def _is_in(colors: np.ndarray, table: np.ndarray) -> np.ndarray:
    return np.isin(_packed(colors), _packed(table))


def _packed(colors: np.ndarray) -> np.ndarray:
    c = colors.astype(np.uint32)
    return (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]


def _binned(points: np.ndarray, weights: np.ndarray, metric: str, steps: float):
    """(points, weights): the weighted mean of the points in each occupied cell of a grid laid
    over the metric's own space, `steps` cells along its lightness (or 0..255) axis. A grid in
    the space the distance is measured in gives dark colours as many cells as the eye (and the
    metric) tells apart there; sRGB bins of equal width lump near-blacks together. Small
    histograms are returned colour by colour."""
    if len(points) <= _DIRECT:
        return points, weights
    cells = np.floor(points / (_SPAN[SPACES[metric]] / steps)).astype(np.int64)
    cells -= cells.min(axis=0)
    dims = cells.max(axis=0) + 1
    _, inverse = np.unique((cells[:, 0] * dims[1] + cells[:, 1]) * dims[2] + cells[:, 2],
                           return_inverse=True)
    inverse = inverse.reshape(-1)
    total = np.bincount(inverse, weights)
    sums = np.stack([np.bincount(inverse, weights * points[:, j]) for j in range(3)], axis=1)
    return sums / total[:, None], total


def _seed(points, weights, anchors, k: int, rng) -> np.ndarray:
    """k centres by greedy k-means++: each of a few candidates drawn in proportion to weight x
    squared distance is tried and the one that lowers the total most is kept."""
    trials = 2 + int(np.log(k))
    if len(anchors):
        d2 = np.square(nearest(points, anchors, _EUCLIDEAN)[1])
    else:
        d2 = None
    centres = []
    for _ in range(k):
        if d2 is None:
            first = rng.choice(len(points), p=weights / weights.sum())
            centres.append(points[first])
            d2 = np.sum(np.square(points - points[first]), axis=1)
            continue
        cumulative = np.cumsum(weights * d2)
        if cumulative[-1] <= 0.0:  # every point already sits on a centre
            break
        draws = np.searchsorted(cumulative, rng.random(trials) * cumulative[-1], side="right")
        draws = np.minimum(draws, len(points) - 1)
        cand = np.minimum(d2[:, None], _sq_dist(points, points[draws]))
        best = int(np.argmin(np.einsum("i,ij->j", weights, cand)))
        centres.append(points[draws[best]])
        d2 = cand[:, best]
    return np.array(centres).reshape(-1, 3)


def _sq_dist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    return sum(np.square(x[:, None, j] - c[None, :, j]) for j in range(3))


def _lloyd(points, weights, anchors, centres, *, squared: bool):
    """Alternate assignment and update with the anchors fixed. squared=True: Lloyd (means);
    False: Weiszfeld steps towards each cluster's weighted geometric median. Returns the
    centres and the summed (squared) distance of the last assignment."""
    n_fixed = len(anchors)
    previous = np.inf
    iterations = _LLOYD_ITERATIONS if squared else _WEISZFELD_ITERATIONS
    for _ in range(iterations):
        everyone = np.concatenate([anchors, centres])
        labels, dist = nearest(points, everyone, _EUCLIDEAN)
        cost = _total(weights, dist * dist if squared else dist)
        if previous - cost <= _RTOL * cost:
            break
        previous = cost
        w = weights if squared else weights / np.maximum(dist, _FLOOR)
        moved = _weighted_means(points, w, labels, len(everyone), everyone)
        centres = _relocate_empty(moved[n_fixed:], labels, n_fixed, points, weights * dist)
    return centres, cost


def _total(weights: np.ndarray, values: np.ndarray) -> float:
    return float(np.einsum("i,i->", weights, values))  # no BLAS call: see color._apply


def _weighted_means(points, w, labels, k: int, previous) -> np.ndarray:
    total = np.bincount(labels, w, k)
    sums = np.stack([np.bincount(labels, w * points[:, j], k) for j in range(3)], axis=1)
    out = previous.copy()
    held = total > 0
    out[held] = sums[held] / total[held, None]
    return out


def _relocate_empty(centres, labels, n_fixed: int, points, cost) -> np.ndarray:
    """A centre no point chose (a duplicate, or stranded) moves to the worst-served point."""
    used = np.bincount(labels, minlength=n_fixed + len(centres))[n_fixed:] > 0
    if used.all():
        return centres
    centres = centres.copy()
    worst = np.argsort(-cost, kind="stable")
    for slot, point in zip(np.flatnonzero(~used), worst):
        centres[slot] = points[point]
    return centres


def _refine(points, weights, fixed, palette, metric: str, iterations: int) -> np.ndarray:
    """Exact assignment under metric to the 8-bit palette, centre update, rounding: repeated
    while the summed distance falls. Returns the best 8-bit palette seen."""
    n_fixed = len(fixed)
    targets_fixed = to_space(fixed, metric)
    best, best_cost = palette, np.inf
    for _ in range(iterations):
        targets = np.concatenate([targets_fixed, to_space(palette, metric)])
        labels, dist = nearest(points, targets, metric)
        cost = _total(weights, dist)
        if cost >= best_cost * (1.0 - _RTOL):
            break
        best, best_cost = palette, cost
        w = weights / np.maximum(dist, _FLOOR)
        moved = _weighted_means(points, w, labels, len(targets), targets)[n_fixed:]
        moved = _relocate_empty(moved, labels, n_fixed, points, weights * dist)
        palette = from_space(moved, metric)
        if np.array_equal(palette, best):
            break
    return best


def _search(points, weights, fixed, palette, metric: str) -> np.ndarray:
    """Pattern search on the 8-bit palette: each colour tries a step to each of its 26 grid
    neighbours and takes the best that lowers its pixels' summed distance (exact, under metric,
    with the assignment fixed); reassigning can only lower it further. The centre updates of
    _refine minimise a Euclidean stand-in; this measures the metric itself (CIEDE2000 differs
    most) and undoes rounding losses. Steps halve when no colour moves."""
    n_fixed, k = len(fixed), len(palette)
    targets_fixed = to_space(fixed, metric)
    for step in _STEPS:
        for _ in range(_SEARCH_ROUNDS):
            targets = np.concatenate([targets_fixed, to_space(palette, metric)])
            labels, dist = nearest(points, targets, metric)
            mine = labels >= n_fixed  # the points of the colours that may move
            own, pts, w = labels[mine] - n_fixed, points[mine], weights[mine]
            best = np.bincount(own, w * dist[mine], k)
            choice = np.full(k, -1)
            for m, move in enumerate(_MOVES * step):
                trial = np.clip(palette.astype(np.int64) + move, 0, 255).astype(np.uint8)
                cost = np.bincount(own, w * distance(pts, to_space(trial, metric)[own], metric), k)
                better = cost < best * (1.0 - 1e-12)
                best[better], choice[better] = cost[better], m
            moved = choice >= 0
            if not moved.any():
                break
            shifted = palette.astype(np.int64)
            shifted[moved] += _MOVES[choice[moved]] * step
            palette = np.clip(shifted, 0, 255).astype(np.uint8)
    return palette


def _assemble(free: np.ndarray, fixed: Palette | None, name: str) -> Palette:
    """The fixed colours as given, then the extracted ones dark to light (OKLab L, then r, g, b
    for equal lightness), named 'extract 1', 'extract 2', ..."""
    lightness = to_space(free, "oklab")[:, 0]
    order = np.lexsort((_packed(free), lightness))
    free = free[order]
    names = tuple(f"extract {i}" for i in range(1, len(free) + 1))
    if fixed is None:
        return Palette(name, free, names)
    return Palette(name, np.concatenate([fixed.colors, free]), fixed.names + names)
