"""Twinfield's own tests (the generic connector tests run it too, through the registry)."""
