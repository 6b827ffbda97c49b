"""A local imitation of the Polymarket US partner API, for demos and tests.

A separate program: it imports nothing of the back-office and meets it only over HTTP, exactly as
the real exchange would. `python -m sandbox --help` shows how to run it.
"""
