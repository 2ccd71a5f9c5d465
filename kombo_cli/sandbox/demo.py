"""`kombo sandbox --demo`: the main job end to end, on this machine only.

Starts the sandbox on a free loopback port, attaches the sample CV that ships with the
package through the same code `kombo attach` uses, lists the candidate's attachments,
checks the stored bytes, and cleans up. It never reads KOMBO_* variables, .env files or
profiles, so it cannot reach a real ATS.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from kombo_cli.attach import AttachmentOutcome, plan_attachment, upload
from kombo_cli.client import KomboClient
from kombo_cli.sandbox.config import DEFAULT_API_KEY, DEFAULT_INTEGRATION_ID, SandboxConfig
from kombo_cli.sandbox.sample_candidates import FRANK_DOE_ID
from kombo_cli.sandbox.server import SandboxServer
from kombo_cli.targets import Target

SAMPLE_CV_NAME = "Frank Doe CV.pdf"


@dataclass(frozen=True)
class DemoReport:
    base_url: str
    outcome: AttachmentOutcome
    listing: list[dict[str, Any]]
    stored_sha256: str

    @property
    def ok(self) -> bool:
        """The sandbox stored exactly the bytes that were sent, and lists the upload."""
        listed = any(item.get("file_name") == SAMPLE_CV_NAME for item in self.listing)
        return listed and self.stored_sha256 == self.outcome.sha256


def sample_cv_bytes() -> bytes:
    from importlib.resources import files

    return (files("kombo_cli.sandbox") / "sample-cv.pdf").read_bytes()


def run_demo() -> DemoReport:
    with tempfile.TemporaryDirectory(prefix="kombo-demo-") as temp:
        folder = Path(temp)
        cv = folder / SAMPLE_CV_NAME
        cv.write_bytes(sample_cv_bytes())
        config = SandboxConfig(data_dir=folder / "sandbox-data", port=0)
        with SandboxServer(config) as server:
            # No proxies from the environment: the demo's traffic stays on this machine.
            session = requests.Session()
            session.trust_env = False
            client = KomboClient(
                server.base_url, DEFAULT_API_KEY, DEFAULT_INTEGRATION_ID, session=session
            )
            target = Target.parse(FRANK_DOE_ID, application=False)
            plan = plan_attachment(target, str(cv), attachment_type="CV")
            outcome = upload(client, plan)
            listing = client.list_attachments(target)
            stored = server.store.for_target(target.kind, target.id)
            stored_bytes = stored[-1].data if stored else None
            report = DemoReport(
                base_url=server.base_url,
                outcome=outcome,
                listing=listing,
                stored_sha256=hashlib.sha256(stored_bytes or b"").hexdigest(),
            )
    return report
