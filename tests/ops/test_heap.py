"""Long-running processes freeze what start-up built (veil.ops.heap): collections skip it, and
what requests and jobs allocate afterwards is still collected. Each check runs in a process of
its own: a frozen object is never freed, which the test process must not do to itself."""

from __future__ import annotations

import subprocess
import sys

from tests.compliance.export_support import subprocess_env
from veil.runtime import Runtime


def _run(code: str, env: dict[str, str] | None = None) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [int(word) for word in done.stdout.split()]


def test_garbage_made_after_the_freeze_is_still_collected() -> None:
    frozen, alive, frozen_after = _run(
        "import gc, weakref\n"
        "from veil.ops.heap import freeze_startup_heap\n"
        "import veil.app, veil.tasks\n"
        "freeze_startup_heap()\n"
        "frozen = gc.get_freeze_count()\n"
        "class Node: pass\n"
        "refs = []\n"
        "for _ in range(1000):\n"
        "    a, b = Node(), Node(); a.other, b.other = b, a  # only the collector frees a cycle\n"
        "    refs.append(weakref.ref(a))\n"
        "del a, b\n"
        "gc.collect()\n"
        "print(frozen, sum(ref() is not None for ref in refs), gc.get_freeze_count())\n"
    )
    assert frozen > 10_000  # the modules' objects, at least
    assert alive == 0  # every cycle made after the freeze was freed
    assert frozen_after == frozen


def test_each_process_of_serve_workers_freezes_once_its_app_is_built(
    runtime: Runtime, database_url: str
) -> None:
    env = subprocess_env(runtime, database_url)
    (frozen,) = _run(
        "import gc\n"
        "from veil.ops.serving import SERVED_APP, served_app\n"
        "assert SERVED_APP == 'veil.ops.serving:served_app'\n"
        "served_app()\n"
        "print(gc.get_freeze_count())\n",
        env,
    )
    assert frozen > 10_000


def test_serve_freezes_before_its_embedded_worker_can_run_a_job(
    runtime: Runtime, database_url: str
) -> None:
    """Jobs hold personal data: none of it may be frozen (a frozen cycle is never freed), so
    the heap is frozen once, before the worker threads start, not once the port is bound."""
    env = subprocess_env(runtime, database_url)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, uvicorn\n"
            "from veil.worker import queue\n"
            "seen = []\n"
            "freeze = gc.freeze\n"
            "gc.freeze = lambda: (seen.append('freeze'), freeze())\n"
            "queue.WorkerThreads.start = lambda self: seen.append('start')\n"
            "queue.WorkerThreads.stop = lambda self: None\n"
            "uvicorn.Server.run = lambda self, sockets=None: seen.append('serve')\n"
            "from veil.ops.serving import run_server\n"
            "from veil.runtime import get_runtime\n"
            "run_server(get_runtime(), host='127.0.0.1', port=0, worker=True)\n"
            "print(*seen)\n",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["freeze", "start", "serve"]
