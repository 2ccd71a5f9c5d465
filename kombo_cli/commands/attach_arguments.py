"""What the positional arguments of `kombo attach` name: the target, then the files."""

from __future__ import annotations

from pathlib import Path

from kombo_cli.api.targets import APPLICATION, CANDIDATE
from kombo_cli.commands.attach_hints import file_where_the_id_goes
from kombo_cli.errors import UsageError
from kombo_cli.upload.files import STDIN_ARGUMENT
from kombo_cli.upload.request import EMAIL


def target_and_files(
    arguments: list[str],
    manifest: Path | None,
    email: str | None,
    urls: list[str],
    name: str | None,
    application: bool,
) -> tuple[str, str, list[str]]:
    """Which target the positional arguments name, and the files that follow it."""
    if manifest is not None:
        for given, flag in (
            (arguments, "CANDIDATE_ID and FILE arguments"),
            (email, "--email"),
            (urls, "--url"),
            (name, "--name"),
            (application, "--application"),
        ):
            if given:
                raise UsageError(
                    f"{flag} cannot be used with --manifest.",
                    hint="put targets and files in the manifest's rows",
                )
        return "", "", []
    if email is not None:
        if application:
            raise UsageError(
                "--email finds a candidate, so --application cannot be used with it.",
                hint="pass the application ID instead",
            )
        target_kind, target_value, files = EMAIL, email, list(arguments)
    else:
        if not arguments:
            raise UsageError(
                "Missing CANDIDATE_ID.", hint="kombo attach CANDIDATE_ID FILE..., or --manifest"
            )
        target_kind = APPLICATION if application else CANDIDATE
        target_value, files = arguments[0], list(arguments[1:])
    if not files and not urls:
        raise file_where_the_id_goes(target_kind, target_value) or UsageError(
            "Missing FILE.", hint="name one or more files, or give --url URL"
        )
    if STDIN_ARGUMENT in files:
        if files.count(STDIN_ARGUMENT) > 1:
            raise UsageError("Standard input (-) can only be attached once.")
        if len(files) + len(urls) > 1:
            raise UsageError(
                "Standard input (-) must be the only FILE.",
                hint="attach the other files in a separate command",
            )
        if name is None:
            raise UsageError(
                "Reading the file from standard input (-) needs --name.",
                hint="name it with its extension, e.g. --name cv.pdf",
            )
    if name is not None and len(files) + len(urls) > 1:
        raise UsageError("--name can only be used with a single file.")
    return target_kind, target_value, files
