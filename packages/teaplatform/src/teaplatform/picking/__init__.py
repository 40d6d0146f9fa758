"""Picking-robot vision in use: shoot detection, picking points, pick plans."""
