"""kombo's benchmarks: start-up, large uploads, memory and batch throughput, as ratios.

    python bench/run.py            # everything, 5 repeats (a few minutes)
    python bench/run.py --quick    # fewer repeats, smaller files and batches

Each measurement runs kombo and a baseline side by side on the same machine and reports
medians and the ratio between them, because absolute times on a shared machine mean little:

- start-up: `kombo --version`, `kombo --help` and a 1 MB attach, against `python3 -c pass`;
- uploads of 1, 20 and 100 MB: kombo against the shell way (`base64 | curl --data-binary @-`)
  and against Kombo's official Python SDK when it is installed, wall time and peak memory
  (RSS of the process tree, from wait4);
- memory that must stay flat: 100 MB against 1 MB, and a 10,000-row manifest;
- the progress display's cost on a 100 MB upload (run on a pseudo-terminal);
- batch throughput at --concurrency 1, 4, 8, 16 and 30 against a 50 ms-latency server.

The server is the sandbox's, on 127.0.0.1, in this process. Nothing here is a test: the
numbers are printed for a person (and docs/benchmarks.md) to read.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from batch import CANDIDATE_ID, measure_batch

from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.server import SandboxServer

BIN = Path(sys.executable).parent
KOMBO = str(BIN / "kombo")
PYTHON = sys.executable
KEY = "bench-key"
INTEGRATION = "bench:local"
MIB = 1024 * 1024


@dataclass
class Sample:
    wall_s: float
    max_rss_mib: float


# Runs the command in a fresh, small process and reports its wall time and peak RSS. A child
# forked straight from this (large) benchmark process would inherit this process's memory
# high-water mark into ru_maxrss, and every number would read too high.
_LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
sys.stderr.write("\\nBENCH %f %d\\n" % (wall, usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(argv: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """Run a process to the end; its wall time and the peak RSS of it and its children."""
    completed = subprocess.run(
        [PYTHON, "-S", "-c", _LAUNCHER, *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    error = completed.stderr.decode(errors="replace")
    if completed.returncode != 0:
        raise SystemExit(f"{shlex.join(argv)} exited {completed.returncode}: {error[-2000:]}")
    _, wall, max_rss_kib = error.rstrip().rsplit("\n", 1)[-1].split()
    # ru_maxrss is in KiB on Linux: the largest of the process and the children it waited
    # for (for a shell pipeline: base64 or curl).
    return Sample(float(wall), int(max_rss_kib) / 1024)


def median(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.wall_s for s in samples),
        statistics.median(s.max_rss_mib for s in samples),
    )


class Sink:
    """The sandbox on loopback, storing uploads in a scratch folder."""

    def __init__(self, folder: Path, latency_s: float = 0.0) -> None:
        self.server = SandboxServer(
            SandboxConfig(
                data_dir=folder, api_key=KEY, integration_id=INTEGRATION, latency_s=latency_s
            )
        )

    def __enter__(self) -> Sink:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KOMBO_BASE_URL": self.server.base_url,
            "KOMBO_API_KEY": KEY,
            "KOMBO_INTEGRATION_ID": INTEGRATION,
            "NO_COLOR": "1",
        }

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/ats/candidates/{CANDIDATE_ID}/attachments"


def make_file(folder: Path, size: int) -> Path:
    path = folder / f"cv-{size // MIB}mb.pdf"
    with open(path, "wb") as handle:
        handle.write(b"%PDF-1.4\n")
        remaining = size - 9
        block = os.urandom(MIB)
        while remaining > 0:
            handle.write(block[: min(MIB, remaining)])
            remaining -= MIB
    return path


def row(label: str, sample: Sample, baseline: Sample | None, rss: bool = True) -> None:
    ratio = f"{sample.wall_s / baseline.wall_s:6.1f}x" if baseline else "      -"
    memory = f"{sample.max_rss_mib:8.1f} MiB" if rss else ""
    print(f"  {label:<44} {sample.wall_s * 1000:9.1f} ms  {ratio}  {memory}")


# -- sections -------------------------------------------------------------------------------


def startup(sink: Sink, folder: Path, repeat: int) -> None:
    print("\nStart-up (median wall time; ratio to python3 -c pass)")
    one_mb = make_file(folder, MIB)
    cases = {
        "python3 -c pass": [PYTHON, "-c", "pass"],
        "kombo --version": [KOMBO, "--version"],
        "kombo --help": [KOMBO, "--help"],
        "kombo attach (1 MB, end to end)": [KOMBO, "attach", CANDIDATE_ID, str(one_mb), "-q"],
    }
    samples: dict[str, list[Sample]] = {name: [] for name in cases}
    for _ in range(repeat):
        # Interleaved, so a noisy moment hits every case alike.
        for name, argv in cases.items():
            samples[name].append(run_measured(argv, env=sink.env))
    baseline = median(samples["python3 -c pass"])
    for name in cases:
        row(name, median(samples[name]), baseline)


def uploads(sink: Sink, folder: Path, repeat: int, sizes_mb: Sequence[int]) -> None:
    print("\nUploads (median wall time, ratio to the curl pipeline, peak RSS)")
    has_curl = shutil.which("curl") is not None and shutil.which("base64") is not None
    sdk = _sdk_available()
    for size_mb in sizes_mb:
        path = make_file(folder, size_mb * MIB)
        cases: dict[str, list[str]] = {}
        if has_curl:
            cases["curl pipeline (base64 | curl @-)"] = ["sh", "-c", _curl_pipeline(sink, path)]
        cases["kombo attach"] = [KOMBO, "attach", CANDIDATE_ID, str(path), "-q"]
        if sdk:
            cases["official SDK (kombo 1.x)"] = [PYTHON, "-c", _sdk_script(sink, path)]
        samples: dict[str, list[Sample]] = {name: [] for name in cases}
        for _ in range(repeat):
            for name, argv in cases.items():
                samples[name].append(run_measured(argv, env=sink.env))
        print(f" {size_mb} MB")
        baseline = median(samples[next(iter(cases))]) if has_curl else None
        for name in cases:
            row(name, median(samples[name]), baseline)
        _clear(sink)


def flat_memory(sink: Sink, folder: Path, repeat: int, rows: int) -> None:
    print("\nMemory that must stay flat (peak RSS of kombo)")
    small = make_file(folder, MIB)
    large = make_file(folder, 100 * MIB)
    one = median(
        [
            run_measured([KOMBO, "attach", CANDIDATE_ID, str(small), "-q"], env=sink.env)
            for _ in range(repeat)
        ]
    )
    hundred = median(
        [
            run_measured([KOMBO, "attach", CANDIDATE_ID, str(large), "-q"], env=sink.env)
            for _ in range(repeat)
        ]
    )
    print(
        f"  1 MB attach {one.max_rss_mib:.1f} MiB; 100 MB attach {hundred.max_rss_mib:.1f} MiB"
        f" (+{hundred.max_rss_mib - one.max_rss_mib:.1f} MiB)"
    )
    _clear(sink)
    manifest = folder / "manifest.csv"
    tiny = folder / "tiny.pdf"
    tiny.write_bytes(b"%PDF-1.4\n" + b"x" * 1000)
    with open(manifest, "w") as handle:
        handle.write("candidate_id,file,name\n")
        for number in range(rows):
            handle.write(f"{CANDIDATE_ID},tiny.pdf,cv-{number}.pdf\n")
    sample = run_measured(
        [KOMBO, "attach", "--manifest", str(manifest), "-q", "--concurrency", "16"], env=sink.env
    )
    print(
        f"  {rows}-row manifest at --concurrency 16: {sample.max_rss_mib:.1f} MiB peak,"
        f" {sample.wall_s:.1f} s"
    )
    _clear(sink)


def progress_cost(sink: Sink, folder: Path, repeat: int) -> None:
    print("\nProgress display on a terminal (100 MB attach, pseudo-terminal vs pipe)")
    import pty

    path = make_file(folder, 100 * MIB)
    argv = [KOMBO, "attach", CANDIDATE_ID, str(path)]
    piped, on_terminal = [], []
    for _ in range(repeat):
        piped.append(run_measured(argv, env=sink.env))
        leader, follower = pty.openpty()
        try:
            env = {**sink.env, "TERM": "xterm", "COLUMNS": "100"}
            env.pop("NO_COLOR")
            started = time.perf_counter()
            process = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower
            )
            os.close(follower)
            follower = -1
            while True:  # drain the terminal, or the process blocks writing to it
                try:
                    if not os.read(leader, 65536):
                        break
                except OSError:
                    break
            process.wait()
            on_terminal.append(Sample(time.perf_counter() - started, 0.0))
        finally:
            os.close(leader)
            if follower >= 0:
                os.close(follower)
    base, shown = median(piped), median(on_terminal)
    row("kombo attach, output piped", base, None, rss=False)
    row("kombo attach, progress bar on a terminal", shown, base, rss=False)
    _clear(sink)


def batches(repeat: int, files: int) -> None:
    print(f"\nBatch throughput ({files} files of 10 kB, 50 ms latency per request)")
    with tempfile.TemporaryDirectory(prefix="kombo-bench-batch-") as scratch:
        results = measure_batch(Path(scratch), files, 10_000, 0.05, repeat)
    baseline = results[1]
    print(f"  {'concurrency':>11}  {'upload phase':>12}  {'files/s':>8}  {'speed-up':>8}")
    for concurrency, elapsed in results.items():
        print(
            f"  {concurrency:>11}  {elapsed:>10.2f} s  {files / elapsed:>8.1f}"
            f"  {baseline / elapsed:>7.1f}x"
        )


# -- helpers --------------------------------------------------------------------------------


def _curl_pipeline(sink: Sink, path: Path) -> str:
    prefix = '{"attachment":{"name":"cv.pdf","type":"CV","content_type":"application/pdf","data":"'
    return (
        f"{{ printf '%s' {shlex.quote(prefix)}; base64 -w0 {shlex.quote(str(path))};"
        " printf '\"}}'; } | curl -sS -f -o /dev/null -X POST"
        f" -H 'Authorization: Bearer {KEY}' -H 'X-Integration-Id: {INTEGRATION}'"
        " -H 'Content-Type: application/json' --data-binary @-"
        f" {shlex.quote(sink.url)}"
    )


def _sdk_available() -> bool:
    probe = subprocess.run([PYTHON, "-c", "import kombo"], capture_output=True, check=False)
    return probe.returncode == 0


def _sdk_script(sink: Sink, path: Path) -> str:
    return (
        "import base64, kombo\n"
        f"client = kombo.Kombo(api_key={KEY!r}, integration_id={INTEGRATION!r},"
        f" server_url={sink.server.base_url!r})\n"
        f"data = base64.b64encode(open({str(path)!r}, 'rb').read()).decode()\n"
        f"client.ats.add_candidate_attachment(candidate_id={CANDIDATE_ID!r}, attachment="
        "{'name': 'cv.pdf', 'type': 'CV', 'content_type': 'application/pdf', 'data': data})\n"
    )


def _clear(sink: Sink) -> None:
    """Drop what the sink stored, so the disk does not fill up over a long run."""
    folder = sink.server.config.data_dir / "candidates"
    shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller inputs")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    repeat = args.repeat or (3 if args.quick else 5)
    sizes = (1, 20) if args.quick else (1, 20, 100)
    print(
        f"kombo benchmarks on {platform.node() or 'this machine'}: {platform.platform()},"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()}; median of {repeat}"
    )
    with tempfile.TemporaryDirectory(prefix="kombo-bench-") as scratch:
        folder = Path(scratch)
        with Sink(folder / "sink") as sink:
            startup(sink, folder, repeat)
            uploads(sink, folder, repeat, sizes)
            flat_memory(sink, folder, min(repeat, 3), 2_000 if args.quick else 10_000)
            progress_cost(sink, folder, min(repeat, 3))
    batches(min(repeat, 3), 50 if args.quick else 200)
    return 0


if __name__ == "__main__":
    sys.exit(main())
