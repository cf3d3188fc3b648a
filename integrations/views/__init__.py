"""Integration screens: the summary and History (screens), settings and OAuth (connection)."""
