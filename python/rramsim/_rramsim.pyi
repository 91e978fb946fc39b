"""Type stubs of the compiled module ``rramsim._rramsim``.

Every function returns the facade's report as JSON text (``infer``: raw
float32 bytes and a shape); the pure-Python package turns them into dicts,
DataFrames and numpy arrays.
"""

from typing import List, Optional, Sequence, Tuple

class RramsimError(Exception):
    """Base class of every error raised by rramsim."""

class InputError(RramsimError):
    """Bad input; the message says where."""

def version() -> str: ...
def presets() -> List[str]: ...
def zoo() -> List[str]: ...
def run(
    arch: str,
    workload: str,
    *,
    batch: int = 1,
    offload: str = "all-rram",
    replication: str = "balanced",
    widen: Optional[float] = None,
    shortcut_kernel: Optional[int] = None,
    faults: Optional[str] = None,
    fault_rate: Optional[float] = None,
    seed: Optional[int] = None,
    sa1_fraction: float = 0.5,
    distribution: str = "uniform",
    fault_model: str = "cell",
    trace: Optional[str] = None,
    max_replicas: Optional[int] = None,
    chip_budget: Optional[int] = None,
    remap: str = "none",
) -> str: ...
def check(arch: str) -> str: ...
def workload(workload: str, *, widen: Optional[float] = None, shortcut_kernel: Optional[int] = None) -> str: ...
def study(
    arch: str,
    workload: str,
    *,
    widths: Sequence[float] = ...,
    offload: Sequence[str] = ...,
    shortcut_kernels: Sequence[int] = ...,
    replication: str = "balanced",
    batch: int = 1,
    faults: Optional[str] = None,
    fault_rate: Optional[float] = None,
    seed: Optional[int] = None,
    sa1_fraction: float = 0.5,
    distribution: str = "uniform",
    fault_model: str = "cell",
) -> str: ...
def sweep(spec: str, *, is_json: bool = False, base_dir: Optional[str] = None) -> str: ...
def faults_generate(
    arch: str,
    rate: float,
    *,
    seed: int,
    sa1_fraction: float = 0.5,
    distribution: str = "uniform",
    chips: int = 1,
    output: Optional[str] = None,
) -> str: ...
def faults_stats(
    path: str,
    *,
    arch: Optional[str] = None,
    workload: Optional[str] = None,
    replication: str = "balanced",
    fault_model: str = "cell",
    per_crossbar: bool = False,
) -> str: ...
def eval(
    model: str,
    *,
    data: str = "fashion-mnist",
    images: Optional[int] = None,
    arch: Optional[str] = None,
    offload: str = "all-rram",
    replication: str = "balanced",
    fault_rate: float = 0.0,
    rate_per: str = "cell",
    sa1_fraction: float = 0.5,
    distribution: str = "uniform",
    fault_model: str = "cell",
    seeds: int = 10,
    seed: int = 1,
    adc_clip: bool = False,
    weights: Optional[str] = None,
) -> str: ...
def infer(
    model: str,
    data: bytes,
    shape: Sequence[int],
    *,
    weights: Optional[str] = None,
    arch: Optional[str] = None,
    offload: str = "all-rram",
    fault_rate: Optional[float] = None,
    seed: int = 1,
    sa1_fraction: float = 0.5,
    fault_model: str = "cell",
    adc_clip: bool = False,
) -> Tuple[bytes, List[int]]: ...
