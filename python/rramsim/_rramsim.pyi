"""Type stubs of the compiled module ``rramsim._rramsim``."""

class RramsimError(Exception):
    """Base class of every error raised by rramsim."""

class InputError(RramsimError):
    """Bad input; the message says where (file:line:column or the argument)."""

def version() -> str:
    """The version of the Rust crates this module was built from."""

def fnv1a(data: bytes, /) -> int:
    """FNV-1a 64 checksum of ``data``, computed without holding the GIL."""
