"""Tree building / snapshotting / comparison tools for lifeboat end-to-end tests.

Python 3.11 standard library only.

* make_fidelity_tree(root)  builds a directory tree containing every case a
  backup tool must reproduce (see the function's docstring).
* snapshot_tree(root)       records the metadata and content hashes of a tree.
  It walks with bytes names and dir_fd-relative calls, so it handles paths
  longer than PATH_MAX and names that are not valid UTF-8.
* compare_trees(a, b)       lists the differences between two snapshots
  ("a" is the original, "b" the copy/restore).  Empty list == identical.

Paths in snapshots are bytes, relative to the root; the root itself is b".".
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shutil
import stat
import struct
import subprocess
import sys

MiB = 1024 * 1024

# Slack (in 512-byte blocks) allowed when checking that a restored file is not
# less sparse than the original.
BLOCKS_SLACK = 64

# Ownership used for files in the fidelity tree when running as root.
FILE_UID, FILE_GID = 1234, 5678
DIR_UID, DIR_GID = 4321, 8765
LINK_UID, LINK_GID = 1111, 2222

NOBODY_UID = 65534

# Long path: LONG_DEPTH nested directories with LONG_NAME_LEN-byte names.
LONG_DEPTH = 25
LONG_NAME_LEN = 200

OUTSIDE_DIR_NAME = b"fidelity-outside"
OUTSIDE_FILE_NAME = b"victim.txt"
OUTSIDE_CONTENT = b"this file lives outside the fidelity tree and must never change\n"

_MTIME_BASE_NS = 1_500_000_000 * 10**9  # 2017-07-14
_MTIME_SPAN_NS = 200_000_000 * 10**9  # ~6 years


def _b(p) -> bytes:
    return os.fsencode(p)


def is_root() -> bool:
    return os.geteuid() == 0


def outside_path(root) -> bytes:
    """Absolute path of the file that the fidelity tree's absolute symlink points
    to.  It lives next to (not inside) the tree: <parent of root>/fidelity-outside/
    victim.txt, so two trees built in the same parent directory are identical."""
    root = os.path.abspath(_b(root))
    return os.path.join(os.path.dirname(root), OUTSIDE_DIR_NAME, OUTSIDE_FILE_NAME)


def long_path_components() -> list[bytes]:
    """Directory names of the > PATH_MAX chain (relative to <root>/long)."""
    return [(b"%02d-" % i) + b"d" * (LONG_NAME_LEN - 3) for i in range(LONG_DEPTH)]


LONG_FILE_NAME = b"bottom.txt"
LONG_FILE_CONTENT = b"the bottom of a path longer than PATH_MAX\n"


def long_file_relpath() -> bytes:
    return b"/".join([b"long"] + long_path_components() + [LONG_FILE_NAME])


# --------------------------------------------------------------------------
# POSIX ACL xattr encoding (used when setfacl is not installed).
# --------------------------------------------------------------------------
ACL_EA_VERSION = 2
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
ACL_UNDEFINED_ID = 0xFFFFFFFF


def encode_posix_acl(entries: list[tuple[int, int, int | None]]) -> bytes:
    """entries: (tag, perm, id-or-None).  Returns the system.posix_acl_* value,
    entries sorted the way the kernel wants them (by tag, then id)."""
    out = struct.pack("<I", ACL_EA_VERSION)
    for tag, perm, ident in sorted(entries, key=lambda e: (e[0], -1 if e[2] is None else e[2])):
        out += struct.pack("<HHI", tag, perm, ACL_UNDEFINED_ID if ident is None else ident)
    return out


def acl_user_read(mode: int, uid: int) -> bytes:
    """The ACL `setfacl -m u:<uid>:r` gives a file whose permission bits are
    `mode` (mask = group bits | r)."""
    g = (mode >> 3) & 7
    return encode_posix_acl([
        (ACL_USER_OBJ, (mode >> 6) & 7, None),
        (ACL_USER, 4, uid),
        (ACL_GROUP_OBJ, g, None),
        (ACL_MASK, g | 4, None),
        (ACL_OTHER, mode & 7, None),
    ])


def acl_default_user_rx(uid: int) -> bytes:
    """Default ACL `setfacl -d -m u:<uid>:rx` on a 0755 directory."""
    return encode_posix_acl([
        (ACL_USER_OBJ, 7, None),
        (ACL_USER, 5, uid),
        (ACL_GROUP_OBJ, 5, None),
        (ACL_MASK, 5, None),
        (ACL_OTHER, 5, None),
    ])


def _set_acl(path: bytes, kind: str, use_setfacl: bool | None = None) -> None:
    """kind: 'access' (u:nobody:r on a 0644 file) or 'default' (u:nobody:rx on a dir)."""
    if use_setfacl is None:
        use_setfacl = shutil.which("setfacl") is not None
    if use_setfacl:
        args = ["setfacl", "-m", "u:%d:r" % NOBODY_UID] if kind == "access" else \
               ["setfacl", "-d", "-m", "u:%d:rx" % NOBODY_UID]
        subprocess.run(args + ["--", os.fsdecode(path)], check=True)
    elif kind == "access":
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        os.setxattr(path, "system.posix_acl_access", acl_user_read(mode, NOBODY_UID))
    else:
        os.setxattr(path, "system.posix_acl_default", acl_default_user_rx(NOBODY_UID))


# --------------------------------------------------------------------------
# make_fidelity_tree
# --------------------------------------------------------------------------
def _write(path: bytes, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)
    os.chmod(path, mode)


def _mkdir(path: bytes, mode: int = 0o755) -> None:
    os.mkdir(path, 0o700)
    os.chmod(path, mode)


def _mtime_for(rel: bytes) -> int:
    h = hashlib.sha256(b"mtime:" + rel).digest()
    ns = _MTIME_BASE_NS + int.from_bytes(h[:8], "little") % _MTIME_SPAN_NS
    # make sure the sub-second part is never zero (ns precision is exercised)
    if ns % 10**9 == 0:
        ns += 123456789
    return ns


def _set_all_mtimes(root: bytes) -> None:
    """Post-order walk (sorted, dir_fd based): every entry gets a deterministic
    nanosecond mtime; a directory is set after all of its children."""

    def walk(dfd: int, rel: bytes) -> None:
        for name in sorted(_listdir_bytes(dfd)):
            crel = name if rel == b"." else rel + b"/" + name
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                try:
                    cfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
                except PermissionError:  # mode 0000 dir when not root (it is empty)
                    cfd = None
                if cfd is not None:
                    try:
                        walk(cfd, crel)
                    finally:
                        os.close(cfd)
            ns = _mtime_for(crel)
            os.utime(name, ns=(ns, ns), dir_fd=dfd, follow_symlinks=False)

    rfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        walk(rfd, b".")
    finally:
        os.close(rfd)
    ns = _mtime_for(b".")
    os.utime(root, ns=(ns, ns), follow_symlinks=False)


def make_fidelity_tree(root) -> None:
    """Build the fidelity tree at `root` (created; must not exist or be empty).

    Contents (paths relative to root):
      files/empty, files/small.txt, files/random.bin (3 MiB + 17, seeded random),
      files/binary.dat (all 256 byte values)
      dirs/a/b/c/deep.txt, dirs/emptydir/
      links/to_file -> ../files/small.txt, links/to_dir -> ../dirs,
      links/dangling -> does/not/exist,
      links/outside -> <parent of root>/fidelity-outside/victim.txt (absolute;
                       that file is created if missing and must never change)
      hl/a/one, hl/a/two, hl/b/three: one inode with 3 names in two dirs
      sparse.img: 64 MiB apparent size, 4 KiB of data at start, middle, end
      xattr.txt (user.binary = bytes with NUL/0xff, user.text), xattr-dir/
      (user.dirattr), acl.txt (u:nobody:r), acl-dir/ (default ACL u:nobody:rx)
      modes/setuid (04755, owned by 1234:5678 when root), modes/setgid (02755),
      modes/setgid-dir/ (02755), modes/sticky/ (01777), modes/private (0600),
      modes/zero (0000), modes/zero-dir/ (0000, empty) -- only when root
      owned/ (4321:8765) with owned/file (1234:5678) and owned/link (1111:2222)
      -- ownership only when running as root
      special/fifo; special/null (char device 1,3) when root
      names/bad\\xff\\xfe-name.txt, names/new\\nline.txt, names/<255-byte name>,
      names/dir-\\xc3\\x28/inner.txt
      long/<25 dirs of 200-byte names>/bottom.txt (path > PATH_MAX)
    Every entry (files, dirs, symlinks, fifo, device) gets a deterministic mtime
    with nanoseconds; directories are set last.  Deterministic: building twice
    gives trees that compare identical (except inode numbers / ctime / atime).
    """
    root = os.path.abspath(_b(root))
    os.makedirs(root, exist_ok=True)
    if os.listdir(root):
        raise FileExistsError("make_fidelity_tree: %r is not empty" % root)
    os.chmod(root, 0o755)
    rng = random.Random(0x11FEB0A7)
    J = lambda *parts: os.path.join(root, *parts)  # noqa: E731
    root_user = is_root()

    # outside target of the absolute symlink
    outside = outside_path(root)
    if not os.path.lexists(outside):
        os.makedirs(os.path.dirname(outside), exist_ok=True)
        _write(outside, OUTSIDE_CONTENT, 0o644)
        os.utime(outside, ns=(_MTIME_BASE_NS, _MTIME_BASE_NS))

    # regular files
    _mkdir(J(b"files"))
    _write(J(b"files", b"empty"), b"")
    _write(J(b"files", b"small.txt"), b"hello, lifeboat\n")
    _write(J(b"files", b"random.bin"), rng.randbytes(3 * MiB + 17))
    _write(J(b"files", b"binary.dat"), bytes(range(256)) * 3)

    # nested dirs and an empty dir
    _mkdir(J(b"dirs"))
    _mkdir(J(b"dirs", b"a"))
    _mkdir(J(b"dirs", b"a", b"b"))
    _mkdir(J(b"dirs", b"a", b"b", b"c"))
    _write(J(b"dirs", b"a", b"b", b"c", b"deep.txt"), b"deep inside\n" * 100)
    _mkdir(J(b"dirs", b"emptydir"))

    # symlinks
    _mkdir(J(b"links"))
    os.symlink(b"../files/small.txt", J(b"links", b"to_file"))
    os.symlink(b"../dirs", J(b"links", b"to_dir"))
    os.symlink(b"does/not/exist", J(b"links", b"dangling"))
    os.symlink(outside, J(b"links", b"outside"))

    # hardlinks: 3 names, 2 directories
    _mkdir(J(b"hl"))
    _mkdir(J(b"hl", b"a"))
    _mkdir(J(b"hl", b"b"))
    _write(J(b"hl", b"a", b"one"), rng.randbytes(100_000), 0o640)
    os.link(J(b"hl", b"a", b"one"), J(b"hl", b"a", b"two"))
    os.link(J(b"hl", b"a", b"one"), J(b"hl", b"b", b"three"))

    # sparse file: 64 MiB apparent, 3 x 4 KiB of data
    sp = J(b"sparse.img")
    fd = os.open(sp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        os.ftruncate(fd, 64 * MiB)
        for off in (0, 32 * MiB, 64 * MiB - 4096):
            os.pwrite(fd, rng.randbytes(4096), off)
    finally:
        os.close(fd)
    os.chmod(sp, 0o644)

    # xattrs (binary values) on a file and a directory
    _write(J(b"xattr.txt"), b"file with extended attributes\n")
    os.setxattr(J(b"xattr.txt"), b"user.binary", b"\x00\x01\x02\xff\xfe\x00binary\n")
    os.setxattr(J(b"xattr.txt"), b"user.text", b"plain text value")
    _mkdir(J(b"xattr-dir"))
    os.setxattr(J(b"xattr-dir"), b"user.dirattr", b"\xde\xad\xbe\xef\x00")
    _write(J(b"xattr-dir", b"inside.txt"), b"in xattr dir\n")

    # POSIX ACLs
    _write(J(b"acl.txt"), b"file with an ACL\n", 0o644)
    _set_acl(J(b"acl.txt"), "access")
    _mkdir(J(b"acl-dir"))
    _set_acl(J(b"acl-dir"), "default")

    # modes (chown first: chown clears set-id bits)
    _mkdir(J(b"modes"))
    _write(J(b"modes", b"setuid"), b"#!/bin/sh\necho setuid\n", 0o755)
    if root_user:
        os.chown(J(b"modes", b"setuid"), FILE_UID, FILE_GID)
    os.chmod(J(b"modes", b"setuid"), 0o4755)
    _write(J(b"modes", b"setgid"), b"#!/bin/sh\necho setgid\n", 0o755)
    if root_user:
        os.chown(J(b"modes", b"setgid"), FILE_UID, FILE_GID)
    os.chmod(J(b"modes", b"setgid"), 0o2755)
    _mkdir(J(b"modes", b"setgid-dir"), 0o755)
    if root_user:
        os.chown(J(b"modes", b"setgid-dir"), DIR_UID, DIR_GID)
    os.chmod(J(b"modes", b"setgid-dir"), 0o2755)
    _mkdir(J(b"modes", b"sticky"), 0o1777)
    _write(J(b"modes", b"sticky", b"in-sticky.txt"), b"sticky\n", 0o666)
    _write(J(b"modes", b"private"), b"secret\n", 0o600)
    if root_user:  # a non-root backup could not read these
        _write(J(b"modes", b"zero"), b"mode 0000 file\n", 0o000)
        _mkdir(J(b"modes", b"zero-dir"), 0o000)

    # ownership
    _mkdir(J(b"owned"))
    _write(J(b"owned", b"file"), b"owned by 1234:5678\n", 0o644)
    os.symlink(b"file", J(b"owned", b"link"))
    if root_user:
        os.chown(J(b"owned", b"file"), FILE_UID, FILE_GID)
        os.lchown(J(b"owned", b"link"), LINK_UID, LINK_GID)
        os.chown(J(b"owned"), DIR_UID, DIR_GID)

    # special files
    _mkdir(J(b"special"))
    os.mkfifo(J(b"special", b"fifo"), 0o600)
    os.chmod(J(b"special", b"fifo"), 0o640)
    if root_user:
        os.mknod(J(b"special", b"null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod(J(b"special", b"null"), 0o666)

    # awkward names
    _mkdir(J(b"names"))
    _write(J(b"names", b"bad\xff\xfe-name.txt"), b"invalid utf-8 name\n")
    _write(J(b"names", b"new\nline.txt"), b"newline in name\n")
    _write(J(b"names", b"N" * 251 + b".txt"), b"255-byte name\n")
    _mkdir(J(b"names", b"dir-\xc3\x28"))
    _write(J(b"names", b"dir-\xc3\x28", b"inner.txt"), b"inside a badly named dir\n")

    # a path longer than PATH_MAX, built with dir_fd-relative calls
    _mkdir(J(b"long"))
    fd = os.open(J(b"long"), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for comp in long_path_components():
            os.mkdir(comp, 0o755, dir_fd=fd)
            os.chmod(comp, 0o755, dir_fd=fd)
            nfd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = nfd
        ffd = os.open(LONG_FILE_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644, dir_fd=fd)
        try:
            os.write(ffd, LONG_FILE_CONTENT)
            os.fchmod(ffd, 0o644)
        finally:
            os.close(ffd)
    finally:
        os.close(fd)

    # mtimes (ns) on everything, directories last
    _set_all_mtimes(root)


# --------------------------------------------------------------------------
# snapshot_tree
# --------------------------------------------------------------------------
def _listdir_bytes(dfd: int) -> list[bytes]:
    # os.listdir(fd) returns str; fsencode() restores the original bytes
    # (surrogateescape round trip).
    return [os.fsencode(n) for n in os.listdir(dfd)]


_TYPES = [
    (stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"),
    (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev"),
    (stat.S_ISSOCK, "socket"),
]


def _type_of(mode: int) -> str:
    for pred, name in _TYPES:
        if pred(mode):
            return name
    return "unknown"


def _read_xattrs(path) -> dict:
    """All readable xattrs of `path` (not following a final symlink)."""
    kw = {} if isinstance(path, int) else {"follow_symlinks": False}
    try:
        names = os.listxattr(path, **kw)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    out = {}
    for n in sorted(names):
        try:
            out[n] = os.getxattr(path, n, **kw)
        except OSError as e:
            if e.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM, errno.EACCES):
                continue
            raise
    return out


def _hash_file(name: bytes, dfd: int) -> str | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
    except PermissionError:
        return None
    try:
        h = hashlib.sha256()
        while True:
            chunk = os.read(fd, MiB)
            if not chunk:
                break
            h.update(chunk)
        return h.hexdigest()
    finally:
        os.close(fd)


def _record(st: os.stat_result, rel: bytes, name: bytes | None, dfd: int, xattr_path) -> dict:
    t = _type_of(st.st_mode)
    rec = {
        "type": t,
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mtime_ns": st.st_mtime_ns,
        "xattrs": _read_xattrs(xattr_path),
        "link_group": None,
    }
    if t in ("file", "symlink"):
        rec["size"] = st.st_size
    if t == "file":
        rec["sha256"] = _hash_file(name, dfd) if name is not None else None
        rec["blocks"] = st.st_blocks
    if t == "symlink":
        rec["target"] = os.readlink(name, dir_fd=dfd)
    if t in ("chardev", "blockdev"):
        rec["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
    return rec


def snapshot_tree(root) -> dict:
    """Snapshot of the tree at `root`: {relpath(bytes): record(dict)}.

    The root itself is b".".  Record fields: type, mode (07777 bits), uid, gid,
    mtime_ns (every type), xattrs ({name: bytes}, all readable ones, sorted),
    link_group (None, or the first sorted relpath of the group of names sharing
    the inode within the tree), size (files, symlinks), sha256 + blocks (files),
    target (symlinks, bytes), rdev ((major, minor), devices).
    """
    root = os.path.abspath(_b(root))
    result: dict[bytes, dict] = {}
    inodes: dict[tuple[int, int], list[bytes]] = {}

    def walk(dfd: int, rel: bytes) -> None:
        for name in sorted(_listdir_bytes(dfd)):
            crel = name if rel == b"." else rel + b"/" + name
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            xpath = b"/proc/self/fd/%d/%s" % (dfd, name)
            result[crel] = _record(st, crel, name, dfd, xpath)
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
                inodes.setdefault((st.st_dev, st.st_ino), []).append(crel)
            if stat.S_ISDIR(st.st_mode):
                try:
                    cfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
                except PermissionError:  # unreadable directory when not root
                    result[crel]["unreadable"] = True
                    continue
                try:
                    walk(cfd, crel)
                finally:
                    os.close(cfd)

    rfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        st = os.fstat(rfd)
        result[b"."] = _record(st, b".", None, rfd, rfd)
        walk(rfd, b".")
    finally:
        os.close(rfd)

    for paths in inodes.values():
        if len(paths) > 1:
            paths.sort()
            for p in paths:
                result[p]["link_group"] = paths[0]
    return result


# --------------------------------------------------------------------------
# compare_trees
# --------------------------------------------------------------------------
def show_path(p: bytes, limit: int = 40) -> str:
    """Printable form of a relative path: invalid UTF-8 backslash-escaped,
    newlines as \\n, components longer than `limit` abbreviated."""
    comps = []
    for c in p.split(b"/"):
        s = c.decode("utf-8", "backslashreplace").replace("\n", "\\n")
        if len(c) > limit:
            s = s[:16] + "...[%d bytes]" % len(c)
        comps.append(s)
    return "/".join(comps)


def _show_val(field: str, v) -> str:
    if field == "mode" and isinstance(v, int):
        return "%05o" % v
    if isinstance(v, bytes):
        return show_path(v) if field in ("target", "link_group") else repr(v)
    return repr(v)


_FIELDS = ["mode", "uid", "gid", "mtime_ns", "size", "sha256", "target", "rdev", "link_group"]


def compare_trees(a: dict, b: dict) -> list[str]:
    """Differences between snapshot `a` (original) and `b` (copy/restore).

    Compares type, mode, uid, gid, mtime_ns, size, sha256, symlink target, rdev,
    hardlink group, xattrs.  Sparseness: b's st_blocks must be <= a's st_blocks
    + BLOCKS_SLACK (a restore may be sparser, never much denser).  atime, ctime,
    inode numbers, link counts and directory sizes are not compared.
    """
    diffs: list[str] = []
    for p in sorted(set(a) - set(b)):
        diffs.append("%s: missing in restored tree (%s)" % (show_path(p), a[p]["type"]))
    for p in sorted(set(b) - set(a)):
        diffs.append("%s: extra in restored tree (%s)" % (show_path(p), b[p]["type"]))
    for p in sorted(set(a) & set(b)):
        ra, rb = a[p], b[p]
        sp = show_path(p)
        if ra["type"] != rb["type"]:
            diffs.append("%s: type %s != %s" % (sp, ra["type"], rb["type"]))
            continue
        for f in _FIELDS:
            va, vb = ra.get(f), rb.get(f)
            if va != vb:
                diffs.append("%s: %s %s != %s" % (sp, f, _show_val(f, va), _show_val(f, vb)))
        xa, xb = ra["xattrs"], rb["xattrs"]
        for n in sorted(set(xa) | set(xb)):
            if n not in xb:
                diffs.append("%s: xattr %s missing" % (sp, n))
            elif n not in xa:
                diffs.append("%s: xattr %s extra (%r)" % (sp, n, xb[n]))
            elif xa[n] != xb[n]:
                diffs.append("%s: xattr %s value %r != %r" % (sp, n, xa[n], xb[n]))
        if ra["type"] == "file" and rb["blocks"] > ra["blocks"] + BLOCKS_SLACK:
            diffs.append("%s: blocks %d > original %d + %d (not sparse enough)"
                         % (sp, rb["blocks"], ra["blocks"], BLOCKS_SLACK))
    return diffs


if __name__ == "__main__":
    # Usage: treetools.py make DIR | compare DIR1 DIR2
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make_fidelity_tree(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        d = compare_trees(snapshot_tree(sys.argv[2]), snapshot_tree(sys.argv[3]))
        print("\n".join(d) if d else "identical")
        sys.exit(1 if d else 0)
    else:
        print(__doc__)
        print("usage: treetools.py make DIR | compare ORIG COPY", file=sys.stderr)
        sys.exit(2)
