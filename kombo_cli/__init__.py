"""kombo: upload files as attachments to candidates and applications in the Kombo ATS API."""

# The single source of truth for the version: the build reads it (pyproject.toml) and
# `kombo --version` prints it without importing anything heavy.
__version__ = "0.2.0"
