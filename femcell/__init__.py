"""femcell."""
