"""`kombo sandbox --demo`: the main job end to end, on this machine only.

Starts the sandbox on a free loopback port, attaches the sample CV that ships with the
package through the library `kombo attach` uses, lists the candidate's attachments, checks
the stored bytes, and cleans up. It never reads KOMBO_* variables, .env files or profiles,
so it cannot reach a real ATS.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kombo_cli.errors import ExitCode
from kombo_cli.library import Kombo
from kombo_cli.sandbox.config import DEFAULT_API_KEY, DEFAULT_INTEGRATION_ID, SandboxConfig
from kombo_cli.sandbox.sample_candidates import FRANK_DOE_ID
from kombo_cli.sandbox.sample_cv import SAMPLE_CV_NAME, sample_cv_bytes
from kombo_cli.sandbox.server import SandboxServer
from kombo_cli.ui.console import Console
from kombo_cli.ui.text import human_duration, human_size
from kombo_cli.upload.result import AttachResult


@dataclass(frozen=True)
class DemoReport:
    base_url: str
    result: AttachResult
    listing: list[dict[str, Any]]
    stored_sha256: str

    @property
    def ok(self) -> bool:
        """The sandbox stored exactly the bytes that were sent, and lists the upload."""
        listed = any(item.get("file_name") == SAMPLE_CV_NAME for item in self.listing)
        sent = self.result.delivered.sha256 if self.result.delivered else None
        return listed and self.stored_sha256 == sent


def run_demo(console: Console) -> int:
    report = _demo()
    _show(console, report)
    return ExitCode.SUCCESS if report.ok else ExitCode.INTERNAL


def _demo() -> DemoReport:
    with tempfile.TemporaryDirectory(prefix="kombo-demo-") as temp:
        folder = Path(temp)
        cv = folder / SAMPLE_CV_NAME
        cv.write_bytes(sample_cv_bytes())
        config = SandboxConfig(data_dir=folder / "sandbox-data", port=0)
        with (
            SandboxServer(config) as server,
            Kombo(DEFAULT_API_KEY, DEFAULT_INTEGRATION_ID, base_url=server.base_url) as kombo,
        ):
            assert kombo.client is not None
            # No proxies from the environment: the demo's traffic stays on this machine.
            kombo.client.session.trust_env = False
            result = kombo.attach(FRANK_DOE_ID, cv, type="CV")
            listing = kombo.list_attachments(FRANK_DOE_ID)
            stored = server.store.for_target("candidate", FRANK_DOE_ID)
            stored_bytes = stored[-1].data if stored else None
            return DemoReport(
                base_url=server.base_url,
                result=result,
                listing=listing,
                stored_sha256=hashlib.sha256(stored_bytes or b"").hexdigest(),
            )


def _show(console: Console, report: DemoReport) -> None:
    result = report.result
    plan, delivered = result.plan, result.delivered
    assert plan is not None and delivered is not None
    same = report.ok
    lines = [
        f"Started a local Kombo sandbox at {report.base_url} (nothing leaves this machine).",
        f"Attached {plan.name} to {plan.target} ({plan.type}, {plan.content_type_text},"
        f" {human_size(plan.size or 0)}) in {human_duration(delivered.elapsed_s)}.",
        "The candidate's attachments, as the API lists them:",
    ]
    for item in report.listing:
        lines.append(
            f"  {item.get('file_name')}  {item.get('type')}  {item.get('content_type')}"
            f"  {item.get('remote_created_at')}"
        )
    digest = (delivered.sha256 or "")[:16]
    lines.append(
        f"The sandbox stored exactly the bytes that were sent (sha256 {digest}…)."
        if same
        else "The bytes the sandbox stored differ from the file that was sent."
    )
    lines += [
        "",
        "Next: run `kombo sandbox` in one terminal and follow what it prints, or see the",
        "README for using kombo with your Kombo API key.",
    ]
    console.out("\n".join(lines), None if same else "red")
