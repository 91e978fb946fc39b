"""Smoke tests of the packaging: the module imports and exposes its basics."""

import re
import threading
from pathlib import Path

import pytest

import rramsim


def cargo_version() -> str:
    """The workspace version in the root Cargo.toml (the Rust crates' version)."""
    root = Path(__file__).resolve().parents[2] / "Cargo.toml"
    text = root.read_text(encoding="utf-8")
    section = text.split("[workspace.package]", 1)[1]
    match = re.search(r'^version\s*=\s*"([^"]+)"', section, re.MULTILINE)
    assert match, "no version in [workspace.package]"
    return match.group(1)


def test_version_matches_cargo() -> None:
    assert rramsim.version() == cargo_version()
    assert rramsim.__version__ == cargo_version()


def test_distribution_version_matches_cargo() -> None:
    from importlib.metadata import version

    assert version("rramsim") == cargo_version()


def test_exception_hierarchy() -> None:
    assert issubclass(rramsim.RramsimError, Exception)
    assert issubclass(rramsim.InputError, rramsim.RramsimError)
    assert rramsim.RramsimError.__module__ == "rramsim"
    with pytest.raises(rramsim.RramsimError, match="at line 3"):
        raise rramsim.InputError("at line 3")


def test_compiled_module_is_inside_the_package() -> None:
    compiled = Path(rramsim._rramsim.__file__)
    assert compiled.parent == Path(rramsim.__file__).parent
    assert (compiled.parent / "py.typed").exists()
    assert (compiled.parent / "_rramsim.pyi").exists()


def test_fnv1a_known_values() -> None:
    # Published FNV-1a 64 test vectors (same as rramsim-core's unit test).
    assert rramsim.fnv1a(b"") == 0xCBF29CE484222325
    assert rramsim.fnv1a(b"a") == 0xAF63DC4C8601EC8C
    with pytest.raises(TypeError):
        rramsim.fnv1a("a")  # type: ignore[arg-type]


def test_fnv1a_from_threads() -> None:
    # The GIL is released while hashing: threads must all finish and agree.
    data = bytes(range(256)) * 4096
    expected = rramsim.fnv1a(data)
    results: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        value = rramsim.fnv1a(data)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4
