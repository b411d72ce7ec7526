"""The control-process fixtures (``keys``, ``control``) live in tests/conftest.py: the Keep's
tests use them too."""
