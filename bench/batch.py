"""Batch throughput: files per second against a loopback Kombo with 50 ms latency.

    python bench/batch.py [--files 200] [--size 10000] [--latency-ms 50] [--repeat 3]

Starts the sandbox's server on 127.0.0.1 with a fixed latency per request, makes the test
files, and runs the installed `kombo attach --concurrency N --json` for N in 1, 4, 8, 16
and 30. It reports the upload phase (`elapsed_s` of the JSON summary: first request to
last answer), as files per second and as a speed-up over --concurrency 1, medians of the
repeats. Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.server import SandboxServer

KOMBO = shutil.which("kombo", path=str(Path(sys.executable).parent)) or "kombo"
CANDIDATE_ID = "GRKdd9dibYKKCrmGRSMJf3wu"
CONCURRENCIES = (1, 4, 8, 16, 30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=10_000, help="bytes per file")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(
        f"{args.files} files of {args.size} bytes, {args.latency_ms:g} ms latency per"
        f" request, median of {args.repeat}"
    )
    with tempfile.TemporaryDirectory(prefix="kombo-bench-") as scratch:
        results = measure_batch(
            Path(scratch), args.files, args.size, args.latency_ms / 1000, args.repeat
        )
    print(f"{'concurrency':>11}  {'upload phase':>12}  {'files/s':>8}  {'speed-up':>8}")
    baseline = results[CONCURRENCIES[0]]
    for concurrency, elapsed in results.items():
        print(
            f"{concurrency:>11}  {elapsed:>10.2f} s  {args.files / elapsed:>8.1f}"
            f"  {baseline / elapsed:>7.1f}x"
        )
    return 0


def measure_batch(
    folder: Path, count: int, size: int, latency_s: float, repeat: int
) -> dict[int, float]:
    """The median upload phase, in seconds, per concurrency."""
    files = _make_files(folder / "files", count, size)
    return {
        concurrency: statistics.median(
            _run(folder, files, concurrency, latency_s, attempt) for attempt in range(repeat)
        )
        for concurrency in CONCURRENCIES
    }


def _make_files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for number in range(count):
        path = folder / f"cv-{number:05d}.pdf"
        path.write_bytes(b"%PDF-1.4\n" + os.urandom(max(0, size - 9)))
        files.append(path)
    return files


def _run(
    folder: Path, files: list[Path], concurrency: int, latency_s: float, attempt: int
) -> float:
    data_dir = folder / f"data-{concurrency}-{attempt}"
    config = SandboxConfig(
        data_dir=data_dir, api_key="bench-key", integration_id="bench:local", latency_s=latency_s
    )
    with SandboxServer(config) as server:
        env = {
            **os.environ,
            "KOMBO_BASE_URL": server.base_url,
            "KOMBO_API_KEY": "bench-key",
            "KOMBO_INTEGRATION_ID": "bench:local",
        }
        completed = subprocess.run(
            [
                KOMBO,
                "attach",
                CANDIDATE_ID,
                *map(str, files),
                "--json",
                "-q",
                "--concurrency",
                str(concurrency),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    if completed.returncode != 0:
        raise SystemExit(f"kombo exited {completed.returncode}: {completed.stderr[-2000:]}")
    summary = json.loads(completed.stdout.splitlines()[-1])["summary"]
    assert summary["succeeded"] == len(files), summary
    return float(summary["elapsed_s"])


if __name__ == "__main__":
    sys.exit(main())
