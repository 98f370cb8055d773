"""Sum the RSS and CPU of a process tree (an iso15118 process and its JVM) every 0.5 s."""

import sys
import time

import psutil


def main(pid: int) -> None:
    root = psutil.Process(pid)
    peak = 0
    began = time.monotonic()
    while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
        try:
            procs = [root, *root.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in procs)
            cpu = sum(sum(p.cpu_times()[:2]) for p in procs)
            names = ",".join(sorted({p.name() for p in procs}))
        except psutil.Error:
            break
        peak = max(peak, rss)
        at = time.monotonic() - began
        print(f"{at:6.1f}s rss={rss / 2**20:7.1f} MiB cpu={cpu:6.2f}s {names}", flush=True)
        time.sleep(0.5)
    print(f"peak rss {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]))
