"""Output: VTKHDF field time series (VTX for high order), the mesh with its region tags
(.vtu + regions.json), quantities CSV and summary.json (rank 0 writes text)."""

from femcell.io.fields import FieldWriter
from femcell.io.regions import read_regions, write_mesh_tags
from femcell.io.summary import finalise_summary, remove_stale_summary, write_json
from femcell.io.tables import QuantityTable, read_table

__all__ = [
    "FieldWriter",
    "QuantityTable",
    "finalise_summary",
    "read_regions",
    "read_table",
    "remove_stale_summary",
    "write_json",
    "write_mesh_tags",
]
