"""Shared test settings: hypothesis runs the same examples every time (derandomized), so a failure
reproduces and `make test` time is predictable."""

from hypothesis import settings

settings.register_profile("book", derandomize=True, max_examples=150, deadline=None)
settings.load_profile("book")
