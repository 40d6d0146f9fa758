"""Test helpers shipped with the package (no pytest import here: fixtures live in conftest)."""
