"""A time limit for each test that fails that test alone, with every thread's stack, and lets the
run go on (pytest's faulthandler watchdog, kept as a last resort for a deadlock inside C code that
no Python signal handler can interrupt, ends the whole run).

Each phase of a test (setup, call, teardown) gets ``$GENSTUDIO_TEST_TIME_LIMIT_S`` seconds
(default :data:`DEFAULT_LIMIT_S`: no test needs more than a few tens of seconds on 2 quiet cores,
so this is a hung or starved test even on a machine loaded several times over). When it runs out,
SIGALRM prints every thread's stack and raises :class:`TimeLimitExceeded` in the main thread; it
raises again every few seconds in case the first one landed in a Qt slot, which swallows it.
"""
from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading

import pytest

LIMIT_ENV = "GENSTUDIO_TEST_TIME_LIMIT_S"
DEFAULT_LIMIT_S = 240.0
REPEAT_S = 5.0


class TimeLimitExceeded(Exception):
    """A test phase ran past its time limit."""


def limit_s() -> float:
    try:
        return float(os.environ.get(LIMIT_ENV, DEFAULT_LIMIT_S))
    except ValueError:
        return DEFAULT_LIMIT_S


def _limited(item, phase: str):
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    limit = limit_s()
    told = []

    def expired(signum, frame):
        if not told:
            told.append(True)
            stream = sys.__stderr__
            if stream is not None:
                stream.write(f"\n{phase} of {item.nodeid} ran past {limit:g} s; every thread's stack:\n")
                stream.flush()
                faulthandler.dump_traceback(file=stream, all_threads=True)
        raise TimeLimitExceeded(f"{phase} of {item.nodeid} ran past {limit:g} s (${LIMIT_ENV})")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit, REPEAT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _limited(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _limited(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield from _limited(item, "teardown")
