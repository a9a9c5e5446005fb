"""numba kernels: arrays in, arrays out, no I/O. Only imported when a kernel is needed."""

from ..engine import prepare_numba

prepare_numba()  # before numba starts its runtime
