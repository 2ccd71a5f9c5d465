"""kombo: upload files as attachments to candidates and applications in the Kombo ATS API.

The package is a library first: `from kombo_cli import Kombo` (see kombo_cli.library and
docs/library.md). Every name here is loaded on first use, so that `kombo --version` loads
nothing but the version.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from kombo_cli.errors import (
        ApiError,
        ConfigError,
        ExitCode,
        Interrupted,
        KomboError,
        LookupFailed,
        NetworkError,
        OutcomeUnknown,
        UsageError,
        VerifyMismatch,
    )
    from kombo_cli.library import Kombo
    from kombo_cli.upload.request import AttachRequest
    from kombo_cli.upload.result import AttachResult
    from kombo_cli.upload.run import RunObserver
    from kombo_cli.version import __version__

_ERRORS = (
    "ApiError",
    "ConfigError",
    "ExitCode",
    "Interrupted",
    "KomboError",
    "LookupFailed",
    "NetworkError",
    "OutcomeUnknown",
    "UsageError",
    "VerifyMismatch",
)
__all__ = [
    "ApiError",
    "AttachRequest",
    "AttachResult",
    "ConfigError",
    "ExitCode",
    "Interrupted",
    "Kombo",
    "KomboError",
    "LookupFailed",
    "NetworkError",
    "OutcomeUnknown",
    "RunObserver",
    "UsageError",
    "VerifyMismatch",
    "__version__",
]


def __getattr__(name: str) -> "Any":
    if name == "__version__":
        from kombo_cli import version

        return version.__version__
    if name in _ERRORS:
        from kombo_cli import errors

        return getattr(errors, name)
    if name == "AttachRequest":
        from kombo_cli.upload import request

        return request.AttachRequest
    if name == "AttachResult":
        from kombo_cli.upload import result

        return result.AttachResult
    if name == "RunObserver":
        from kombo_cli.upload import run

        return run.RunObserver
    if name == "Kombo":
        from kombo_cli import library

        return library.Kombo
    raise AttributeError(f"module 'kombo_cli' has no attribute {name!r}")
