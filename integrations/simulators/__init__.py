"""Local stand-ins of the accounting packages' APIs (no Django), for demo, tests and benchmarks.

Start one with ``python -m integrations.simulators multivers|exact|all``; in tests use
:func:`integrations.simulators.testing.run_simulator`.
"""
