"""The Twinfield simulator: ``app.create_app``."""
