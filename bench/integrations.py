"""Throughput across customers: one manifest over many integrations, against one alone.

    python bench/integrations.py [--integrations 10] [--limit 30] [--latency-ms 500]
                                 [--files 3000] [--concurrency 300] [--repeat 3]

Kombo limits the actions in flight per integration (30 by default), so a run for one
customer can go no faster than limit / latency, and a run across N customers up to N times
that, within `--concurrency` for the whole run. This starts `kombo sandbox` as a process of
its own (its work must not share an interpreter with the measuring), serving N
integrations, each limited to `--limit` in flight and answering after `--latency-ms`; writes
a manifest whose rows go to the integrations in turn; and runs the installed
`kombo attach --manifest FILE --concurrency C --json`, reporting:

- files per second for one integration alone, against its ideal, limit / latency;
- files per second for N integrations, against the ideal min(C, N x limit) / latency,
  and the ratio to one alone;
- kombo's peak memory (RSS) with the same rows spread over 1, N and 10 x N integrations,
  which should stay flat.

The upload phase is the JSON summary's `elapsed_s` (first request to last answer), the
median of the repeats. Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from run import run_measured

KOMBO = shutil.which("kombo", path=str(Path(sys.executable).parent)) or "kombo"
KEY = "bench-key"


@dataclass(frozen=True)
class Measured:
    files_per_s: float
    max_rss_mib: float


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--integrations", type=int, default=10)
    parser.add_argument("--limit", type=int, default=30, help="in flight per integration")
    parser.add_argument("--latency-ms", type=float, default=500.0)
    parser.add_argument("--files", type=int, default=3000, help="for the many-integration run")
    parser.add_argument("--size", type=int, default=10_000, help="bytes per file")
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    latency_s = args.latency_ms / 1000
    many = args.integrations
    ideal_alone = args.limit / latency_s
    ideal_many = min(args.concurrency, many * args.limit) / latency_s
    # One integration alone takes a fifth of the files: at its pace the whole set would
    # take minutes, and files per second is what is compared.
    alone_files = max(args.limit * 10, args.files // 5)

    print(
        f"{many} integrations limited to {args.limit} in flight each, {args.latency_ms:g} ms"
        f" latency per request, files of {args.size} bytes, --concurrency"
        f" {args.concurrency}; median of {args.repeat}"
    )
    with tempfile.TemporaryDirectory(prefix="kombo-bench-many-") as scratch:
        folder = Path(scratch)
        files = _make_files(folder / "files", args.files, args.size)
        bench = Bench(folder, args.limit, latency_s, args.concurrency, args.repeat)
        alone = bench.measure(files[:alone_files], 1)
        spread = bench.measure(files, many)
        wider = bench.measure(files, many * 10)
        split = bench.measure(files, many, shards=2)

    print(f"\n  {'run':<34} {'files/s':>8}  {'ideal':>7}  {'of ideal':>8}  {'peak RSS':>9}")
    split_ideal = min(2 * args.concurrency, many * args.limit) / latency_s
    rows = (
        ("1 integration", alone, ideal_alone),
        (f"{many} integrations", spread, ideal_many),
        (
            f"{many * 10} integrations",
            wider,
            min(args.concurrency, many * 10 * args.limit) / latency_s,
        ),
        (f"{many} integrations, 2 processes", split, split_ideal),
    )
    for label, measured, ideal in rows:
        print(
            f"  {label:<34} {measured.files_per_s:>8.1f}  {ideal:>7.0f}  "
            f"{measured.files_per_s / ideal:>7.0%}  {measured.max_rss_mib:>6.1f} MiB"
        )
    print(
        f"\n  {many} integrations against 1 alone: {spread.files_per_s / alone.files_per_s:.1f}x"
        f" (ideal {ideal_many / ideal_alone:.1f}x)"
    )
    print(
        f"  peak RSS, 1 / {many} / {many * 10} integrations: {alone.max_rss_mib:.1f} /"
        f" {spread.max_rss_mib:.1f} / {wider.max_rss_mib:.1f} MiB"
    )
    return 0


class Bench:
    def __init__(
        self, folder: Path, limit: int, latency_s: float, concurrency: int, repeat: int
    ) -> None:
        self.folder = folder
        self.limit = limit
        self.latency_s = latency_s
        self.concurrency = concurrency
        self.repeat = repeat

    def measure(self, files: list[Path], integrations: int, shards: int = 1) -> Measured:
        """Median files/s and peak RSS over the repeats, each against a fresh sandbox; with
        `shards`, that many processes side by side, each with `--shard K/shards`."""
        samples = [
            self._once(files, integrations, attempt, shards) for attempt in range(self.repeat)
        ]
        return Measured(
            statistics.median(sample.files_per_s for sample in samples),
            statistics.median(sample.max_rss_mib for sample in samples),
        )

    def _once(self, files: list[Path], integrations: int, attempt: int, shards: int) -> Measured:
        names = [f"bench:customer-{n:03d}" for n in range(integrations)]
        data_dir = self.folder / f"data-{integrations}-{shards}-{attempt}"
        with Sandbox(data_dir, names, self.limit, self.latency_s) as sandbox:
            manifest = self._manifest(files, sandbox.candidates, data_dir)
            env = {**os.environ, "KOMBO_BASE_URL": sandbox.base_url, "KOMBO_API_KEY": KEY}
            env.pop("KOMBO_INTEGRATION_ID", None)
            outs = [data_dir / f"results-{shard}.jsonl" for shard in range(1, shards + 1)]
            commands = []
            for shard, out in enumerate(outs, start=1):
                command = [KOMBO, "attach", "--manifest", str(manifest), "--json", "-q"]
                command += ["--concurrency", str(self.concurrency)]
                if shards > 1:
                    command += ["--shard", f"{shard}/{shards}"]
                commands.append(f"{shlex.join(command)} > {shlex.quote(str(out))}")
            # Side by side; the peak RSS is the largest of the processes'.
            sample = run_measured(["sh", "-c", " & ".join(commands) + " & wait"], env)
            summaries = [json.loads(out.read_text().splitlines()[-1])["summary"] for out in outs]
        shutil.rmtree(data_dir, ignore_errors=True)
        if sum(summary["succeeded"] for summary in summaries) != len(files):
            raise SystemExit(f"not every file was attached: {summaries}")
        elapsed = max(float(summary["elapsed_s"]) for summary in summaries)
        return Measured(len(files) / elapsed, sample.max_rss_mib)

    @staticmethod
    def _manifest(files: list[Path], candidates: dict[str, list[str]], folder: Path) -> Path:
        """Rows in turn to each integration, each to one of its candidates."""
        path = folder / "manifest.csv"
        names = list(candidates)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["integration_id", "candidate_id", "file"])
            for number, file in enumerate(files):
                integration = names[number % len(names)]
                own = candidates[integration]
                writer.writerow([integration, own[(number // len(names)) % len(own)], file])
        return path


class Sandbox:
    """`kombo sandbox` in a process of its own, serving the given integrations."""

    def __init__(self, data_dir: Path, integrations: list[str], limit: int, latency_s: float):
        self.data_dir = data_dir
        self.integrations = integrations
        arguments = [KOMBO, "sandbox", "--port", "0", "--key", KEY, "--data-dir", str(data_dir)]
        arguments += ["--latency-ms", f"{latency_s * 1000:g}", "--concurrency-limit", str(limit)]
        for integration in integrations:
            arguments += ["--integration-id", integration]
        self._arguments = arguments
        self.base_url = ""
        self.candidates: dict[str, list[str]] = {}
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sandbox:
        self._process = subprocess.Popen(
            self._arguments, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self._process.stdout is not None
        for line in iter(self._process.stdout.readline, b""):
            text = line.decode()
            if "KOMBO_BASE_URL=" in text:
                self.base_url = text.split("KOMBO_BASE_URL=", 1)[1].split()[0]
            if text.startswith("Press Ctrl-C to stop."):
                break
        if not self.base_url:
            raise SystemExit("kombo sandbox did not start")
        self.candidates = {name: _candidate_ids(name) for name in self.integrations}
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)


def _candidate_ids(integration: str) -> list[str]:
    """The sample candidates the sandbox serves for this integration (their IDs follow from
    the integration's, so they are known without asking)."""
    from kombo_cli.sandbox.sample_candidates import sample_candidates_for

    return [candidate["id"] for candidate in sample_candidates_for(integration)]


def _make_files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for number in range(count):
        path = folder / f"report-{number:05d}.pdf"
        path.write_bytes(b"%PDF-1.4\n" + os.urandom(max(0, size - 9)))
        files.append(path)
    return files


if __name__ == "__main__":
    sys.exit(main())
