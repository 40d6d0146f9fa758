"""Command-line entry points (`computenet ...`)."""
