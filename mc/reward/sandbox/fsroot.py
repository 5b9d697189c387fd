"""The worker's view of the filesystem: a private root that shows only what programs may read.

Invariant: after `enter_root`, the worker and every process it forks see a
read-only tree holding the interpreter's library folders, a few devices and
one writable folder, SCRATCH, which is a fresh size- and inode-capped tmpfs for
every job (`fresh_scratch`). Nothing else of the host exists there: no /proc,
no /tmp, no home folders, no data, no repository; so a program cannot read,
stat, list or watch host files, and nothing it writes outlives its job (a later
sample on the same worker starts from an empty scratch, whatever the program
did to its folder: files, links, modes, xattrs, a 1,100-deep tree).

Built once per worker inside its own mount namespace (mounts are private to
it): a small tmpfs becomes the new root (pivot_root), the allowed paths are
bind-mounted into it read-only at their own paths (symlinks along them
recreated), the old root is detached. Works as root and inside an
unprivileged user namespace (flags a bind mount inherits locked are kept).
"""

from __future__ import annotations

import ctypes
import os
import platform

from mc.reward.sandbox.layers import _check, _libc

SANDBOX_DIR = "/sandbox"  # read-only; Landlock grants writes beneath it, so a remounted scratch stays covered
SCRATCH = SANDBOX_DIR + "/scratch"

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
# statvfs f_flag bits -> the mount flags a remount must repeat (the kernel
# locks them on mounts inherited into a user namespace).
_STATVFS_TO_MS = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME,
                  4096: MS_RELATIME}
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine(), 155)

_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _kept_flags(path: str) -> int:
    flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in _STATVFS_TO_MS.items() if flags & st)


def _outermost(paths: list[str]) -> list[str]:
    """Real paths, each once, without those inside another one."""
    real = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})
    kept: list[str] = []
    for path in real:
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _mirror_links(root: str, path: str, depth: int = 0) -> None:
    """Recreate, under `root`, each symlink met on the way to `path` (/lib -> usr/lib)."""
    if depth > 8:
        return
    current = "/"
    for part in os.path.abspath(path).strip("/").split("/"):
        current = os.path.join(current, part)
        if os.path.islink(current):
            link = root + current
            target = os.readlink(current)
            if not os.path.lexists(link):
                os.makedirs(os.path.dirname(link), exist_ok=True)
                os.symlink(target, link)
            _mirror_links(root, os.path.join(os.path.dirname(current), target), depth + 1)
            return


def _bind_read_only(source: str, target: str) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    try:
        _mount(source, target, None, MS_BIND)
    except OSError:  # a tree with locked submounts can only be bound whole
        _mount(source, target, None, MS_BIND | MS_REC)
    device = source.startswith("/dev/")
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | _kept_flags(source) | (0 if device else MS_NODEV)
    _mount(None, target, None, flags)


def enter_root(mountpoint: str, read_paths: list[str]) -> None:
    """Pivot this process (already in its own mount namespace) into the new root.

    `mountpoint` is an empty folder on the host; `read_paths` are what
    programs may read. Returns with the working directory at "/".
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount reaches the host
    _mount("tmpfs", mountpoint, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for path in read_paths:
        _mirror_links(mountpoint, path)
    for real in _outermost(read_paths):
        _bind_read_only(real, mountpoint + real)
    os.makedirs(mountpoint + SCRATCH, mode=0o755)
    os.mkdir(mountpoint + "/.old")
    _check(_libc.syscall(_SYS_PIVOT_ROOT, mountpoint.encode(), (mountpoint + "/.old").encode()), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def fresh_scratch(owner: int, size_mb: int, inodes: int) -> None:
    """Replace SCRATCH by an empty tmpfs owned by `owner` (the old one, and
    anything a program left or did in it, is detached and freed)."""
    if _libc.umount2(SCRATCH.encode(), MNT_DETACH) < 0 and ctypes.get_errno() != 22:  # EINVAL: nothing mounted yet
        _check(-1, "umount scratch")
    _mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
           f"size={size_mb}m,nr_inodes={inodes},mode=0700,uid={owner},gid={owner}")
