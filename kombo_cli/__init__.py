"""kombo: upload files as attachments to candidates and applications in the Kombo ATS API.

The package is a library first: `from kombo_cli import Kombo` (see kombo_cli.library and
docs/library.md). Every name here is loaded on first use, so that `kombo --version` loads
nothing but the version.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from kombo_cli.library import AttachRequest, AttachResult, Kombo, KomboError, RunObserver
    from kombo_cli.version import __version__

__all__ = ["AttachRequest", "AttachResult", "Kombo", "KomboError", "RunObserver", "__version__"]


def __getattr__(name: str) -> "Any":
    if name == "__version__":
        from kombo_cli import version

        return version.__version__
    if name in __all__:
        from kombo_cli import library

        return getattr(library, name)
    raise AttributeError(f"module 'kombo_cli' has no attribute {name!r}")
