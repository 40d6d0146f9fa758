"""Sorting and grading: leaf condition classification and made-tea grade rules."""
