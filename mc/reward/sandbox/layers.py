"""Isolation layers, each a small function over a kernel interface.

Used by the sandbox worker (mc/reward/sandbox/worker.py): the namespace layer
once per worker, the others in every forked child before untrusted code runs.
Landlock is called through ctypes here because the Python bindings on PyPI
cover only its filesystem rules, not the network (ABI 4) and scoping (ABI 6)
rules we rely on; seccomp filters are built with libseccomp (pyseccomp).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource
import sys

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000

# x86-64 and aarch64 share the Landlock syscall numbers.
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

# Filesystem rights (uapi/linux/landlock.h), with the ABI that introduced them.
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REMOVE_DIR, FS_REMOVE_FILE, FS_MAKE_CHAR, FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FS_MAKE_REG, FS_MAKE_SOCK, FS_MAKE_FIFO, FS_MAKE_BLOCK, FS_MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel struct is packed
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def fork() -> int:
    """fork(2) without the interpreter's after-fork hooks.

    For the single-threaded worker only. `os.fork` runs Python's at-fork
    handlers (thread bookkeeping, reseeding `random`), ~0.7 ms of a ~1.5 ms
    fork here; a single-threaded process needs none of them, and children that
    start with identical `random` state make judging reproducible.
    """
    pid = _libc.fork()
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"fork: {os.strerror(err)}")
    return pid


# --- probing ------------------------------------------------------------------

def landlock_abi() -> int:
    """The Landlock ABI version the kernel offers (0: none)."""
    result = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), LANDLOCK_CREATE_RULESET_VERSION)
    return max(0, int(result))


def seccomp_available() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except Exception:  # the module raises when libseccomp itself is missing
        return False
    return os.path.exists("/proc/self/status")


# --- per worker ---------------------------------------------------------------

def enter_namespaces() -> list[str]:
    """Give the worker (and so its children) an empty network, its own IPC and
    a mount namespace for its private root (fsroot.py).

    As root: the three namespaces. Unprivileged: a user namespace first
    (mapping our uid to itself), which grants the right to make the others.
    Returns the layers entered; raises OSError when not allowed.
    """
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS
    if uid == 0:
        _unshare(flags)
        return ["netns", "ipcns", "mountns"]
    _unshare(CLONE_NEWUSER | flags)
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")
    return ["userns", "netns", "ipcns", "mountns"]


def enter_pid_namespace() -> None:
    """Make the next process this one forks pid 1 of a new pid namespace (the
    zygote): what it forks sees no host process, and dies with it. Call right
    before that fork: any process forked earlier (a library running a helper
    program) would become pid 1 instead, and the namespace would die with it."""
    _unshare(CLONE_NEWPID)


def _unshare(flags: int) -> None:
    # os.unshare arrived in Python 3.12; libc's works everywhere.
    _check(_libc.unshare(flags), "unshare")


def landlock_ruleset(read_paths: list[str], write_paths: list[str], abi: int) -> int:
    """A ruleset fd: read (and map) `read_paths`, read-write `write_paths`, nothing
    else on the filesystem; no TCP bind/connect (ABI >= 4); no abstract unix
    sockets or signals outside the sandbox (ABI >= 6)."""
    fs = FS_READ | FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR | FS_MAKE_REG
    fs |= FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM
    if abi >= 2:
        fs |= FS_REFER
    if abi >= 3:
        fs |= FS_TRUNCATE
    if abi >= 5:
        fs |= FS_IOCTL_DEV
    attr = _RulesetAttr(fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    fd = _check(_libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0), "landlock_create_ruleset")
    write_rights = fs & ~(FS_EXECUTE | FS_MAKE_CHAR | FS_MAKE_BLOCK | (FS_IOCTL_DEV if abi >= 5 else 0))
    for paths, rights in ((read_paths, FS_READ), (write_paths, write_rights)):
        for path in paths:
            if not os.path.exists(path):
                continue
            rights_here = rights if os.path.isdir(path) else rights & (FS_EXECUTE | FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE)
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneathAttr(rights_here, pfd)
                _check(_libc.syscall(SYS_LANDLOCK_ADD_RULE, fd, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0), f"landlock_add_rule {path}")
            finally:
                os.close(pfd)
    return fd


class CompiledSeccomp:
    """A seccomp filter compiled to BPF once; `load` installs it with one prctl.

    (libseccomp's own load regenerates the BPF program every time, ~0.5 ms per
    child; this keeps the bytes and hands them to the kernel directly.)
    """

    PR_SET_SECCOMP = 22
    SECCOMP_MODE_FILTER = 2

    class _SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    def __init__(self, bpf: bytes):
        if not bpf or len(bpf) % 8:
            raise ValueError("seccomp: libseccomp exported an empty or malformed program")
        self._program = ctypes.create_string_buffer(bpf, len(bpf))
        self._fprog = self._SockFprog(len(bpf) // 8, ctypes.addressof(self._program))

    def load(self) -> None:
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
        result = _libc.prctl(self.PR_SET_SECCOMP, self.SECCOMP_MODE_FILTER, ctypes.addressof(self._fprog), 0, 0)
        _check(result, "prctl(SET_SECCOMP)")


def compiled_seccomp_filter() -> CompiledSeccomp:
    """The deny-list filter below, as BPF ready to load."""
    libseccomp_filter = seccomp_filter()
    fd = os.memfd_create("seccomp-bpf")
    try:
        with os.fdopen(os.dup(fd), "wb") as handle:
            libseccomp_filter.export_bpf(handle)
        size = os.fstat(fd).st_size
        return CompiledSeccomp(os.pread(fd, size, 0))
    finally:
        os.close(fd)


F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 5, 6, 7, 36, 37, 38
PR_SET_PDEATHSIG_OPTION = 1
IOPRIO_WHO_PROCESS = 1


def seccomp_filter():
    """A libseccomp filter (built once per worker, loaded in each child).

    Deny-list: running programs, new processes (threads stay allowed), sockets,
    debugging other processes, namespace and mount changes (old and new mount
    API), kernel keyrings, io_uring, eBPF, signalling every process
    (kill(-1, ...)) or a group other than ours. Also every kernel object that
    outlives a process or is shared across processes without a file a job
    owns: SysV IPC, POSIX message queues, memfds (memory outside the address
    space limit), inotify/fanotify, file locks (a lock on a shared read-only
    library file is a channel between samples running side by side). And
    changing another process's resources or scheduling (prlimit, nice,
    affinity, policy, I/O priority: the worker and its other children share
    our uid when unprivileged): only pid 0, the caller itself, is allowed.
    Denied calls fail with EPERM (clone3 with ENOSYS, so the C library falls
    back to clone, where threads are told apart from processes).
    """
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)
    denied = [
        "execve", "execveat", "fork", "vfork", "socket", "socketpair", "ptrace", "process_vm_readv",
        "process_vm_writev", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf",
        "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
        "perf_event_open", "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key",
        "request_key", "userfaultfd", "open_by_handle_at", "name_to_handle_at", "kexec_load",
        "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct",
        "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "fanotify_init", "fanotify_mark", "mknod", "mknodat",
        "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "capset",
        "move_pages", "migrate_pages", "mbind", "set_mempolicy", "quotactl", "lookup_dcookie",
        "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
        "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
        "mq_notify", "mq_getsetattr", "memfd_create", "memfd_secret", "inotify_init", "inotify_init1",
        "inotify_add_watch", "flock", "kcmp", "process_madvise", "process_mrelease", "vhangup", "syslog",
    ]
    for name in denied:
        try:
            f.add_rule(eperm, name)
        except (ValueError, OSError, RuntimeError):  # not on this architecture
            pass
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    # clone without CLONE_THREAD makes a process.
    f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    # kill(pid <= -1) reaches every process or another process group.
    for name in ("kill", "rt_sigqueueinfo", "tgkill"):
        f.add_rule(eperm, name, sc.Arg(0, sc.GE, 1 << 31))  # negative pid_t seen as unsigned
    # Only ourselves (pid 0) for resources and scheduling.
    for name in ("prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr"):
        f.add_rule(eperm, name, sc.Arg(0, sc.NE, 0))
    for index in (0, 1):  # setpriority(PRIO_PROCESS=0, who=0, ...) only: not our group, not our uid
        f.add_rule(eperm, "setpriority", sc.Arg(index, sc.NE, 0))
    f.add_rule(eperm, "ioprio_set", sc.Arg(0, sc.NE, IOPRIO_WHO_PROCESS))
    f.add_rule(eperm, "ioprio_set", sc.Arg(1, sc.NE, 0))
    f.add_rule(eperm, "prctl", sc.Arg(0, sc.EQ, PR_SET_PDEATHSIG_OPTION))  # keep dying with the zygote
    for command in (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW):
        f.add_rule(eperm, "fcntl", sc.Arg(1, sc.EQ, command))
    return f


# --- per child ----------------------------------------------------------------

def set_rlimits(*, memory_bytes: int, cpu_seconds: int, file_bytes: int, open_files: int, processes: int | None) -> None:
    """Soft = hard, so a program can only lower them (RLIMIT_CPU's hard limit is
    one second above, turning SIGXCPU into SIGKILL if it is ignored)."""
    limits = [
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_FSIZE, file_bytes),
        (resource.RLIMIT_NOFILE, open_files),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ]
    if processes is not None:
        limits.append((resource.RLIMIT_NPROC, processes))
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else value + 1))


def die_with_parent() -> None:
    """SIGKILL when the worker dies (set per child: fork clears it)."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PDEATHSIG)")


def set_not_dumpable() -> None:
    """No ptrace, no /proc/<pid>/mem for same-uid processes (inherited by forks)."""
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(DUMPABLE)")


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges(uid: int) -> None:
    """As root: become an unprivileged uid of the worker's own (so RLIMIT_NPROC
    counts, and the zygote and worker, still root, are out of reach of
    prlimit, renice, affinity and signals). Every capability goes with it."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def drop_capabilities() -> None:
    """Inside an unprivileged user namespace (no second uid to switch to):
    give up the capabilities the namespace granted."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


def restrict_landlock(ruleset_fd: int) -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(_libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset_fd, 0), "landlock_restrict_self")


def python_read_paths() -> list[str]:
    """What a Python program legitimately reads: the interpreter's libraries,
    the installed packages, the system's shared libraries and a few devices.
    (Computed on the host, before the worker enters its private root.)"""
    import site
    import sysconfig

    paths = {sys.base_prefix, sys.prefix, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
    paths.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p or p.endswith("lib-dynload"))
    paths.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    paths.update(["/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache", "/etc/localtime",
                  "/usr/share/zoneinfo", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"])
    # Never the repository, the user's home or the data: only library folders.
    return sorted(p for p in paths if p and os.path.exists(p))
