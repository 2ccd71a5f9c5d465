"""kombo: upload files as attachments to candidates and applications in the Kombo ATS API.

The package is a library first: `from kombo_cli import Kombo` (see kombo_cli.library and
docs/library.md). The names below are loaded on first use, so that `kombo --version`, which
imports this package, loads nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kombo_cli.version import __version__

if TYPE_CHECKING:
    from kombo_cli.library import AttachRequest, AttachResult, Kombo, KomboError, RunObserver

__all__ = ["AttachRequest", "AttachResult", "Kombo", "KomboError", "RunObserver", "__version__"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from kombo_cli import library

        return getattr(library, name)
    raise AttributeError(f"module 'kombo_cli' has no attribute {name!r}")
