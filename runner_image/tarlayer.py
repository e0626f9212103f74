"""A layer tarball from a directory, byte-identical for identical content.

Entries are sorted, owned by root (uid and gid 0, no names), and stamped with
one fixed time; hard links are stored as separate files and device nodes are
left out (the runtime provides /dev). Same tree in, same bytes out, so the
layer's digest depends on its content only.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path


def _entries(root: Path) -> list[str]:
    """Every path under ``root``, relative, in sorted order (parents before children)."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            found.append(name if rel == "." else f"{rel}/{name}")
    return sorted(found)


def write_layer(root: Path, out: Path, mtime: int) -> None:
    """Pack the tree under ``root`` into the uncompressed tarball ``out``."""
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for rel in _entries(root):
            path = root / rel
            st = os.lstat(path)
            info = tarfile.TarInfo(rel)
            info.mode = stat.S_IMODE(st.st_mode)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                tar.addfile(info)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                info.size = st.st_size
                with open(path, "rb") as data:
                    tar.addfile(info, data)
            # sockets, fifos and device nodes have no place in an image layer
    os.replace(tmp, out)
