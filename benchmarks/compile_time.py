"""Where a fresh install's first run spends its time: the functions Numba compiles, and how long
each takes, for the tiny run of the first-run target (1,000 customers, 4 weeks, one replicate)
with empty Numba and graph caches.

    python benchmarks/compile_time.py          # about a minute

Times are inclusive (a function's time holds the compilation of the functions it calls first),
from Numba's own compile events; the whole process's wall time and the machine's load come first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["run", str(ROOT / "scenarios" / "baseline.toml"), "--set", "network.n=1000",
           "--weeks", "4", "--reps", "1", "--force"]
SHOWN = 25


def profile(out: str) -> None:
    """Run the command here, recording every compilation, and print the longest."""
    from numba.core import event

    started: dict[str, list[float]] = {}  # by function: the start of each compilation under way
    seconds: dict[str, list[float]] = {}

    class Recorder(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            name = ev.data["dispatcher"].py_func.__qualname__
            started.setdefault(name, []).append(time.perf_counter())

        def on_end(self, ev: event.Event) -> None:
            name = ev.data["dispatcher"].py_func.__qualname__
            seconds.setdefault(name, []).append(time.perf_counter() - started[name].pop())

    event.register("numba:compile", Recorder())
    from sim.app.cli import main

    began = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            main([*COMMAND, "--out", out])
        finally:
            sys.stdout = stdout
    total = time.perf_counter() - began
    print(f"first run, fresh caches: {total:.1f} s in the command, load {os.getloadavg()[0]:.2f}")
    print(f"{'seconds':>8} {'times':>5}  function (inclusive of what it compiles first)")
    for name, spans in sorted(seconds.items(), key=lambda item: -sum(item[1]))[:SHOWN]:
        print(f"{sum(spans):8.2f} {len(spans):5d}  {name}")


def main() -> None:
    if len(sys.argv) > 1:  # the child, with the empty caches in its environment
        profile(sys.argv[1])
        return
    with tempfile.TemporaryDirectory(prefix="womsim_compile_") as scratch:
        env = {**os.environ, "NUMBA_CACHE_DIR": f"{scratch}/numba",
               "WOMSIM_CACHE_DIR": f"{scratch}/graphs"}
        began = time.perf_counter()
        subprocess.run([sys.executable, __file__, f"{scratch}/out"], env=env, check=True)
        print(f"whole process: {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
