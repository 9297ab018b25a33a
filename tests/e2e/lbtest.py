"""Small harness for lifeboat end-to-end tests (Python 3.11 stdlib only).

Binary: env LIFEBOAT_BIN, or `--lifeboat PATH` on the test script's command
line (removed before unittest sees argv).  Each test gets a fresh temp dir
under /tmp with an environment where LIFEBOAT_REPO=<tmp>/repo and
LIFEBOAT_PASSWORD is set; HOME/XDG_CACHE_HOME point into the temp dir too.
Set LIFEBOAT_E2E_KEEP=1 to keep the temp dirs of failed tests.

    class T(lbtest.LBTestCase):
        def test_x(self):
            self.lb.init()
            s = self.lb.backup(self.src)          # summary dict
            self.lb.run(["restore", "latest", "--target", t])
    if __name__ == "__main__":
        lbtest.main()
"""

from __future__ import annotations

import calendar
import json
import os
import re
import resource
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

LIFEBOAT_BIN: str | None = os.environ.get("LIFEBOAT_BIN")
PASSWORD = "correct horse battery staple"
KDF_ARGS = ["--kdf-mem-mib", "8", "--kdf-ops", "1"]
DEFAULT_TIMEOUT = 600

# exit codes of the CLI contract
EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
EXIT_NO_REPO, EXIT_LOCKED, EXIT_WRONG_PASSWORD = 10, 11, 12

NOBODY = 65534


def _clip(s, limit=6000) -> str:
    if isinstance(s, bytes):
        s = s.decode("utf-8", "backslashreplace")
    if s is None:
        return ""
    if len(s) > limit:
        s = s[: limit // 2] + "\n...[%d chars cut]...\n" % (len(s) - limit) + s[-limit // 2:]
    return s


def parse_json_lines(text: str) -> list:
    """Parse stdout made of JSON lines (blank lines ignored)."""
    out = []
    for i, line in enumerate(text.splitlines()):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise AssertionError("stdout line %d is not JSON (%s): %r" % (i + 1, e, line[:500]))
    return out


def rfc3339_ns(ns: int) -> str:
    """RFC3339 UTC with nanoseconds: 2026-11-20T13:00:05.123456789Z."""
    sec, frac = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%09dZ" % frac


_RFC3339_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def parse_rfc3339_utc(s: str) -> int:
    """'2026-11-20T13:00:05.123456789Z' -> ns since epoch (UTC 'Z' only)."""
    m = _RFC3339_RE.match(s)
    if not m:
        raise ValueError("not an RFC3339 UTC time with Z: %r" % s)
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "").ljust(9, "0")
    return calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)) * 10**9 + int(frac or 0)


def force_rmtree(path) -> None:
    """Remove a tree with dir_fd-relative calls: copes with paths longer than
    PATH_MAX and (when not root) with mode-0000 directories."""
    path = os.fsencode(path)
    if not os.path.lexists(path):
        return

    def rm_at(dfd: int, name: bytes) -> None:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(name, dir_fd=dfd)
            return
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            cfd = os.open(name, flags, dir_fd=dfd)
        except PermissionError:
            os.chmod(name, 0o700, dir_fd=dfd)
            cfd = os.open(name, flags, dir_fd=dfd)
        try:
            if not os.access(b"/proc/self/fd/%d" % cfd, os.W_OK | os.X_OK):
                os.chmod(cfd, 0o700)
            for child in os.listdir(cfd):
                rm_at(cfd, os.fsencode(child))
        finally:
            os.close(cfd)
        os.rmdir(name, dir_fd=dfd)

    parent = os.path.dirname(os.path.abspath(path))
    pfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        rm_at(pfd, os.path.basename(os.path.abspath(path)))
    finally:
        os.close(pfd)


def listing(root: str, contents: bool = False) -> dict:
    """{relpath: (type, mode, size, mtime_ns[, sha256])} of everything below root
    (directories included, so that created-then-deleted files show up as a
    changed directory mtime)."""
    import hashlib

    out = {}
    if not os.path.lexists(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames + ([""] if dirpath == root else []):
            p = os.path.join(dirpath, n) if n else dirpath
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            t = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f"
            rec = (t, stat.S_IMODE(st.st_mode), st.st_size if t != "d" else 0, st.st_mtime_ns)
            if contents and t == "f":
                with open(p, "rb") as f:
                    rec += (hashlib.sha256(f.read()).hexdigest(),)
            out[rel] = rec
    return out


def files_below(root: str) -> list[str]:
    """All non-directory paths below root (relative)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, n), root))
        for n in dirnames:
            if os.path.islink(os.path.join(dirpath, n)):
                out.append(os.path.relpath(os.path.join(dirpath, n), root))
    return sorted(out)


def write_file(path: str, data: bytes | str, mode: int | None = None) -> str:
    if isinstance(data, str):
        data = data.encode()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mode is not None:
        os.chmod(path, mode)
    return path


def read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class Lifeboat:
    """Runs the lifeboat binary against one test's repository."""

    def __init__(self, tmp: str, binary: str):
        self.tmp = tmp
        self.bin = binary
        self.repo = os.path.join(tmp, "repo")
        self.password = PASSWORD
        self.home = os.path.join(tmp, "home")
        os.makedirs(self.home, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEBOAT_")}
        env.update({
            "LIFEBOAT_REPO": self.repo,
            "LIFEBOAT_PASSWORD": self.password,
            "HOME": self.home,
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
        })
        self.env = env

    def run(self, args, input=None, expect=EXIT_OK, env=None, cwd=None, as_user=None,
            max_fds=None, timeout=DEFAULT_TIMEOUT) -> subprocess.CompletedProcess:
        """Run `lifeboat ARGS`.  expect: exit code to assert (None = any).
        env: overrides merged into the test env (value None removes the var).
        as_user: uid to run as (root only; gid = uid, no supplementary groups).
        max_fds: limit on open file descriptors (RLIMIT_NOFILE) for the run.
        stdout/stderr are returned as str (UTF-8, invalid bytes escaped)."""
        full_env = dict(self.env)
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        if isinstance(input, str):
            input = input.encode()
        def preexec(uid=as_user, fds=max_fds):
            if fds is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (fds, fds))
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
        cmd = [self.bin] + [str(a) for a in args]
        started = time.monotonic()
        try:
            p = subprocess.run(cmd, input=input, stdin=None if input is not None else subprocess.DEVNULL,
                               capture_output=True, env=full_env, cwd=cwd, timeout=timeout,
                               preexec_fn=preexec if as_user is not None or max_fds is not None
                               else None)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("timeout after %ss: %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                                 % (timeout, _fmt_cmd(cmd), _clip(e.stdout), _clip(e.stderr)))
        p.stdout = p.stdout.decode("utf-8", "backslashreplace")
        p.stderr = p.stderr.decode("utf-8", "backslashreplace")
        p.elapsed = time.monotonic() - started
        if expect is not None and p.returncode != expect:
            raise AssertionError("exit code %d, expected %d: %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                                 % (p.returncode, expect, _fmt_cmd(cmd), _clip(p.stdout), _clip(p.stderr)))
        return p

    def run_json(self, args, expect=EXIT_OK, **kw):
        """Run with --json added (before the args) and parse stdout as one JSON value."""
        p = self.run(["--json"] + list(args), expect=expect, **kw)
        try:
            return json.loads(p.stdout)
        except json.JSONDecodeError as e:
            raise AssertionError("stdout of %s is not JSON (%s):\n%s" % (args, e, _clip(p.stdout)))

    def run_jsonl(self, args, expect=EXIT_OK, **kw) -> list:
        """Run with --json added and parse stdout as JSON lines."""
        p = self.run(["--json"] + list(args), expect=expect, **kw)
        return parse_json_lines(p.stdout)

    # ---- common commands -------------------------------------------------
    def init(self, *extra, **kw):
        return self.run(["init", *KDF_ARGS, *extra], **kw)

    def backup(self, paths, *extra, expect=EXIT_OK, **kw) -> dict:
        """`backup --json PATHS EXTRA`; returns the summary object (last line)."""
        if isinstance(paths, str):
            paths = [paths]
        lines = self.run_jsonl(["backup", *paths, *extra], expect=expect, **kw)
        return summary_of(lines)

    def snapshots(self, **kw) -> list:
        snaps = self.run_json(["snapshots"], **kw)
        if not isinstance(snaps, list):
            raise AssertionError("snapshots --json is not an array: %r" % (snaps,))
        return snaps

    def restore(self, snap, target, *extra, expect=EXIT_OK, **kw):
        args = ["restore"] + ([snap] if snap else []) + ["--target", target, *extra]
        return self.run(args, expect=expect, **kw)

    def ls(self, snap, path=None, **kw) -> list[str]:
        p = self.run(["ls", snap] + ([path] if path else []), **kw)
        return [l for l in p.stdout.splitlines() if l.strip()]


def summary_of(lines: list, strict: bool = True) -> dict:
    """The last JSON line, which must be {"message_type": "summary", ...}.
    strict: all other lines must have message_type "status" or "warning"
    (the backup contract)."""
    if not lines:
        raise AssertionError("no JSON output")
    last = lines[-1]
    if not isinstance(last, dict) or last.get("message_type") != "summary":
        raise AssertionError("last JSON line is not a summary: %r" % (last,))
    if strict:
        for l in lines[:-1]:
            if not isinstance(l, dict) or l.get("message_type") not in ("status", "warning"):
                raise AssertionError("unexpected JSON line (message_type must be status/warning): %r" % (l,))
    return last


def _fmt_cmd(cmd) -> str:
    import shlex
    return " ".join(shlex.quote(c) for c in cmd)


def restored_path(target: str, src: str) -> str:
    """Restore layout: a snapshot of /abs/src restores to TARGET/abs/src."""
    return os.path.join(target, os.path.abspath(src).lstrip("/"))


class LBTestCase(unittest.TestCase):
    """Fresh temp dir + Lifeboat helper per test."""

    maxDiff = 20000

    def setUp(self):
        if not LIFEBOAT_BIN:
            raise RuntimeError("lifeboat binary not set (use --lifeboat PATH or LIFEBOAT_BIN)")
        # LB_E2E_TMPDIR: ctest points tests whose logic does not depend on the file
        # system at tmpfs (/dev/shm), where fsync costs nothing.
        self.tmp = tempfile.mkdtemp(prefix="lifeboat-e2e-", dir=os.environ.get("LB_E2E_TMPDIR") or "/tmp")
        os.chmod(self.tmp, 0o755)
        self.lb = Lifeboat(self.tmp, LIFEBOAT_BIN)
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        failed = False
        outcome = getattr(self, "_outcome", None)
        if outcome is not None:
            res = getattr(outcome, "result", None)
            if res is not None:
                failed = any(t is self for t, _ in list(res.failures) + list(res.errors))
            if not getattr(outcome, "success", True):
                failed = True
        if failed and os.environ.get("LIFEBOAT_E2E_KEEP"):
            sys.stderr.write("\nkept temp dir: %s\n" % self.tmp)
            return
        force_rmtree(self.tmp)

    def path(self, *parts) -> str:
        return os.path.join(self.tmp, *parts)

    def assertOneLineError(self, p: subprocess.CompletedProcess):
        err = p.stderr.strip()
        self.assertTrue(err, "expected an error message on stderr")
        self.assertEqual(len(err.splitlines()), 1, "error must be one line on stderr, got:\n" + p.stderr)

    def assertListingEqual(self, before: dict, after: dict, msg: str):
        """Compare two listing() results, reporting added/removed/changed entries."""
        if before == after:
            return
        lines = ["added: %s" % k for k in sorted(set(after) - set(before))]
        lines += ["removed: %s" % k for k in sorted(set(before) - set(after))]
        lines += ["changed: %s %r -> %r" % (k, before[k], after[k])
                  for k in sorted(set(before) & set(after)) if before[k] != after[k]]
        self.fail("%s:\n  %s" % (msg, "\n  ".join(lines[:50])))

    def assertTreeEqual(self, orig_snapshot: dict, restored_root: str, msg: str = ""):
        import treetools
        diffs = treetools.compare_trees(orig_snapshot, treetools.snapshot_tree(restored_root))
        if diffs:
            self.fail("%s%d difference(s):\n  %s" % (msg + ": " if msg else "", len(diffs),
                                                    "\n  ".join(diffs[:80])))


def main():
    """Entry point for test scripts: strips --lifeboat PATH, then unittest.main."""
    global LIFEBOAT_BIN
    argv = list(sys.argv)
    rest = [argv[0]]
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--lifeboat" and i + 1 < len(argv):
            LIFEBOAT_BIN = argv[i + 1]
            i += 2
            continue
        if a.startswith("--lifeboat="):
            LIFEBOAT_BIN = a.split("=", 1)[1]
            i += 1
            continue
        rest.append(a)
        i += 1
    if not LIFEBOAT_BIN:
        sys.stderr.write("error: lifeboat binary not given: pass --lifeboat PATH or set LIFEBOAT_BIN\n")
        sys.exit(2)
    LIFEBOAT_BIN = os.path.abspath(LIFEBOAT_BIN)
    if not (os.path.isfile(LIFEBOAT_BIN) and os.access(LIFEBOAT_BIN, os.X_OK)):
        sys.stderr.write("error: lifeboat binary %s does not exist or is not executable\n" % LIFEBOAT_BIN)
        sys.exit(2)
    unittest.main(argv=rest, verbosity=2)
