"""The REST API of the network service (FastAPI): `create_app(settings)`."""
