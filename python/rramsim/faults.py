"""Stuck-at fault maps (``rramsim faults``).

Convention: SA0 = a cell stuck at its lowest conductance (HRS), read as level 0;
SA1 = stuck at its highest conductance (LRS), read as the top level.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Union

from . import _rramsim

PathLike = Union[str, "os.PathLike[str]"]


def generate(
    arch: PathLike,
    rate: float,
    *,
    seed: int,
    sa1_fraction: float = 0.5,
    distribution: str = "uniform",
    chips: int = 1,
    output: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Generate a map at cell fault ``rate`` over ``chips`` chips of ``arch``
    (``rramsim faults gen``); write it to ``output`` when given. Returns its
    statistics (``rramsim faults stats --format json``)."""
    return json.loads(
        _rramsim.faults_generate(
            os.fspath(arch),
            rate,
            seed=seed,
            sa1_fraction=sa1_fraction,
            distribution=distribution,
            chips=chips,
            output=None if output is None else os.fspath(output),
        )
    )


def stats(
    path: PathLike,
    *,
    arch: Optional[PathLike] = None,
    workload: Optional[PathLike] = None,
    replication: str = "balanced",
    fault_model: str = "cell",
    per_crossbar: bool = False,
) -> Dict[str, Any]:
    """Statistics of a map file (``rramsim faults stats --format json``); with
    ``arch`` and ``workload``, per layer of the mapped workload."""
    return json.loads(
        _rramsim.faults_stats(
            os.fspath(path),
            arch=None if arch is None else os.fspath(arch),
            workload=None if workload is None else os.fspath(workload),
            replication=replication,
            fault_model=fault_model,
            per_crossbar=per_crossbar,
        )
    )


__all__ = ["generate", "stats"]
