"""Watch LightGBM's process-wide default thread count while a block runs.

Every LightGBM C API call without ``num_threads`` resets ``LGBM_DEFAULT_NUM_THREADS``;
a prediction that reads it while another thread resets it writes past its buffers.
Threaded fits must therefore pass ``num_threads`` on every call: this watcher sets the
count to 1 and records every value it sees from a third thread until the block ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def lightgbm_thread_counts() -> Iterator[set[int]]:
    """Yield the set of values ``LGBM_DEFAULT_NUM_THREADS`` took while the block ran."""
    from lightgbm.basic import _LIB

    default = ctypes.c_int.in_dll(_LIB, "LGBM_DEFAULT_NUM_THREADS")
    default.value = 1
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.add(default.value)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()
