"""Stopping on SIGTERM (a scheduler's preemption or time limit, `timeout`, `kill`) the way Ctrl-C stops: the launchers
turn the signal into an exception, so every clean-up runs (a sweep writes its tables, the workdir's lock is let go),
and the training loop first finishes the chunk in flight and saves it, so that the same command resumes with nothing
lost.

  with termination.sigterm_raises():   # a launcher, around its work
      ...
  with termination.deferred() as pending:   # the training loop, around its chunks
      ... if pending(): save, then raise Terminated

Without `sigterm_raises` (a library caller), SIGTERM keeps its default action and `deferred` does nothing."""
from __future__ import annotations

import contextlib
import os
import signal
import threading


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM). A BaseException, like KeyboardInterrupt, so that no `except
    Exception` (a sweep's --keep_going) takes it for a failure of the work in progress."""


EXIT_STATUS = 128 + signal.SIGTERM  # a shell's status for a process that SIGTERM stopped

_owner: int | None = None  # the process that installed the handler (a forked child gets the default action)
_deferring = 0
_pending = False  # a SIGTERM arrived


def _on_sigterm(signum, frame):
    global _pending
    if os.getpid() != _owner:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    if _pending:  # `timeout` sends it to the process and again to its group: the stop under way goes on
        return
    _pending = True
    if not _deferring:
        raise Terminated("stopped by SIGTERM")


@contextlib.contextmanager
def sigterm_raises():
    """Within the block, SIGTERM raises Terminated in the main thread (at once, or at the end of a `deferred`
    block); later ones are ignored, so that the clean-up is not cut short (SIGKILL stops at once). Outside the main
    thread the block changes nothing."""
    global _owner, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous, owner = signal.signal(signal.SIGTERM, _on_sigterm), _owner
    _owner, _pending = os.getpid(), False
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _owner, _pending = owner, False


@contextlib.contextmanager
def deferred():
    """Within the block a SIGTERM is only noted: yields pending() -> whether one arrived, for the block to end its
    work at a point it can resume from; leaving the block with one pending raises Terminated."""
    global _deferring
    _deferring += 1
    try:
        yield lambda: _pending
    finally:
        _deferring -= 1
    if _pending and not _deferring:
        raise Terminated("stopped by SIGTERM")
