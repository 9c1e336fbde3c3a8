"""Resident memory of this process, for the memory benchmarks (Linux ``/proc``; other systems
get ``None`` where ``/proc`` is missing).

- :func:`status_kib`: a ``/proc/self/status`` field (``VmRSS``, ``VmHWM``);
- :func:`ru_maxrss_kib`: the peak resident memory of the process, from ``getrusage``;
- :func:`reset_high_water_mark`: reset the kernel's peak (``VmHWM`` and ``ru_maxrss``);
- :class:`RssSampler`: a thread that records the peak ``VmRSS`` of each phase of a run.
"""

import resource
import sys
import threading

__all__ = ["SAMPLE_SECONDS", "RssSampler", "reset_high_water_mark", "ru_maxrss_kib", "status_kib"]

#: Interval of :class:`RssSampler`, in seconds.
SAMPLE_SECONDS = 0.05


def status_kib(field):
    """A ``/proc/self/status`` field in KiB (``VmRSS``, ``VmHWM``), or None."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def ru_maxrss_kib():
    """Peak resident memory of this process so far, in KiB, from ``getrusage``."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def reset_high_water_mark():
    """Reset the kernel's peak RSS (VmHWM, and ru_maxrss with it); True when it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    hwm, rss = status_kib("VmHWM"), status_kib("VmRSS")
    return hwm is not None and rss is not None and hwm <= rss * 1.05 + 1024


class RssSampler:
    """Background thread recording the peak ``VmRSS`` of each phase, every ``interval`` s.

    Set ``phase`` to name what runs now (None: record nothing); ``peaks`` maps each phase to
    its peak in KiB. Use as a context manager: the thread runs inside the ``with`` block.
    """

    def __init__(self, interval=SAMPLE_SECONDS):
        self.interval = interval
        self.phase = None
        self.peaks = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self):
        """Read ``VmRSS`` now and update the current phase's peak."""
        rss = status_kib("VmRSS")
        if rss is not None and self.phase is not None:
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
            self.samples += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()
