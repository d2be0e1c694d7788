"""Atomic file replacement: every file the project writes for keeps goes through a temporary file in the same
directory renamed into place, so a kill mid-write leaves the earlier file whole and readers never see half a file."""
from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def replacing(path: str):
    """Yields a temporary path next to `path` (same extension, so writers that infer the format from it work);
    on a clean exit it is renamed onto `path`, on an exception it is removed and `path` is left as it was.

    The name holds the process id, so concurrent writers of one path never share a temporary file."""
    directory, base = os.path.split(os.path.abspath(path))
    ext = os.path.splitext(base)[1]
    tmp = os.path.join(directory, f".tmp-{base}.{os.getpid()}{ext}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_text(path: str, text: str) -> None:
    """Atomic text write."""
    with replacing(path) as tmp, open(tmp, "w") as f:
        f.write(text)
