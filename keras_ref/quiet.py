"""TensorFlow, imported without its C++ start-up lines reaching the terminal.

On a machine without CUDA, importing TensorFlow 2.21 and first touching its devices writes

    I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    E0000 ... cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: ...

to file descriptor 2, from C++, before absl's logging is set up, so ``TF_CPP_MIN_LOG_LEVEL``
does not hold it back.  A newcomer reads "E0000 ... CUDA error" as a failure of ours.  So the
import (TensorFlow and Keras) and the first device query run with descriptor 2 pointed at a
temporary file.  What was written there is shown when asked for (``--verbose``,
``--log-placement``), and always when the import fails.

Every module of ours that needs TensorFlow gets it through ``tensorflow()``: the first call
imports it, later calls return it.  Nothing else here imports TensorFlow, so a command can
answer ``--help`` and reject bad arguments before paying for the import.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile

#: What TensorFlow's start wrote on descriptor 2; None until it has been imported here.
_start_log: str | None = None


def tensorflow(verbose: bool = False):
    """The ``tensorflow`` module, imported once with its start-up log held back unless ``verbose``.

    A later call with ``verbose`` shows the log that the first call held back.  If the import
    fails, the log is shown and the error raised.
    """
    global _start_log
    if _start_log is None:
        # After absl's logging is up, this level keeps TensorFlow's INFO and WARNING lines away.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "2")
        failure = None
        with _descriptor_2_captured() as read:
            try:
                import keras  # noqa: F401  (imports TensorFlow as its backend)
                import tensorflow as tf
                tf.config.list_physical_devices()  # the CUDA probe logs here, not at import
            except BaseException as e:
                failure = e
            log = read()
        if failure is not None:
            sys.stderr.write(log)  # all of it, now that descriptor 2 is the terminal again
            raise failure
        _start_log = log
        if verbose:
            sys.stderr.write(_start_log)
    elif verbose:
        sys.stderr.write(_start_log)
    import tensorflow as tf
    return tf


def keras():
    """The ``keras`` module, after TensorFlow's quiet start."""
    tensorflow()
    import keras
    return keras


def start_log() -> str:
    """What TensorFlow wrote while it started ('' before it has)."""
    return _start_log or ""


@contextlib.contextmanager
def _descriptor_2_captured():
    """Descriptor 2 (C++'s stderr, and Python's) into a temporary file; yields a reader of it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as log:
        os.dup2(log.fileno(), 2)

        def read() -> str:
            sys.stderr.flush()
            log.seek(0)
            return log.read().decode("utf-8", "replace")
        try:
            yield read
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
