"""Smoke tests of the packaging: the module imports and exposes its basics."""

import re
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
    assert rramsim._rramsim.version() == cargo_version()
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
