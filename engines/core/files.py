"""Writing a file so that no reader ever sees half of it: into a temp file beside it, then renamed
over it (``os.replace``, atomic within a folder)."""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


@contextlib.contextmanager
def replaced_atomically(final: Path):
    """Yields a temp path beside ``final`` to write; when the block ends without an error it is
    renamed over ``final``. The temp file never survives, whatever happens."""
    final = Path(final)
    temp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
    try:
        yield temp
        os.replace(temp, final)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
