"""The `teaplatform` command: one module per capability registers its commands."""
