"""kombo as a Python library: the same uploads, rules and exactly-once delivery as the CLI.

    from kombo_cli import Kombo

    with Kombo.from_env() as kombo:            # KOMBO_* variables, ./.env, a stored profile
        result = kombo.attach("GRKdd9dibYKKCrmGRSMJf3wu", "cv.pdf", type="CV")
        print(result.to_json())                # the object `kombo attach --json` prints

The command line is a thin layer over this module (`kombo attach` runs `Kombo.batch`);
docs/library.md shows the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from kombo_cli.api.client import KomboClient
from kombo_cli.api.defaults import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_S, MAX_CONCURRENCY
from kombo_cli.api.retry import DEFAULT_RETRIES, SETTLE_DELAY_S, RetryPolicy, call_idempotent
from kombo_cli.api.targets import APPLICATION, CANDIDATE, Target
from kombo_cli.config.settings import (
    DEFAULT_REGION,
    ENV_API_KEY,
    ENV_INTEGRATION_ID,
    REGION_BASE_URLS,
    InvalidSetting,
    SettingFlags,
    Settings,
    normalize_base_url,
    normalize_credential,
    normalize_integration_id,
    normalize_region,
    resolve_settings,
)
from kombo_cli.env import Environment
from kombo_cli.errors import ConfigError
from kombo_cli.upload.batch import BatchRun
from kombo_cli.upload.files import LocalFile
from kombo_cli.upload.integrations import Connections, Lanes, RunOptions, run_lanes
from kombo_cli.upload.journal import Journal
from kombo_cli.upload.plan import DEFAULT_ATTACHMENT_TYPE, RunDefaults
from kombo_cli.upload.request import AttachRequest, repeated_targets
from kombo_cli.upload.result import AttachResult
from kombo_cli.upload.resume import Resumption
from kombo_cli.upload.run import RunObserver


class Kombo:
    """A connection to Kombo with one key, for attaching files and listing attachments.

    `integration_id` is the integration requests go to unless one names its own
    (`AttachRequest(..., integration_id=...)`, a manifest's `integration_id` column).

    Thread-safe. Everything done through one object counts as one run: uploads share one
    pool of connections, each integration has one limit on what is in flight (adapted to
    Kombo's concurrency limit for it) under `concurrency` for the whole object, and a lost
    reply is checked against what the object itself has stored. Close it (or use it in a
    `with` block) to release the connections.
    """

    def __init__(
        self,
        api_key: str,
        integration_id: str,
        *,
        region: str = DEFAULT_REGION,
        base_url: str | None = None,
        retries: int = DEFAULT_RETRIES,
        settle_delay_s: float = SETTLE_DELAY_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        concurrency: int = DEFAULT_CONCURRENCY,
        observer: RunObserver | None = None,
    ) -> None:
        """`base_url` (with /v1) wins over `region` (eu, us or ca). Raises ConfigError for
        a value kombo would refuse from any other source, ValueError for a bad number."""
        try:
            key = normalize_credential(api_key, "API key")
            integration = normalize_integration_id(integration_id)
            url = (
                normalize_base_url(base_url)
                if base_url is not None
                else REGION_BASE_URLS[normalize_region(region)]
            )
        except InvalidSetting as invalid:
            raise ConfigError(invalid.message, hint=invalid.hint) from None
        policy = RetryPolicy(retries=retries, settle_delay_s=settle_delay_s)
        self._connect(key, integration, url, policy, timeout_s, concurrency, observer)

    def _connect(
        self,
        api_key: str | None,
        integration_id: str | None,
        base_url: str,
        policy: RetryPolicy,
        timeout_s: float,
        concurrency: int,
        observer: RunObserver | None,
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be from 1 to {MAX_CONCURRENCY}")
        if policy.retries < 0 or not 0 <= policy.settle_delay_s < float("inf"):
            raise ValueError("retries and settle_delay_s must be 0 or more")
        if not 0 < timeout_s < float("inf"):
            raise ValueError("timeout_s must be more than 0")
        self.base_url = base_url
        self.integration_id = integration_id
        self.policy = policy
        self.concurrency = concurrency
        self.observer = observer or RunObserver()
        self._api_key = api_key
        self._journals: list[Journal] = []
        self._connections = Connections(
            base_url,
            api_key,
            policy,
            timeout_s=timeout_s,
            concurrency=concurrency,
        )
        own = self._connections.get(integration_id) if integration_id is not None else None
        # The default integration's client, for what is not a run (listings, checks).
        self.client: KomboClient | None = own.client if own is not None else None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retries: int = DEFAULT_RETRIES,
        settle_delay_s: float = SETTLE_DELAY_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        concurrency: int = DEFAULT_CONCURRENCY,
        observer: RunObserver | None = None,
        require_credentials: bool = True,
    ) -> Kombo:
        """From resolved settings (their values are checked already). Without
        `require_credentials`, a missing key is allowed for what sends nothing (a dry run);
        anything that would send then raises ConfigError."""
        if require_credentials:
            settings.require_credentials()
        kombo = cls.__new__(cls)
        kombo._connect(
            settings.api_key.value,
            settings.integration_id.value,
            settings.base_url_value,
            RetryPolicy(retries=retries, settle_delay_s=settle_delay_s),
            timeout_s,
            concurrency,
            observer,
        )
        return kombo

    @classmethod
    def from_env(
        cls,
        *,
        profile: str | None = None,
        env_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        retries: int = DEFAULT_RETRIES,
        settle_delay_s: float = SETTLE_DELAY_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        concurrency: int = DEFAULT_CONCURRENCY,
        observer: RunObserver | None = None,
    ) -> Kombo:
        """Settings as the CLI finds them: environment variables, then ./.env (or
        `env_file`), then the stored profile, then defaults. `environ` and `cwd` default to
        this process's. What is worth knowing (a key file others can read, a profile that
        does not exist) goes to the observer's `warning`. Raises ConfigError."""
        process = Environment.from_process()
        settings = resolve_settings(
            SettingFlags(env_file=env_file, profile=profile),
            process.environ if environ is None else environ,
            process.cwd if cwd is None else cwd,
        )
        kombo = cls.from_settings(
            settings,
            retries=retries,
            settle_delay_s=settle_delay_s,
            timeout_s=timeout_s,
            concurrency=concurrency,
            observer=observer,
        )
        for warning in settings.warnings:
            kombo.observer.warning(warning)
        return kombo

    def __repr__(self) -> str:
        # Never the key: a repr ends up in logs and tracebacks.
        return f"Kombo(base_url={self.base_url!r}, integration_id={self.integration_id!r})"

    def __enter__(self) -> Kombo:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._connections.close()
        for journal in self._journals:
            journal.close()
        self._journals.clear()

    # -- uploads ---------------------------------------------------------------------------

    def attach(
        self,
        target_id: str,
        source: str | Path | None = None,
        *,
        url: str | None = None,
        application: bool = False,
        type: str = DEFAULT_ATTACHMENT_TYPE,
        name: str | None = None,
        content_type: str | None = None,
        remote_fields: dict[str, Any] | None = None,
        skip_existing: bool = False,
        verify: bool = False,
    ) -> AttachResult:
        """Attach one local file (`source`) or URL to a candidate (an application with
        `application=True`). Returns the result; raises the KomboError when it fails."""
        request = AttachRequest(
            APPLICATION if application else CANDIDATE, target_id, file=source, url=url, name=name
        )
        lanes = self._lanes(
            RunDefaults(type, content_type, remote_fields),
            skip_existing=skip_existing,
            name_items=False,
            verify=verify,
        )
        result = lanes.lane(self.integration_id).pipeline.process(request)
        if result.error is not None:
            raise result.error
        return dataclasses.replace(result, integration_id=self.integration_id)

    def attach_many(
        self,
        requests: Iterable[AttachRequest],
        *,
        type: str = DEFAULT_ATTACHMENT_TYPE,
        content_type: str | None = None,
        remote_fields: dict[str, Any] | None = None,
        skip_existing: bool = False,
        fail_fast: bool = False,
        list_first: bool = False,
        journal: Path | None = None,
        verify: bool = False,
    ) -> Iterator[AttachResult]:
        """Attach every request, `concurrency` at a time, yielding each result (failures
        too, with `.error`) as it finishes; uploads start as the results are asked for.
        `type`, `content_type` and `remote_fields` apply to requests that leave them out.

        Leaving the loop early starts no more uploads and waits for those in flight. Ctrl-C
        while waiting for a result yields the results that finished meanwhile, then raises
        Interrupted naming the uploads that may or may not have been stored."""
        # Known in advance only for a list: a stream is not read ahead.
        repeated = repeated_targets(requests) if isinstance(requests, Sequence) else frozenset()
        batch = self.batch(
            RunDefaults(type, content_type, remote_fields),
            skip_existing=skip_existing,
            fail_fast=fail_fast,
            list_first=list_first,
            journal=journal,
            repeated_targets=repeated,
            verify=verify,
        )
        try:
            yield from batch.results(requests)
        except KeyboardInterrupt:
            yield from batch.finish_after_interrupt()
            raise batch.interruption(single=False) from None

    def batch(
        self,
        defaults: RunDefaults,
        *,
        skip_existing: bool = False,
        fail_fast: bool = False,
        dry_run: bool = False,
        resolve: bool = False,
        preview_single: bool = False,
        stdin_file: LocalFile | None = None,
        name_items: bool = True,
        list_first: bool = False,
        journal: Path | None = None,
        repeated_targets: Iterable[tuple[str, str]] = (),
        verify: bool = False,
    ) -> BatchRun:
        """A run of many entries, for callers that report as it goes and sum up at the end
        (`kombo attach` is one): `results()`, the `tally`, and what Ctrl-C leaves behind.

        `dry_run` sends nothing (with `resolve`, it makes the read-only lookups and
        listings a real run would); `preview_single` adds the request that would be sent to
        each result; `stdin_file` is standard input, captured, for a request whose file is
        "-"; `name_items` prefixes a plan's warnings with the request they are about;
        `list_first` lists every target before its first upload; `journal` is the file
        --journal names (see `kombo_cli.upload.journal`); `repeated_targets` are the
        (kind, value) targets several entries name, listed before their first upload."""
        lanes = self._lanes(
            defaults,
            skip_existing=skip_existing,
            stdin_file=stdin_file,
            name_items=name_items,
            list_first=list_first,
            journal=journal,
            verify=verify,
            repeated_targets=frozenset(repeated_targets),
        )
        shown = (self.base_url, self._api_key, self.integration_id)
        return BatchRun(
            lanes,
            workers=self.concurrency,
            fail_fast=fail_fast,
            dry_run=dry_run,
            resolve=resolve,
            request_preview=(lambda plan: plan.preview(*shown)) if preview_single else None,
        )

    def _lanes(
        self,
        defaults: RunDefaults,
        *,
        skip_existing: bool = False,
        stdin_file: LocalFile | None = None,
        name_items: bool = True,
        list_first: bool = False,
        journal: Path | None = None,
        verify: bool = False,
        repeated_targets: frozenset[tuple[str, str]] = frozenset(),
    ) -> Lanes:
        """One run's lanes: a pipeline per integration, made when a request names it."""
        opened = None
        if journal is not None:
            opened = Resumption.open(journal, self.observer.warning).journal
            self._journals.append(opened)
        return run_lanes(
            self._connections,
            self.integration_id,
            RunOptions(
                defaults,
                self.policy,
                self.observer,
                skip_existing=skip_existing,
                stdin_file=stdin_file,
                name_items=name_items,
                list_first=list_first,
                verify=verify,
                repeated_targets=repeated_targets,
            ),
            journal=opened,
        )

    # -- reading ---------------------------------------------------------------------------

    def list_attachments(
        self, target_id: str, *, application: bool = False
    ) -> list[dict[str, Any]]:
        """The attachments Kombo lists for a candidate (with their applications' files) or
        an application; a live call to the ATS, retried when that is safe."""
        target = Target.parse(target_id, application=application)
        client = self._client()
        return call_idempotent(
            lambda: client.list_attachments(target),
            self.policy,
            what="listing the attachments",
            on_retry=lambda notice: self.observer.retrying(str(target), notice),
        )

    def find_candidate(self, email: str) -> str:
        """The ID of the one candidate with this email address (LookupFailed otherwise)."""
        pipeline = self._lanes(RunDefaults()).lane(self.integration_id).pipeline
        return pipeline.find_candidate(email).id

    def check_api_key(self) -> dict[str, Any]:
        """What Kombo says about the key (`environment_id`); raises the KomboError."""
        data = self._client(general=True).check_api_key().data
        return data if isinstance(data, dict) else {}

    def integration_details(self, integration_id: str | None = None) -> dict[str, Any]:
        """An integration (default: this object's): its tool, status, setup status and which
        actions it allows. Thread-safe; raises the KomboError."""
        about = integration_id or self.integration_id
        if about is None:
            raise ConfigError(f"{ENV_INTEGRATION_ID} is not set, and no integration_id given.")
        data = self._client(general=True).integration_details(about).data
        return data if isinstance(data, dict) else {}

    def _client(self, *, general: bool = False) -> KomboClient:
        # `general`: the client for what is about no one integration (no X-Integration-Id).
        client = self._connections.general() if general else self.client
        if client is None:
            missing = ENV_API_KEY if general or self._api_key is None else ENV_INTEGRATION_ID
            raise ConfigError(f"{missing} is not set.")
        return client
