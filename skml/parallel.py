"""Searches on a ``dask.distributed`` cluster, with worker deaths reported as such.

``dask`` and ``distributed`` (the ``skml[dask]`` extra) are imported when
:func:`dask_backend` is entered, not when this module is imported.
"""

import contextlib
import importlib

import joblib

__all__ = ["WorkerLostError", "dask_backend"]

# Reasons the scheduler gives a client for cancelling its futures when the data they need
# was lost with a worker: "already forgotten" for tasks already submitted, "lost dependencies"
# for tasks submitted afterwards (joblib scatters the search's X and y to a worker, and
# scattered data cannot be recomputed).
_LOST_REASONS = frozenset({"already forgotten", "lost dependencies"})


class WorkerLostError(RuntimeError):
    """A Dask worker died while it ran part of a computation.

    Raised by :func:`dask_backend` from the error Dask reported
    (``FutureCancelledError``, ``FuturesCancelledError`` or ``KilledWorker``), which is kept
    as ``__cause__``.

    Attributes
    ----------
    workers : tuple of str
        Addresses of the workers that left the cluster during the call, when known;
        empty otherwise.
    """

    def __init__(self, message, workers=()):
        super().__init__(message)
        self.workers = tuple(workers)


def _import_distributed():
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise ImportError(
            "skml.parallel.dask_backend needs dask.distributed; install it with "
            "pip install 'skml[dask]'"
        ) from exc


def _worker_addresses(client):
    """The set of worker addresses the scheduler knows now; None if it cannot be asked."""
    if client is None:
        return None
    try:
        return set(client.ncores())
    except Exception:  # the scheduler may be gone too: naming workers is best effort
        return None


def _worker_loss(exc, distributed):
    """The exception in ``exc``'s chain that reports a worker's death, or None."""
    killed_worker = distributed.KilledWorker
    cancelled = distributed.client.FutureCancelledError
    cancelled_many = getattr(distributed.client, "FuturesCancelledError", ())
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if (
            isinstance(exc, killed_worker)
            or (isinstance(exc, cancelled) and exc.reason in _LOST_REASONS)
            or (
                isinstance(exc, cancelled_many)
                and any(group.reason in _LOST_REASONS for group in exc.error_groups)
            )
        ):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _lost_workers(exc, before, after, distributed):
    lost = set(before - after) if before is not None and after is not None else set()
    if isinstance(exc, distributed.KilledWorker):
        lost.add(exc.last_worker.address)
    return tuple(sorted(lost))


def _message(exc, workers):
    named = f" ({', '.join(workers)})" if workers else ""
    return (
        f"A Dask worker{named} was lost mid-computation: it was killed, ran out of memory or "
        "crashed, and the tasks and data it held went with it. The cluster replaces a lost "
        "worker (its nanny starts a new one), so re-running the same call on the same client "
        "works once the replacement has joined (client.wait_for_workers). If workers keep "
        "dying, check their logs and give each more memory (LocalCluster(memory_limit=...), "
        "dask worker --memory-limit) or fewer threads. Dask reported: "
        f"{type(exc).__name__}: {exc}"
    )


@contextlib.contextmanager
def dask_backend(client=None, **parallel_config_kwargs):
    """Run joblib-parallel work, such as a scikit-learn search, on a Dask cluster.

    ``joblib.parallel_config(backend="dask", ...)`` that reports a worker's death as
    :class:`WorkerLostError` rather than as Dask's ``FutureCancelledError: ... cancelled
    for reason: already forgotten``, which never says that a worker died. Every other
    exception propagates unchanged.

    Parameters
    ----------
    client : distributed.Client, default=None
        The client to submit to; ``None`` uses the current default client, as joblib does.
    **parallel_config_kwargs
        Passed to :func:`joblib.parallel_config`, for example ``n_jobs``, or backend
        parameters such as ``scatter`` or ``wait_for_workers_timeout``.

    Yields
    ------
    None

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed (the ``skml[dask]`` extra).
    WorkerLostError
        If a worker died while the block ran; its ``__cause__`` is Dask's error.

    Examples
    --------
    >>> from dask.distributed import Client  # doctest: +SKIP
    >>> from skml.parallel import dask_backend
    >>> with Client(cluster) as client, dask_backend(client):  # doctest: +SKIP
    ...     search.fit(X, y)
    """
    distributed = _import_distributed()
    if client is not None:
        parallel_config_kwargs["client"] = client
    else:
        try:
            client = distributed.get_client()
        except ValueError:  # no client: joblib raises its own explanation below
            client = None
    before = _worker_addresses(client)
    with joblib.parallel_config(backend="dask", **parallel_config_kwargs):
        try:
            yield
        except Exception as exc:
            loss = _worker_loss(exc, distributed)
            if loss is None:
                raise
            workers = _lost_workers(loss, before, _worker_addresses(client), distributed)
            raise WorkerLostError(_message(loss, workers), workers) from exc
