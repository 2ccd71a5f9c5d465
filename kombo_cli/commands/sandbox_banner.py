"""What `kombo sandbox` prints once it listens: where, what to export, what it serves.

With one integration, and no rehearsed error, the banner names no integration but the one
to export. With several, it lists each one with its concurrency limit (and its rehearsed
error), then each one's candidates.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kombo_cli.config.settings import is_loopback_host
from kombo_cli.ui.console import Console

if TYPE_CHECKING:
    from kombo_cli.sandbox.server import SandboxServer

# Candidates listed per integration; the rest are found with GET /ats/candidates.
SHOWN_CANDIDATES = 10


def show_banner(console: Console, server: SandboxServer, data_dir: Path) -> None:
    config = server.config
    if not is_loopback_host(config.host):
        console.warning(
            f"The sandbox listens on {config.host}, so other machines can reach it."
            " Its key is not a secret: anyone who can connect can upload."
        )
    example_id = server.candidates[0]["id"] if server.candidates else "CANDIDATE_ID"
    lines = [
        f"Kombo sandbox listening on {server.base_url}",
        f"Uploads are stored in {data_dir}",
        "",
        "Point kombo at it:",
        f"  export KOMBO_BASE_URL={shlex.quote(server.base_url)}",
        f"  export KOMBO_API_KEY={shlex.quote(config.api_key)}",
        f"  export KOMBO_INTEGRATION_ID={shlex.quote(config.integration_id)}",
        f"  kombo attach {example_id} cv.pdf --type CV",
        "",
    ]
    several = len(config.integration_ids) > 1
    if several or config.integration_errors:
        lines += _integration_lines(server)
    for integration_id, candidates in server.candidates_by_integration.items():
        if candidates:
            of = f" of {integration_id}" if several else ""
            lines.append(f"Candidates{of} (GET /ats/candidates?email=...):")
            lines += _candidate_lines(candidates)
            lines.append("")
    lines.append("Press Ctrl-C to stop.")
    console.out("\n".join(lines))


def _integration_lines(server: SandboxServer) -> list[str]:
    from kombo_cli.sandbox.integration import INTEGRATION_ERRORS

    config = server.config
    width = max(len(integration_id) for integration_id in config.integration_ids)
    lines = ["Integrations (X-Integration-Id; the first is the default):"]
    for integration_id, limit in server.concurrency_limits.items():
        line = f"  {integration_id:<{width}}  concurrency limit {limit}"
        status = config.integration_errors.get(integration_id)
        if status is not None:
            line += f", answers {status} {INTEGRATION_ERRORS[status][0]}"
        lines.append(line)
    return [*lines, ""]


def _candidate_lines(candidates: list[dict[str, Any]]) -> list[str]:
    lines = []
    for candidate in candidates[:SHOWN_CANDIDATES]:
        emails = ", ".join(
            entry.get("email_address") or "" for entry in candidate.get("email_addresses") or []
        )
        full_name = f"{candidate.get('first_name') or ''} {candidate.get('last_name') or ''}"
        lines.append(f"  {candidate['id']}  {full_name.strip()}  {emails}".rstrip())
        for application in candidate.get("applications") or []:
            job = (application.get("job") or {}).get("name") or "a job"
            lines.append(f"    application {application['id']} ({job}): use --application")
    return lines
