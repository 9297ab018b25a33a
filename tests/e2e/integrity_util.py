"""Helpers for the integrity, crash, concurrency and full-disk end-to-end tests.

Repository layout (docs/format.md): data/XX/<sha256> packs, index/<sha256>,
snapshots/<sha256>, keys/, locks/.  Names starting with "." are temporary files
that readers ignore.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import time

import lbtest

MiB = 1024 * 1024
HEX64 = re.compile(r"^[0-9a-f]{64}$")
AFFECTS_RE = re.compile(r"^\s+affects snapshot ([0-9a-f]{8,})\s+(.*?)\s*$")


# ---------------------------------------------------------------- scratch space
def fast_tmpdir(prefix: str, need_bytes: int = 1 << 30) -> str:
    """A temp dir on /dev/shm when that is a writable tmpfs with need_bytes free
    (creating and deleting hundreds of MiB per iteration is slow on some disks:
    the crash tests are about killed processes, not about power loss), else /tmp."""
    import tempfile
    base = "/tmp"
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize >= need_bytes and os.access("/dev/shm", os.W_OK):
            base = "/dev/shm"
    except OSError:
        pass
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    os.chmod(d, 0o755)
    return d


# ---------------------------------------------------------------- source trees
def make_random_tree(root: str, total_bytes: int, seed: int, min_size: int = 64 * 1024,
                     max_size: int = 1536 * 1024, subdirs: int = 4, prefix: str = "f") -> dict:
    """Write random (incompressible, seed-determined) files below root until
    total_bytes are written; returns {relpath: sha256}.  No empty directories."""
    rng = random.Random(seed)
    out = {}
    written, i = 0, 0
    while written < total_bytes:
        size = min(rng.randrange(min_size, max_size + 1), total_bytes - written)
        rel = os.path.join("d%d" % (i % subdirs), "%s%04d.bin" % (prefix, i))
        data = rng.randbytes(size)
        lbtest.write_file(os.path.join(root, rel), data)
        out[rel] = hashlib.sha256(data).hexdigest()
        written += size
        i += 1
    return out


def hash_tree(root: str) -> dict:
    """{relpath: sha256} of every regular file below root."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for n in files:
            p = os.path.join(dirpath, n)
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            out[os.path.relpath(p, root)] = h.hexdigest()
    return out


def diff_hashes(want: dict, got: dict, limit: int = 20) -> list[str]:
    lines = ["missing: %s" % k for k in sorted(set(want) - set(got))]
    lines += ["extra: %s" % k for k in sorted(set(got) - set(want))]
    lines += ["content differs: %s" % k for k in sorted(set(want) & set(got)) if want[k] != got[k]]
    return lines[:limit]


# ---------------------------------------------------------------- repository files
def pack_files(repo: str) -> dict:
    """{pack id: path} of the pack files (data/XX/<id>)."""
    out = {}
    d = os.path.join(repo, "data")
    if not os.path.isdir(d):
        return out
    for sub in os.listdir(d):
        sd = os.path.join(d, sub)
        if sub.startswith(".") or not os.path.isdir(sd):
            continue
        for n in os.listdir(sd):
            if not n.startswith("."):
                out[n] = os.path.join(sd, n)
    return out


def kind_files(repo: str, kind: str) -> dict:
    """{name: path} of index/, snapshots/, locks/ or keys/ (temp files skipped)."""
    d = os.path.join(repo, kind)
    if not os.path.isdir(d):
        return {}
    return {n: os.path.join(d, n) for n in os.listdir(d) if not n.startswith(".")}


def data_bytes(repo: str) -> int:
    return sum(os.path.getsize(p) for p in pack_files(repo).values())


def flip_bit(path: str, offset: int, bit: int = 0) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ (1 << bit)]))


def truncate_half(path: str) -> None:
    os.truncate(path, os.path.getsize(path) // 2)


# ---------------------------------------------------------------- check
CHECK_KINDS = ("pack", "index", "snapshot", "tree", "blob")


def check_json(tc, *args, expect=lbtest.EXIT_OK, **kw) -> dict:
    """`lifeboat --json check ARGS`: one JSON object; validates its shape and
    that "ok" agrees with the exit code.  tc: the test case."""
    p = tc.lb.run(["--json", "check", *args], expect=expect, **kw)
    try:
        j = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        tc.fail("check --json stdout is not one JSON value (%s):\n%s\n--- stderr ---\n%s"
                % (e, lbtest._clip(p.stdout), lbtest._clip(p.stderr)))
    tc.assertIsInstance(j, dict)
    tc.assertEqual(j.get("message_type"), "check", j)
    for k in ("snapshots", "packs", "packs_read", "blobs_read"):
        tc.assertIsInstance(j.get(k), int, "check --json: %s" % k)
        tc.assertGreaterEqual(j[k], 0)
    tc.assertIsInstance(j.get("warnings"), list)
    tc.assertIsInstance(j.get("errors"), list)
    tc.assertIsInstance(j.get("ok"), bool)
    tc.assertEqual(j["ok"], p.returncode == 0, "check 'ok' disagrees with exit code %d" % p.returncode)
    tc.assertEqual(j["ok"], not j["errors"], "check 'ok' disagrees with the error list: %r" % j["errors"][:5])
    for e in j["errors"]:
        tc.assertIn(e.get("kind"), CHECK_KINDS, e)
        tc.assertRegex(e.get("id", ""), r"^[0-9a-f]+$", e)
        tc.assertIsInstance(e.get("message"), str, e)
        tc.assertIsInstance(e.get("affects", []), list, e)
        for a in e.get("affects", []):
            tc.assertRegex(a.get("snapshot", ""), HEX64, e)
            tc.assertIsInstance(a.get("path"), str, e)
    j["_stderr"] = p.stderr
    return j


def check_text(tc, *args, expect=lbtest.EXIT_OK, **kw) -> tuple[str, list]:
    """`lifeboat check ARGS` (text).  Returns (all output, [(error line,
    [(snapshot prefix, path), ...])]).  Errors may go to stdout or stderr."""
    p = tc.lb.run(["check", *args], expect=expect, **kw)
    out = p.stdout + "\n" + p.stderr
    errors = []
    for stream in (p.stdout, p.stderr):
        cur = None
        for line in stream.splitlines():
            if line.startswith("error: "):
                cur = (line, [])
                errors.append(cur)
                continue
            m = AFFECTS_RE.match(line)
            if m and cur is not None:
                cur[1].append((m.group(1), m.group(2)))
            elif not line.startswith((" ", "\t")):
                cur = None
    if expect == lbtest.EXIT_OK:
        tc.assertEqual(errors, [], "check exit 0 but printed errors")
    return out, errors


def json_errors_for(j: dict, obj_id: str, kind: str | None = None) -> list:
    """Errors whose id names obj_id (full id or a prefix of at least 8 chars)."""
    out = []
    for e in j["errors"]:
        eid = e.get("id", "")
        if len(eid) >= 8 and (obj_id.startswith(eid) or eid.startswith(obj_id)):
            if kind is None or e.get("kind") == kind:
                out.append(e)
    return out


def all_affects(j: dict) -> list:
    return [(a["snapshot"], a["path"]) for e in j["errors"] for a in e.get("affects", [])]


# ---------------------------------------------------------------- processes
def popen(lb, args, stdin=subprocess.DEVNULL, name="bg"):
    """Start `lifeboat ARGS` in the background; stdout/stderr go to files
    (so that a chatty process never blocks on a full pipe).  Returns the
    Popen with .out_path/.err_path and .started."""
    out_path = os.path.join(lb.tmp, "%s-%d.out" % (name, time.monotonic_ns()))
    err_path = out_path[:-4] + ".err"
    fo, fe = open(out_path, "wb"), open(err_path, "wb")
    try:
        p = subprocess.Popen([lb.bin] + [str(a) for a in args], env=lb.env, stdin=stdin,
                             stdout=fo, stderr=fe)
    finally:
        fo.close()
        fe.close()
    p.out_path, p.err_path, p.started = out_path, err_path, time.monotonic()
    return p


def output_of(p) -> tuple[str, str]:
    def rd(path):
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "backslashreplace")
    return rd(p.out_path), rd(p.err_path)


def kill9(p) -> bool:
    """SIGKILL the process we started (by its pid) unless it has exited.
    Returns True if it was still running (i.e. it was really killed)."""
    if p.poll() is not None:
        return False
    try:
        os.kill(p.pid, 9)
    except ProcessLookupError:
        pass
    p.wait()
    if p.stdin:
        try:
            p.stdin.close()
        except OSError:
            pass
    return p.returncode == -9


def wait_for_lock(repo: str, proc, timeout: float = 15.0) -> bool:
    """Wait until a lock file is visible in repo/locks while proc runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kind_files(repo, "locks"):
            return True
        if proc is not None and proc.poll() is not None:
            return bool(kind_files(repo, "locks"))
        time.sleep(0.005)
    return False


# ---------------------------------------------------------------- assertions
def assert_restores(tc, snap: str, src: str, want: dict, target: str | None = None, msg: str = ""):
    """Restore snapshot `snap` (id) and compare the files below src with want
    ({relpath: sha256})."""
    target = target or tc.path("restore-%s-%d" % (snap[:8], time.monotonic_ns()))
    tc.lb.restore(snap, target)
    got = hash_tree(lbtest.restored_path(target, src))
    d = diff_hashes(want, got)
    if d:
        tc.fail("%srestore of %s is not identical (%d problems):\n  %s"
                % (msg + ": " if msg else "", snap[:8], len(d), "\n  ".join(d)))
    lbtest.force_rmtree(target)
