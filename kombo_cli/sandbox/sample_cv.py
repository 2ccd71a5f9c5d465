"""The sample CV that ships with the package, for `kombo sandbox --demo` and tests."""

from __future__ import annotations

SAMPLE_CV_NAME = "Frank Doe CV.pdf"


def sample_cv_bytes() -> bytes:
    from importlib.resources import files

    return (files("kombo_cli.sandbox") / "sample-cv.pdf").read_bytes()
