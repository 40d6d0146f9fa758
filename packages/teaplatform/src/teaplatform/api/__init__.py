"""The REST API: `create_app(settings)`; one router module per capability."""
