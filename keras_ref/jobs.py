"""``--jobs N``: one sweep command as N jobs on this machine, through keras-tuner's distributed mode.

keras-tuner's distributed mode is three environment variables: the oracle's address and
port, and each process's ``KERASTUNER_TUNER_ID`` ("chief", or a worker's name).  Its chief
only serves the oracle; the workers ask it for trials and train them.  Here this process is
the chief and also trains, as the last worker (``keras_ref.sweep.oracle_served``), and
``Workers`` starts the other N - 1 as copies of this command (same arguments, same sweep
folder) on 127.0.0.1, each with its share of the cores.

Nothing outlives the command:
- the workers are stopped when the sweep ends, when the command is interrupted (Ctrl-C or
  SIGTERM: ``stop_on_signals``), and when a worker fails: the chief checks before it asks
  for each trial (``check``), and keras-tuner's own chief would wait for the failed worker's
  trial forever;
- each worker asks Linux to send it SIGTERM when the chief dies (``PR_SET_PDEATHSIG``), so a
  SIGKILL of the command leaves no orphan either.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

TUNER_ID, ORACLE_IP, ORACLE_PORT = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"
HOST = "127.0.0.1"
#: What each worker's environment sets to its share of the cores, before NumPy loads its BLAS.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def check_port(port: int) -> None:
    """ValueError if ``port`` on 127.0.0.1 cannot be bound (in use, or not a port)."""
    if not 0 < port < 65536:
        raise ValueError(f"--port {port} is not a TCP port; valid: 1 to 65535")
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError as e:
            raise ValueError(f"--port {port} on {HOST} cannot be used: {e.strerror}") from None


def threads_per_job(jobs: int) -> int:
    """Each of ``jobs`` jobs' share of this machine's cores, at least one."""
    return max(1, (os.cpu_count() or 1) // jobs)


#: Set in the environment of the workers ``Workers`` starts: their chief stops them.
STARTED_BY = "KERAS_REF_WORKER_OF"


def _as_worker() -> None:  # runs in the child between fork and exec
    # Ctrl-C in a terminal reaches every process of the command: the chief alone takes it, and
    # stops the workers.  A worker ignores it (Python keeps SIGINT ignored across exec), and is
    # ended by the chief's SIGTERM at once, before it can report anything for its trial.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: SIGTERM when the parent exits, however it exits


class WorkerFailed(RuntimeError):
    """A worker of the sweep exited with an error: the others are stopped."""


class Workers:
    """``count`` worker processes of one sweep of ``jobs`` jobs, started as ``command`` with
    keras-tuner's environment and each job's share of the cores.

    ``with Workers(command, count, port, jobs) as workers:`` makes this process the chief (its
    environment gets the chief's variables) and starts the workers; leaving the block stops
    whichever still run.  ``failed`` names a worker that exited with an error.
    """

    def __init__(self, command: list[str], count: int, port: int, jobs: int | None = None):
        self.command, self.count, self.port, self.jobs = command, count, port, jobs or count
        self.processes: list[subprocess.Popen] = []
        self.failed: str | None = None
        self.idle_stopped: set[int] = set()

    def __enter__(self):
        os.environ.update({TUNER_ID: "chief", ORACLE_IP: HOST, ORACLE_PORT: str(self.port)})
        threads = str(threads_per_job(self.jobs))
        for i in range(self.count):
            env = {**os.environ, TUNER_ID: f"tuner{i}", STARTED_BY: str(os.getpid()),
                   **dict.fromkeys(THREAD_VARIABLES, threads)}
            self.processes.append(subprocess.Popen(self.command + ["--threads", threads], env=env,
                                                   preexec_fn=_as_worker))
        return self

    def check(self) -> None:
        """``WorkerFailed`` if a worker has exited with an error."""
        for i, p in enumerate(self.processes):
            if p.poll() not in (None, 0) and i not in self.idle_stopped:
                self.failed = f"worker tuner{i} exited with code {p.returncode}"
                raise WorkerFailed(self.failed)

    def finished(self) -> bool:
        """True once every worker has ended (with 0, or stopped idle); ``WorkerFailed`` as soon as
        one exits otherwise."""
        self.check()
        return all(p.poll() is not None for p in self.processes)

    def wait(self, busy, grace: float = 10.0, poll: float = 0.2) -> None:
        """Once the chief has no trial left to hand out: until every worker has ended.  A worker
        with no trial of its own (``busy(tuner_id)`` false) for ``grace`` seconds is stopped: it
        has nothing left to do, and one stuck at its start would otherwise be waited for forever."""
        idle: dict[int, float] = {}
        while not self.finished():
            now = time.monotonic()
            for i, p in enumerate(self.processes):
                if p.poll() is not None or busy(f"tuner{i}"):
                    idle.pop(i, None)
                elif now - idle.setdefault(i, now) > grace:
                    print(f"worker tuner{i} has had no trial for {grace:g} s with none left to give: stopped",
                          file=sys.stderr, flush=True)
                    self.idle_stopped.add(i)
                    p.terminate()
                    p.wait()
            time.sleep(poll)

    def __exit__(self, *exc):
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for name in (TUNER_ID, ORACLE_IP, ORACLE_PORT):
            os.environ.pop(name, None)
        return False


_STOP = []


@contextlib.contextmanager
def stop_on_signals():
    """``with stop_on_signals():`` Ctrl-C and SIGTERM end the command, so that ``Workers`` stops
    its workers on the way out; the handlers before it are back after the block.

    The handler raises KeyboardInterrupt, and also remembers the request (``stop_requested``):
    a KeyboardInterrupt raised while TensorFlow runs a tf.data iterator can come back as the
    end of the data, and training goes on (seen once in eight Ctrl-C's of a sweep), or as
    another error, which keras-tuner would record as the trial failing.  The sweep asks again at
    every epoch's end, after a trial that did not complete, and before every trial.

    A worker that ``Workers`` started is left as it is: it ignores Ctrl-C, and its chief's
    SIGTERM ends it at once.  A process started with Ctrl-C ignored (a shell's background job)
    keeps ignoring it, as Python itself does, and takes SIGTERM as above.
    """
    if os.environ.get(STARTED_BY):
        yield
        return

    def handler(signum, frame):
        _STOP.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")
    taken = [signal.SIGTERM] + ([] if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else [signal.SIGINT])
    previous = {s: signal.signal(s, handler) for s in taken}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _STOP.clear()


def stop_requested() -> bool:
    """Whether Ctrl-C or SIGTERM has asked this process to stop (``stop_on_signals``)."""
    return bool(_STOP)


def raise_if_stopped() -> None:
    if _STOP:
        raise KeyboardInterrupt(f"signal {_STOP[0]}")
