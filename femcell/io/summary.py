"""summary.json: inputs (SI), versions, ranks, wall time, headline numbers, citations.

It is written once, at the end, atomically, so an interrupted run never leaves a summary
that claims completion; a summary from an earlier run in the same folder is removed first.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item"):  # numpy scalars
        return _clean(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temp file + rename). Call on rank 0 only."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def remove_stale_summary(comm, folder: Path) -> None:
    """Remove summary.json of an earlier run in `folder` (rank 0), then synchronise."""
    if comm.rank == 0:
        for name in ("summary.json", "summary.json.tmp"):
            p = Path(folder) / name
            if p.exists():
                p.unlink()
    comm.barrier()


def finalise_summary(comm, folder: Path, summary: dict) -> Path:
    """Write folder/summary.json on rank 0 (collective: everyone waits)."""
    path = Path(folder) / "summary.json"
    if comm.rank == 0:
        write_json(path, summary)
    comm.barrier()
    return path
