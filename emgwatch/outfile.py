"""Output files that are checked before the work and appear only when complete.

An analysis can take minutes; finding out only then that ``-o`` names a missing directory, a
directory, or the very recording being read (which writing would destroy) wastes the run or
the data. And a run that fails while writing must leave an existing file as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from emgwatch.errors import InputError


def check_output(path: str | Path, *, reading: tuple[str | Path, ...] = ()) -> Path:
    """The output path, refused in one line if it cannot be written or is one of ``reading``."""
    out = Path(path)
    if out.is_dir():
        raise InputError(out, None, "is a directory; expected a file name to write")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(out, None, f"cannot be written: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(out, None, f"cannot be written: no permission in {parent}")
    for src in reading:
        if out.exists() and Path(src).exists() and os.path.samefile(out, src):
            raise InputError(out, None, "is the file being read; writing it would destroy it")
    return out


@contextmanager
def replaced_when_done(path: Path) -> Iterator[Path]:
    """The path to write instead of ``path``; it replaces ``path`` only if the block completes
    (else it is removed).

    Only a plain file (or a new name) is replaced that way, keeping its permissions, through a
    private temporary name beside it. A symlink is followed to its target; a target that is not
    a plain file (a pipe, /dev/stdout, a device) or has other hard links is written in place,
    as replacing it would swap the device for a file or cut the links.
    """
    target = path.resolve() if path.is_symlink() else path
    in_place = target.exists() and (not target.is_file() or target.stat().st_nlink > 1)
    tmp = target
    try:
        if not in_place:
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
            )
            os.close(fd)
            tmp = Path(name)
            if target.exists():
                shutil.copymode(target, tmp)
        yield tmp
        if not in_place:
            os.replace(tmp, target)
    except OSError as e:
        raise InputError(path, None, f"cannot be written: {e.strerror or e}") from None
    finally:
        if not in_place:
            tmp.unlink(missing_ok=True)


@contextmanager
def written_when_done(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text file that replaces ``path`` only if the block completes (``replaced_when_done``)."""
    with replaced_when_done(path) as tmp, tmp.open("w", encoding="utf-8", newline=newline) as f:
        yield f
