"""numba kernels: arrays in, arrays out, no I/O. Only imported when a kernel is needed."""

import os

from ..engine import announce_compile, prepare_numba

prepare_numba()  # before numba starts its runtime
announce_compile(os.path.dirname(__file__))
