"""Brute-force nearest colour under CIEDE2000 for a list of CIELAB points.

palcli.nearest compares colours with numpy, which costs about 0.3 us a CIEDE2000 pair (some
sixty array passes); palette extraction refines over 10^5 colours x 10^2 palette colours many
times, so it calls this kernel instead (~0.05 us a pair a thread) once the work pays for
numba's start.
"""

import numpy as np
from numba import njit, prange

from .cube_de00 import de00


@njit(cache=True, parallel=True, error_model="numpy")
def nearest_de00(lab, targets, index, dist):
    """For each row of lab (M, 3), the index of its nearest row of targets (K, 3) under
    CIEDE2000 (ties to the lowest index) into index, and that distance into dist."""
    k = targets.shape[0]
    tc = np.empty(k)
    for j in range(k):
        tc[j] = np.sqrt(targets[j, 1] * targets[j, 1] + targets[j, 2] * targets[j, 2])
    for i in prange(lab.shape[0]):
        L1, a1, b1 = lab[i, 0], lab[i, 1], lab[i, 2]
        c1 = np.sqrt(a1 * a1 + b1 * b1)
        best, at = np.inf, 0
        for j in range(k):
            d = de00(L1, a1, b1, c1, targets[j, 0], targets[j, 1], targets[j, 2], tc[j])
            if d < best:
                best, at = d, j
        index[i] = at
        dist[i] = best


@njit(cache=True, parallel=True, error_model="numpy")
def distance_de00(lab1, lab2, out):
    """out[i] = CIEDE2000 between rows i of lab1 and lab2 (both (M, 3) CIELAB)."""
    for i in prange(lab1.shape[0]):
        c1 = np.sqrt(lab1[i, 1] * lab1[i, 1] + lab1[i, 2] * lab1[i, 2])
        c2 = np.sqrt(lab2[i, 1] * lab2[i, 1] + lab2[i, 2] * lab2[i, 2])
        out[i] = de00(lab1[i, 0], lab1[i, 1], lab1[i, 2], c1, lab2[i, 0], lab2[i, 1], lab2[i, 2], c2)
