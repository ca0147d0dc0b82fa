"""`veil serve` in a child process on a free loopback port, for the HTTP scenarios."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.backends import Installation
from bench.measure import read_hwm, reset_hwm


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def reset_peak(self) -> None:
        reset_hwm(self.pid)

    def peak_rss(self) -> int:
        return read_hwm(self.pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def veil_server(
    inst: Installation, log: Path, *, worker: bool, **settings: str
) -> Iterator[Server]:
    """Serve the installation; stopped (SIGTERM, then SIGKILL) when the block ends."""
    port = free_port()
    veil = str(Path(sys.executable).parent / "veil")
    args = [veil, "serve", "--port", str(port), *([] if worker else ["--no-worker"])]
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, env=inst.env(**settings), stdout=out, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"veil serve exited:\n{log.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("veil serve did not come up in 120 s")
                time.sleep(0.1)
            yield Server(url=url, process=process)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
