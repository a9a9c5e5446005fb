"""Mixing plans: the palette colours, and their shares, whose mix an ordered dither shows for a
colour. Every ordered mode (bayer*, blue-noise, pattern) reads the same plans; only the
threshold matrix that picks a colour differs.

    table = plans(colors, "linear")      # built once per palette and space in a process
    # a pixel of colour p in cell table.cells[p >> 2] takes verts[s, k], k the number of
    # cumulative shares coeffs[s, k] . (p, 1) at or below its threshold

The plan of colour p (in the dither space: linear light, or sRGB values, both 0..1) is a
simplex of a regular triangulation of the palette, the one holding p, with p's barycentric
coordinates as shares: so the mix has p's mean exactly, uses the colours around p (at most four,
the fewest that can make it), and its shares change continuously with p, so pixels of nearby
colours pick alike and the pattern holds up on a photo's noise. (Tetrahedra for ordered colour
dithering: E. Groeller and W. Purgathofer, "Using tetrahedrons for dithering color pictures",
Eurographics 1988.) The triangulation is Delaunay's after the grey axis is shrunk to 0.3 of its
length (heights |v|^2 - GREY_SHRINK (r+g+b)^2): mixes then run along lightness more than across
hues, and the cube-like palettes (xterm's 6x6x6) split along their grey diagonal instead of
by arbitrary ties; measured on photos, its low-pass error was 10-25% below plain Delaunay's with
NES and xterm-256. A colour outside the palette's hull takes the plan of the hull's nearest point
(Euclidean, in the dither space).

The table covers the 8-bit colours in cells of 4x4x4 levels: each cell holds the plan of its
centre as an affine map from a colour to the plan's cumulative shares (exact inside the cell's
simplex, extrapolated past its faces), so a pixel costs one cell read and three dot products.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from . import engine as eng

CELL_SHIFT = 2  # cells of 2**CELL_SHIFT levels a side: 64^3 cells
GREY_SHRINK = 0.3
CHUNKS = 16  # the table is solved in at least this many independent pieces (slices of red),
# more for large palettes (one per 16 colours): a piece's cost grows with the palette, and an
# interrupt waits for the pieces running (a 16,384-colour table takes ~40 s of CPU)
RANK_TOL = 1e-7  # singular values below this (in 0..1 units) are flat directions


class PlanTable(NamedTuple):
    cells: np.ndarray  # (64**3,) simplex number of each cell, r, g, b major (uint16 or uint32)
    verts: np.ndarray  # (S, 4) int64: palette indices, darkest first (padded with the last)
    coeffs: np.ndarray  # (S, 12) float64: rows k = 0..2, the cumulative share of verts[:k+1]
    # as c . (p0, p1, p2, 1); beyond the plan's last colour the row is (0, 0, 0, 1)


_PLANS: dict[tuple, PlanTable] = {}
PLANS_KEPT = 8
_AHEAD: dict[tuple, tuple] = {}  # key: (helper process, pipe end) of plans_ahead


def plans(colors: np.ndarray, space: str) -> PlanTable:
    """plan_table of a palette and space, built once per process (the last PLANS_KEPT kept):
    every image of a batch, whatever its metric, reads the same table."""
    colors = np.ascontiguousarray(colors, np.uint8)
    key = (colors.tobytes(), space)
    hit = _PLANS.get(key)
    if hit is None:
        hit = _from_helper(key) if key in _AHEAD else None
        if hit is None:
            hit = plan_table(colors, space, luminance_ranks(colors))
        while len(_PLANS) >= PLANS_KEPT:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = hit
    return hit


def plans_ahead(colors: np.ndarray, space: str) -> None:
    """Build plans(colors, space) in a helper process, unless this process has the table, or
    numba has started here, or its cache holds the plan kernels: on a cold machine numba
    compiles the plan kernels for seconds, and one process compiles one thing at a time (numba's compiler lock), so the
    caller (preview) draws its other columns meanwhile. plans() then takes the table from the
    helper; stop_ahead() ends helpers not needed any more."""
    colors = np.ascontiguousarray(colors, np.uint8)
    key = (colors.tobytes(), space)
    if (key in _PLANS or key in _AHEAD or eng.numba_state().started
            or eng.kernel_cached("plans.plan_cells")):
        return  # building here is as quick
    receiver, sender = eng.process_context().Pipe(duplex=False)
    helper = eng.helper_process(_build_and_send, colors, space, sender)
    sender.close()
    _AHEAD[key] = (helper, receiver)


def stop_ahead() -> None:
    """Stop plans_ahead helpers whose table nobody asked for."""
    for helper, receiver in _AHEAD.values():
        eng.stop_helper(helper)
        receiver.close()
    _AHEAD.clear()


def _from_helper(key) -> PlanTable | None:
    """The table a plans_ahead helper built (waiting for it), or None if it failed."""
    helper, receiver = _AHEAD.pop(key)
    try:
        table = PlanTable(*receiver.recv())
    except (EOFError, OSError):
        table = None
    finally:
        receiver.close()
        helper.join()
    return table


def _build_and_send(colors, space, sender) -> None:
    """In a plans_ahead helper process: build the table and send it back."""
    sender.send(tuple(plan_table(colors, space, luminance_ranks(colors))))
    sender.close()


@lru_cache(maxsize=2)
def unit_values(space: str) -> np.ndarray:
    """(256,) float64: an 8-bit level's value in the dither space, 0..1 (read-only)."""
    if space == "srgb":
        out = np.arange(256) / 255.0
    else:
        from .color import SRGB_TO_LINEAR

        out = np.array(SRGB_TO_LINEAR, np.float64)
    out.setflags(write=False)
    return out


def luminance_ranks(colors: np.ndarray) -> np.ndarray:
    """Each palette index's rank by relative luminance (Y of linear sRGB, IEC 61966-2-1), ties
    by index: a mixing plan lists its colours by it, so the lowest thresholds take the darkest."""
    from .color import SRGB_TO_XYZ, srgb_to_linear

    y = srgb_to_linear(np.asarray(colors, np.float64) / 255) @ SRGB_TO_XYZ[1]
    ranks = np.empty(len(y), np.int64)
    ranks[np.lexsort((np.arange(len(y)), y))] = np.arange(len(y))
    return ranks


def plan_table(colors: np.ndarray, space: str, ranks: np.ndarray) -> PlanTable:
    """The plans of every cell for a palette ((K, 3) uint8) in a dither space; ranks: each
    palette index's rank in the order the plan lists colours (luminance_ranks)."""
    unit = unit_values(space)
    colors = np.asarray(colors)
    _, first = np.unique(colors, axis=0, return_index=True)
    keep = np.sort(first)  # a duplicate colour is never planned: its lowest index stands
    points = unit[colors[keep].astype(np.int64)]
    side = 256 >> CELL_SHIFT
    centres = _centres(space, side)
    supports = _supports(points, centres)
    supports.sort(1)  # one row per point set: -1 first, then the point numbers
    simplices, cells = _distinct_rows(supports)
    verts, coeffs = _maps(points, simplices, keep, ranks)
    order = _scan_order(side)
    table = np.empty(side ** 3, np.uint16 if len(simplices) <= 65536 else np.uint32)
    table[order] = cells.reshape(-1)
    return PlanTable(table, verts, coeffs)


def _distinct_rows(rows: np.ndarray):
    """np.unique(rows, axis=0, return_inverse=True) for (N, 4) int32 rows of -1..K-1: each
    row packed into one uint64 first (sorting one key is ten times faster than rows)."""
    if rows.max() >= 0xFFFF:  # a palette of 65,536 distinct colours: no room to pack
        distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
        return distinct, inverse.reshape(-1)
    packed = np.zeros(len(rows), np.uint64)
    for j in range(4):
        packed |= (rows[:, j].astype(np.int64) + 1).astype(np.uint64) << np.uint64(16 * (3 - j))
    keys, inverse = np.unique(packed, return_inverse=True)
    fields = [(keys >> np.uint64(16 * (3 - j))) & np.uint64(0xFFFF) for j in range(4)]
    return np.stack(fields, 1).astype(np.int32) - 1, inverse.reshape(-1)


def _centres(space: str, side: int) -> np.ndarray:
    """(side**3, 3) cell centres in the dither space, in _scan_order."""
    from .color import srgb_to_linear

    size = 1 << CELL_SHIFT
    levels = (np.arange(side) * size + (size - 1) / 2) / 255
    c = levels if space == "srgb" else srgb_to_linear(levels)
    grid = np.stack(np.meshgrid(c, c, c, indexing="ij"), -1).reshape(-1, 3)
    return grid[_scan_order(side)]


def _scan_order(side: int) -> np.ndarray:
    """Cell numbers (r, g, b major) in the order the solver visits them: serpentine over g and
    b, so that each target lies next to the last."""
    r, g, b = np.meshgrid(np.arange(side), np.arange(side), np.arange(side), indexing="ij")
    g = np.where(r % 2 == 1, side - 1 - g, g)
    b = np.where((r * side + g) % 2 == 1, side - 1 - b, b)
    return ((r * side + g) * side + b).reshape(-1)


def _supports(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(N, 4) int32, -1 padded: the point numbers of each target's plan (see
    palcli.kernels.plans)."""
    out = np.full((len(targets), 4), -1, np.int32)
    mean = points.mean(0)
    _, sv, vt = np.linalg.svd(points - mean) if len(points) > 1 else (None, np.zeros(0), None)
    d = int((sv > RANK_TOL).sum())
    if d == 0:
        out[:, 0] = 0
        return out
    basis = vt[:d].T
    ys = np.ascontiguousarray((points - mean) @ basis)
    heights = (points ** 2).sum(1) - GREY_SHRINK * points.sum(1) ** 2
    local = np.ascontiguousarray((targets - mean) @ basis)
    chunks = max(CHUNKS, len(points) // 16)
    starts = np.linspace(0, len(targets), chunks + 1).astype(np.int64)
    from .kernels.plans import plan_cells

    eng.spans(lambda *a: plan_cells(*a, out), (ys, heights, local, starts), chunks, chunk=1)
    return out


def _maps(points, simplices, keep, ranks):
    """(verts, coeffs) of each simplex (rows of point numbers, -1 padded): the affine map from
    a colour to the barycentric coordinates of its projection on the simplex's span, listed by
    rank and summed up."""
    n = len(simplices)
    size = (simplices >= 0).sum(1)
    simplices = np.take_along_axis(simplices, np.argsort(simplices < 0, 1, kind="stable"), 1)
    shares = np.zeros((n, 4, 4))  # share of vertex i = shares[s, i] . (p, 1)
    for m in range(1, 5):
        rows = np.flatnonzero(size == m)
        if len(rows) == 0:
            continue
        pts = points[simplices[rows, :m]]  # (R, m, 3)
        shares[rows, :m] = _affine(pts)
    idx = np.where(simplices >= 0, keep[np.maximum(simplices, 0)], -1)
    key = np.where(idx >= 0, ranks[np.maximum(idx, 0)], np.iinfo(np.int64).max)
    order = np.argsort(key, axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, 1)
    shares = np.take_along_axis(shares, order[:, :, None], 1)
    last = idx[np.arange(n), size - 1]
    verts = np.where(idx >= 0, idx, last[:, None]).astype(np.int64)
    cumulative = np.cumsum(shares, 1)[:, :3]
    beyond = np.arange(3)[None, :] >= (size - 1)[:, None]
    cumulative[beyond] = (0.0, 0.0, 0.0, 1.0)
    return verts, np.ascontiguousarray(cumulative.reshape(n, 12))


def _affine(pts: np.ndarray) -> np.ndarray:
    """(R, m, 4): for simplices pts (R, m, 3), the map (p, 1) -> barycentric coordinates of
    the orthogonal projection of p on the simplex's affine span."""
    r, m, _ = pts.shape
    out = np.zeros((r, m, 4))
    if m == 1:
        out[:, 0, 3] = 1.0
        return out
    edges = np.transpose(pts[:, 1:] - pts[:, :1], (0, 2, 1))  # (R, 3, m-1)
    pinv = np.linalg.pinv(edges)  # (R, m-1, 3): least-squares coefficients
    origin = np.einsum("rij,rj->ri", pinv, pts[:, 0])
    out[:, 1:, :3] = pinv
    out[:, 1:, 3] = -origin
    out[:, 0, :3] = -pinv.sum(1)
    out[:, 0, 3] = 1.0 + origin.sum(1)
    return out
