"""The version: read by the build (pyproject.toml) and printed by `kombo --version`."""

__version__ = "0.2.0"
