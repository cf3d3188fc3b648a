"""Local stand-ins of the accounting packages' APIs (no Django), for demo, tests and benchmarks.

The machinery every package's simulator shares lives here; each package's own simulator
lives in its connector's folder (``integrations/connectors/<key>/simulator/``) and is
found through ``Connector.simulator``. Start one with
``python -m integrations.simulators <key>|all``; in tests use
:func:`integrations.simulators.testing.run_simulator`.
"""
