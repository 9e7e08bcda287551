"""What ``Pool(cluster=...)`` accepts, turned into a ``dask.distributed.Client``.

dask is imported here, and only when a cluster is asked for: importing
``suitkaise.processing`` never imports dask. Without dask installed, the error says what to
install.

Accepted: a ``distributed.Client`` (used as is, never closed by the Pool), a scheduler address
string such as ``"tcp://10.0.0.5:8786"``, or a cluster object with a ``scheduler_address``
(e.g. ``LocalCluster``); for the last two the Pool opens its own Client and closes it in
``close()``.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any

INSTALL_HINT = 'pip install "suitkaise-processing[dask]"'
CONNECT_TIMEOUT = 30.0


def import_distributed() -> Any:
    """Import ``dask.distributed`` or explain what to install."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"Pool(cluster=...) runs on a dask.distributed cluster, but dask.distributed is not "
            f"installed; install it with: {INSTALL_HINT}"
        ) from exc
    return distributed


class ClusterConnection:
    """A dask Client for one Pool, and whether the Pool must close it.

    It is closed by the Pool's ``close()``/``terminate()``/finalizer, or at interpreter exit by
    an ``atexit`` hook registered after dask's own, so it runs before them: the pool's calls
    are stopped and its Client closed while the scheduler (maybe a LocalCluster in this
    process) is still up.
    """

    def __init__(self, client: Any, *, owned: bool) -> None:
        self.client = client
        self.owned = owned
        self._lock = threading.Lock()
        self._closed = False
        self._before: list[Callable[[], None]] = []
        atexit.register(self.close)

    def before_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` (e.g. stop the runtime) before the Client is closed."""
        self._before.append(callback)

    @property
    def address(self) -> str:
        """The scheduler's address."""
        return str(self.client.scheduler.address)

    def threads(self) -> int:
        """Threads on the cluster's workers now (at least 1)."""
        threads: dict[str, int] = self.client.nthreads()
        return max(1, sum(threads.values()))

    def close(self) -> None:
        """Close the Client if the Pool opened it. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            callbacks, self._before = self._before, []
        atexit.unregister(self.close)
        for callback in callbacks:
            callback()
        if self.owned:
            try:
                self.client.close(timeout=10)
            except Exception:  # closing at interpreter exit or after the scheduler went away
                pass


def connect(cluster: Any) -> ClusterConnection:
    """Turn the ``cluster=`` argument of ``Pool`` into a connection.

    Raises:
        ImportError: dask.distributed is not installed.
        TypeError: ``cluster`` is none of the accepted kinds.
        OSError: The scheduler cannot be reached (dask's own error).
    """
    known = isinstance(cluster, str) or hasattr(cluster, "scheduler_address")
    if not known and type(cluster).__name__ != "Client":  # checked before dask is imported
        raise TypeError(
            f"Pool(cluster=...) needs a dask.distributed Client, a cluster object (e.g. "
            f"LocalCluster) or a scheduler address like 'tcp://host:8786', "
            f"got {type(cluster).__name__}: {cluster!r}"
        )
    distributed = import_distributed()
    if isinstance(cluster, distributed.Client):
        if cluster.status not in ("running", "connecting", "newly-created"):
            raise ValueError(f"Pool(cluster=...) got a dask Client that is {cluster.status}")
        return ClusterConnection(cluster, owned=False)
    if isinstance(cluster, str) and not cluster.strip():
        raise ValueError("Pool(cluster=...) got an empty scheduler address")
    client = distributed.Client(cluster, set_as_default=False, timeout=CONNECT_TIMEOUT)
    return ClusterConnection(client, owned=True)
