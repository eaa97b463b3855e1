"""One error boundary for every command-line entry point: user errors print a message and
exit 1, internal errors print a one-line report (full traceback with FUSEFLOW_DEBUG=1)."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable

from fuseflow import env
from fuseflow.errors import FuseflowError


def user_message(e: FuseflowError) -> str:
    """``error: <message>``, unless the message already says ``error:`` (a located diagnostic)."""
    text = str(e)
    first = text.split("\n", 1)[0]
    return text if "error:" in first else f"error: {text}"


def cli_entry(fn: Callable[..., int]) -> Callable[..., int]:
    @functools.wraps(fn)
    def wrapper(*args, **kw) -> int:
        try:
            return fn(*args, **kw)
        except FuseflowError as e:
            print(user_message(e), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 1
        except MemoryError as e:
            print(f"error: out of memory ({e or 'an allocation failed'}); for simulations, bound the "
                  "simulator's memory with --hw max_memory_mb=N", file=sys.stderr)
            return 1
        except Exception as e:
            if env.debug():
                traceback.print_exc()
            else:
                frame = traceback.extract_tb(e.__traceback__)[-1]
                print(
                    f"internal error: {type(e).__name__}: {e} (at {frame.filename}:{frame.lineno}); "
                    "re-run with FUSEFLOW_DEBUG=1 for a traceback",
                    file=sys.stderr,
                )
            return 2

    return wrapper
