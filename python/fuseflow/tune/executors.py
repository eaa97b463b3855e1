"""Where evaluations run: in this process, in a local process pool, or on a Ray cluster.

Every executor turns ``submit(fn, *args)`` into a ``concurrent.futures.Future`` so the tuner
waits on all of them the same way. ``workers`` is how many evaluations may run at once (the
tuner's default batch size).

    >>> with make_executor("serial") as ex:
    ...     ex.submit(abs, -3).result()
    3

The process pool uses the ``spawn`` start method (safe next to torch's threads), so the
objective must be picklable: a module-level function or an object of an importable class.
Ray is imported only when ``RayExecutor`` is created (install the ``ray`` extra).
"""

from __future__ import annotations

import abc
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from fuseflow.errors import FuseflowError


class ExecutorError(FuseflowError):
    """An executor cannot be created."""


class Executor(abc.ABC):
    """Base class: run callables, return futures."""

    name = "executor"
    workers = 1

    @abc.abstractmethod
    def submit(self, fn, *args: Any) -> Future:
        """Start ``fn(*args)``; its result or exception arrives in the future."""

    def close(self) -> None:  # noqa: B027 -- optional hook, nothing to release by default
        """Release workers; evaluations not yet started are cancelled."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs each evaluation immediately in the calling process (deterministic, debuggable).

    ``KeyboardInterrupt`` propagates at once; other exceptions are stored in the future."""

    name = "serial"
    workers = 1

    def submit(self, fn, *args):
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as e:
            fut.set_exception(e)
        return fut


class ProcessExecutor(Executor):
    """A local pool of ``workers`` processes (default: the CPU count)."""

    name = "process"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                         mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn, *args):
        return self._pool.submit(fn, *args)

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor(Executor):
    """Evaluations as Ray tasks. ``address``: an existing cluster (``HOST:PORT`` of its head, or
    ``auto``; else ``RAY_ADDRESS``); default: a local Ray instance started for the run, with
    ``workers`` CPUs (default: the CPU count) and no dashboard, shut down by ``close()``. ``workers`` is the number of
    concurrent tasks (default: the cluster's CPU count)."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None,
                 num_cpus_per_task: float = 1.0):
        try:
            import ray
        except ImportError:
            raise ExecutorError("the Ray executor needs the optional 'ray' extra "
                                "(pip install 'fuseflow[ray]')") from None
        self._ray = ray
        self._started = False
        address = address or os.environ.get("RAY_ADDRESS") or None  # Ray's own variable names a cluster too
        if not ray.is_initialized():
            kw = dict(ignore_reinit_error=True, log_to_driver=False, configure_logging=False)
            if address is None:
                kw.update(num_cpus=max(1, workers or os.cpu_count() or 1), include_dashboard=False,
                          object_store_memory=LOCAL_OBJECT_STORE)
            if address is not None:
                _check_reachable(address)
            try:  # "local": a new instance even where another cluster runs on this machine
                ray.init(address=address or "local", **kw)
            except (ConnectionError, RuntimeError, ValueError) as e:
                where = f"the Ray cluster at '{address}'" if address else "a local Ray instance"
                raise ExecutorError(f"cannot connect to {where}: {str(e).splitlines()[0] if str(e) else e}") from None
            self._started = True
        self.workers = max(1, workers or int(ray.cluster_resources().get("CPU", 1)))
        self._num_cpus = num_cpus_per_task
        self._remote = {}

    def submit(self, fn, *args):
        got = self._remote.get(id(fn))  # one remote function per callable (kept alive with it)
        if got is None:
            got = self._remote[id(fn)] = (fn, self._ray.remote(num_cpus=self._num_cpus)(fn))
        return got[1].remote(*args).future()

    def close(self):
        if self._started:
            self._ray.shutdown()
            self._started = False


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a ``HOST:PORT`` nothing listens on (Ray itself retries for a long while)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return  # 'auto' or another form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise ExecutorError(f"cannot reach the Ray cluster at '{address}': {e.strerror or e}") from None


#: object store of a local Ray instance: evaluations pass points and numbers, not tensors
LOCAL_OBJECT_STORE = 128 * 1024 * 1024


EXECUTORS = {"serial": SerialExecutor, "process": ProcessExecutor, "ray": RayExecutor}


def make_executor(kind: str | Executor = "serial", workers: int | None = None, address: str | None = None) -> Executor:
    """An executor by name (``serial``, ``process``, ``ray``) or the given instance;
    ``address``: the Ray cluster to connect to (Ray only)."""
    if isinstance(kind, Executor):
        return kind
    cls = EXECUTORS.get(kind)
    if cls is None:
        raise ExecutorError(f"unknown executor {kind!r}; choose one of {sorted(EXECUTORS)}")
    if address is not None and cls is not RayExecutor:
        raise ExecutorError(f"an address names a Ray cluster; it does not apply to the {kind} executor")
    if cls is SerialExecutor:
        return cls()
    return cls(workers, address) if cls is RayExecutor else cls(workers)
