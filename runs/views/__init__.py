"""The run and line screens, one module a page."""
