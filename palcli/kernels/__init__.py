"""numba kernels: arrays in, arrays out, no I/O. Only imported when a kernel is needed."""

import os

# OpenMP's default spin-waiting makes parallel kernels many times slower when the other core is
# busy (a pool worker, another process); passive waiting costs nothing measurable when idle.
# It must be set before numba starts its OpenMP runtime, which happens on the first parallel call.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
