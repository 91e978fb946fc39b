"""rramsim: a cycle-level simulator of RRAM DNN accelerators, from Python.

Everything here is implemented in Rust (the ``rramsim._rramsim`` extension
module) and re-exported. Errors are raised as :class:`RramsimError` or a
subclass such as :class:`InputError`, whose message locates the fault.
"""

from ._rramsim import InputError, RramsimError, fnv1a, version

__version__: str = version()

__all__ = [
    "InputError",
    "RramsimError",
    "__version__",
    "fnv1a",
    "version",
]
