"""Use cases shared by the API and the CLI, and background workers of the server."""
