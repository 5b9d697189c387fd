"""The sandbox: the one place untrusted model code runs.

The invariant: nothing a program writes or does changes its own limits or
verdict, what later samples see, the workers or the controller; the
controller survives any sample, and the same program gets the same verdict
however busy the machine is. Under RL the policy is the judge's adversary, so
each layer below says what it guarantees, and tests/reward/test_sandbox_*.py
attack each one.

Processes (one module each):

- controller (pool.py, in the mc process): keeps every expected output and
  compares (judge.py); it sends workers only code, inputs and limits, holds no
  program output beyond the comparison of one test, and replaces a worker that
  dies, hangs or whose job it interrupted;
- worker (worker.py): started with a scrubbed environment; once, it enters
  network, IPC and mount namespaces (plus a user namespace when
  unprivileged), pivots into a private read-only root (fsroot.py), builds the
  Landlock ruleset and the seccomp filter, and forks its zygote. Per job it
  mounts a fresh scratch, hands out one test at a time, measures each test's
  CPU time itself on the process's CPU clock (a wall-clock cap catches
  sleepers), reads stdout from the memfd, caps frames and outputs, kills and
  re-forks after a crash; exit codes and the program's own frames are never
  trusted for time or verdict;
- zygote (zygote.py): pid 1 of the worker's pid namespace; forks every
  sandboxed process from a memory that never held a job, so no program sees
  what the worker held before (other samples' code, outputs, checker answers);
- sandboxed process (layers applied in worker._child_setup, then harness.py):
  stdin/stdout/stderr on memfds, every other descriptor closed; rlimits
  (address space, CPU seconds as a backstop, file size = output cap, open
  files, threads); a uid of its own (as root) or no capabilities (in a user
  namespace), so the worker and zygote are out of reach of signals, prlimit,
  nice, affinity; dies with the zygote; Landlock: reads only the library
  folders, writes only beneath /sandbox, no TCP, no abstract unix sockets or
  signals outside its domain; seccomp deny-list: exec, fork, sockets, ptrace,
  process_vm, namespaces and mounts, bpf, io_uring, keyrings, SysV IPC, POSIX
  message queues, memfds, inotify/fanotify, file locks, other processes'
  limits and scheduling;
- assert tests (remote.py): the program and the test code run in two such
  processes; the test process runs only the test code on plain data, so the
  program can neither skip, bend nor read the asserts.

The private root shows only the interpreter's library folders, a few devices
and /sandbox/scratch (a size- and inode-capped tmpfs, new for every job): no
/proc, /sys, /tmp, home folders, data or repository, so host files cannot be
read, listed, statted or watched, and nothing a program leaves (files, links,
modes, xattrs, planted modules) reaches a later sample.

What it does not isolate: CPU caches and timing side channels (including
between samples running at the same time on other workers); the kernel itself
(a kernel exploit reachable through the allowed system calls escapes); reads
of the interpreter's own library files (allowed by design). Without Landlock,
seccomp or namespaces (old kernels, some containers) the worker reports the
missing layers in every record's `isolation`, and `Sandbox(isolation="full")`
refuses to start.
"""
