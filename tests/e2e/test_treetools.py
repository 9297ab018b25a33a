#!/usr/bin/env python3
"""Self-test of treetools.py (no lifeboat binary needed).

Builds the fidelity tree twice and checks the two compare identical, checks the
tree really contains every case, then mutates one field at a time in a fresh
copy and checks compare_trees reports exactly that difference.

Run: python3 tests/e2e/test_treetools.py   (--lifeboat PATH is accepted and ignored)
"""

import contextlib
import hashlib
import itertools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import treetools as tt  # noqa: E402
from lbtest import force_rmtree  # noqa: E402

MiB = tt.MiB


@contextlib.contextmanager
def keep_mtime(path: bytes):
    """Restore the mtime of `path` (not following symlinks) after the block."""
    st = os.lstat(path)
    yield
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


class TreeToolsTest(unittest.TestCase):
    maxDiff = 20000

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lifeboat-treetools-", dir="/tmp").encode()
        cls.a = os.path.join(cls.tmp, b"a")
        cls.b = os.path.join(cls.tmp, b"b")
        tt.make_fidelity_tree(cls.a)
        tt.make_fidelity_tree(cls.b)
        cls.snap_a = tt.snapshot_tree(cls.a)
        cls.counter = itertools.count()

    @classmethod
    def tearDownClass(cls):
        force_rmtree(os.fsdecode(cls.tmp))

    # ------------------------------------------------------------------
    def fresh(self) -> bytes:
        root = os.path.join(self.tmp, b"m%d" % next(self.counter))
        tt.make_fidelity_tree(root)
        self.addCleanup(force_rmtree, os.fsdecode(root))
        return root

    def mutate(self, fn) -> list:
        root = self.fresh()
        fn(root)
        return tt.compare_trees(self.snap_a, tt.snapshot_tree(root))

    def assertOnlyDiff(self, diffs, path: bytes, field: str):
        """Exactly one difference, about `path`, mentioning `field`."""
        self.assertEqual(len(diffs), 1, "expected exactly one difference, got:\n" + "\n".join(diffs))
        self.assertTrue(diffs[0].startswith(tt.show_path(path) + ": "), diffs[0])
        self.assertIn(field, diffs[0])

    # ------------------------------------------------------------------
    def test_identical_builds(self):
        self.assertEqual(tt.compare_trees(self.snap_a, self.snap_a), [])
        self.assertEqual(tt.compare_trees(self.snap_a, tt.snapshot_tree(self.b)), [])

    def test_snapshot_is_stable(self):
        # snapshotting must not change the tree (e.g. no mtime changes by reading)
        self.assertEqual(tt.compare_trees(self.snap_a, tt.snapshot_tree(self.a)), [])

    def test_tree_contains_every_case(self):
        s = self.snap_a
        root_user = tt.is_root()

        def rec(p):
            self.assertIn(p, s, "missing %r" % p)
            return s[p]

        self.assertEqual(rec(b".")["type"], "dir")
        self.assertEqual(rec(b"files/empty")["size"], 0)
        self.assertEqual(rec(b"files/small.txt")["type"], "file")
        self.assertGreater(rec(b"files/random.bin")["size"], 2 * MiB)
        self.assertEqual(rec(b"dirs/a/b/c/deep.txt")["type"], "file")
        self.assertEqual(rec(b"dirs/emptydir")["type"], "dir")
        self.assertFalse([p for p in s if p.startswith(b"dirs/emptydir/")])
        # symlinks
        self.assertEqual(rec(b"links/to_file")["target"], b"../files/small.txt")
        self.assertEqual(rec(b"links/dangling")["type"], "symlink")
        self.assertFalse(os.path.exists(os.path.join(self.a, b"links/dangling")))
        outside = rec(b"links/outside")["target"]
        self.assertTrue(outside.startswith(b"/") and not outside.startswith(self.a + b"/"))
        self.assertEqual(outside, tt.outside_path(self.a))
        with open(outside, "rb") as f:
            self.assertEqual(f.read(), tt.OUTSIDE_CONTENT)
        # hardlinks: one group of 3 across 2 dirs
        groups = {}
        for p, r in s.items():
            if r["link_group"] is not None:
                groups.setdefault(r["link_group"], []).append(p)
        self.assertEqual(groups, {b"hl/a/one": [b"hl/a/one", b"hl/a/two", b"hl/b/three"]})
        # sparse
        sp = rec(b"sparse.img")
        self.assertEqual(sp["size"], 64 * MiB)
        self.assertLess(sp["blocks"] * 512, 1 * MiB, "sparse.img is not sparse")
        with open(os.path.join(self.a, b"sparse.img"), "rb") as f:
            data = f.read()
        for off in (0, 32 * MiB, 64 * MiB - 4096):
            self.assertNotEqual(data[off:off + 4096], bytes(4096))
        self.assertEqual(data[8192:8192 + 4096], bytes(4096))
        # xattrs with binary bytes on a file and a dir
        x = rec(b"xattr.txt")["xattrs"]
        self.assertIn(b"\x00", x["user.binary"])
        self.assertIn(b"\xff", x["user.binary"])
        self.assertIn("user.text", x)
        self.assertEqual(rec(b"xattr-dir")["type"], "dir")
        self.assertIn("user.dirattr", rec(b"xattr-dir")["xattrs"])
        # ACLs
        self.assertIn("system.posix_acl_access", rec(b"acl.txt")["xattrs"])
        self.assertIn("system.posix_acl_default", rec(b"acl-dir")["xattrs"])
        # modes
        self.assertEqual(rec(b"modes/setuid")["mode"], 0o4755)
        self.assertEqual(rec(b"modes/setgid-dir")["mode"], 0o2755)
        self.assertEqual(rec(b"modes/sticky")["mode"], 0o1777)
        self.assertEqual(rec(b"modes/private")["mode"], 0o600)
        if root_user:
            self.assertEqual(rec(b"modes/zero")["mode"], 0)
            self.assertEqual(rec(b"modes/zero-dir")["mode"], 0)
            self.assertEqual(rec(b"modes/setgid")["mode"], 0o2755)
            self.assertEqual((rec(b"owned/file")["uid"], rec(b"owned/file")["gid"]), (1234, 5678))
            self.assertEqual((rec(b"owned")["uid"], rec(b"owned")["gid"]), (tt.DIR_UID, tt.DIR_GID))
            self.assertEqual((rec(b"owned/link")["uid"], rec(b"owned/link")["gid"]), (tt.LINK_UID, tt.LINK_GID))
            self.assertEqual((rec(b"modes/setuid")["uid"]), 1234)
            self.assertEqual(rec(b"special/null")["type"], "chardev")
            self.assertEqual(rec(b"special/null")["rdev"], (1, 3))
        else:
            print("\nnot root: ownership, mode 0000 and device node cases not built", file=sys.stderr)
        # mtimes with nanoseconds on all types, all distinct from "now"
        for p in (b"files/small.txt", b"dirs/a", b"links/to_file", b"special/fifo", b"."):
            self.assertNotEqual(rec(p)["mtime_ns"] % 10**9, 0, p)
            self.assertLess(rec(p)["mtime_ns"], 1_800_000_000 * 10**9)
        # special files
        self.assertEqual(rec(b"special/fifo")["type"], "fifo")
        # names
        self.assertEqual(rec(b"names/bad\xff\xfe-name.txt")["type"], "file")
        self.assertEqual(rec(b"names/new\nline.txt")["type"], "file")
        self.assertEqual(rec(b"names/" + b"N" * 251 + b".txt")["type"], "file")
        self.assertEqual(len(b"N" * 251 + b".txt"), 255)
        self.assertEqual(rec(b"names/dir-\xc3\x28/inner.txt")["type"], "file")
        # path longer than PATH_MAX
        lp = tt.long_file_relpath()
        self.assertGreater(len(lp), 4096)
        self.assertGreater(len(os.path.join(self.a, lp)), 4096)
        self.assertEqual(rec(lp)["sha256"], hashlib.sha256(tt.LONG_FILE_CONTENT).hexdigest())

    def test_acl_fallback_encoding_matches_setfacl(self):
        x = self.snap_a[b"acl.txt"]["xattrs"]["system.posix_acl_access"]
        self.assertEqual(x, tt.acl_user_read(0o644, tt.NOBODY_UID))
        d = self.snap_a[b"acl-dir"]["xattrs"]["system.posix_acl_default"]
        self.assertEqual(d, tt.acl_default_user_rx(tt.NOBODY_UID))
        if shutil.which("setfacl") is None:
            self.skipTest("setfacl not installed: fallback encoder was used to build the tree")
        # both ways produce the same xattr bytes
        root = self.fresh()
        f1, f2 = os.path.join(root, b"acl1"), os.path.join(root, b"acl2")
        for f in (f1, f2):
            with open(f, "wb"):
                pass
            os.chmod(f, 0o644)
        tt._set_acl(f1, "access", use_setfacl=True)
        tt._set_acl(f2, "access", use_setfacl=False)
        self.assertEqual(os.getxattr(f1, "system.posix_acl_access"), os.getxattr(f2, "system.posix_acl_access"))
        self.assertEqual(os.stat(f1).st_mode, os.stat(f2).st_mode)

    # ------------------------------------------------------------------ mutations
    def test_detects_mode(self):
        d = self.mutate(lambda r: os.chmod(os.path.join(r, b"files/small.txt"), 0o640))
        self.assertOnlyDiff(d, b"files/small.txt", "mode")

    def test_detects_special_mode_bits(self):
        d = self.mutate(lambda r: os.chmod(os.path.join(r, b"modes/sticky"), 0o777))
        self.assertOnlyDiff(d, b"modes/sticky", "mode 01777 != 00777")

    def test_detects_mtime_ns(self):
        def fn(r):
            p = os.path.join(r, b"files/random.bin")
            st = os.lstat(p)
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        self.assertOnlyDiff(self.mutate(fn), b"files/random.bin", "mtime_ns")

    def test_detects_dir_mtime(self):
        def fn(r):
            p = os.path.join(r, b"dirs/a")
            st = os.lstat(p)
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
        self.assertOnlyDiff(self.mutate(fn), b"dirs/a", "mtime_ns")

    def test_detects_symlink_mtime(self):
        def fn(r):
            p = os.path.join(r, b"links/to_file")
            st = os.lstat(p)
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 7), follow_symlinks=False)
        self.assertOnlyDiff(self.mutate(fn), b"links/to_file", "mtime_ns")

    def test_detects_one_byte_of_content(self):
        def fn(r):
            p = os.path.join(r, b"files/random.bin")
            with keep_mtime(p):
                with open(p, "r+b") as f:
                    f.seek(1_500_000)
                    b = f.read(1)
                    f.seek(1_500_000)
                    f.write(bytes([b[0] ^ 0x01]))
        self.assertOnlyDiff(self.mutate(fn), b"files/random.bin", "sha256")

    def test_detects_content_beyond_path_max(self):
        lp = tt.long_file_relpath()

        def fn(r):
            fd = os.open(os.path.join(r, b"long"), os.O_RDONLY | os.O_DIRECTORY)
            for comp in tt.long_path_components():
                nfd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = nfd
            st = os.stat(tt.LONG_FILE_NAME, dir_fd=fd)
            ffd = os.open(tt.LONG_FILE_NAME, os.O_WRONLY, dir_fd=fd)
            os.pwrite(ffd, b"X", 0)
            os.close(ffd)
            os.utime(tt.LONG_FILE_NAME, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=fd)
            os.close(fd)
        self.assertOnlyDiff(self.mutate(fn), lp, "sha256")

    def test_detects_xattr_value(self):
        d = self.mutate(lambda r: os.setxattr(os.path.join(r, b"xattr.txt"), b"user.binary", b"\x00\x01changed"))
        self.assertOnlyDiff(d, b"xattr.txt", "xattr user.binary value")

    def test_detects_missing_and_extra_xattr(self):
        d = self.mutate(lambda r: os.removexattr(os.path.join(r, b"xattr-dir"), b"user.dirattr"))
        self.assertOnlyDiff(d, b"xattr-dir", "xattr user.dirattr missing")
        d = self.mutate(lambda r: os.setxattr(os.path.join(r, b"files/small.txt"), b"user.new", b"v"))
        self.assertOnlyDiff(d, b"files/small.txt", "xattr user.new extra")

    def test_detects_acl_change(self):
        def fn(r):
            p = os.path.join(r, b"acl.txt")
            os.setxattr(p, "system.posix_acl_access",
                        tt.encode_posix_acl([(tt.ACL_USER_OBJ, 6, None), (tt.ACL_USER, 6, tt.NOBODY_UID),
                                             (tt.ACL_GROUP_OBJ, 4, None), (tt.ACL_MASK, 6, None),
                                             (tt.ACL_OTHER, 4, None)]))
        d = self.mutate(fn)
        self.assertTrue(any("acl.txt: xattr system.posix_acl_access value" in x for x in d), d)
        self.assertTrue(all(x.startswith("acl.txt: ") for x in d), d)

    def test_detects_broken_hardlink(self):
        def fn(r):
            p = os.path.join(r, b"hl/b/three")
            with keep_mtime(os.path.dirname(p)):
                st = os.lstat(p)
                tmp = p + b".tmp"
                shutil.copyfile(p, tmp)
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
                os.chown(tmp, st.st_uid, st.st_gid)
                os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
                os.rename(tmp, p)
        self.assertOnlyDiff(self.mutate(fn), b"hl/b/three", "link_group")

    def test_detects_extra_hardlink(self):
        def fn(r):
            p = os.path.join(r, b"files/small.txt")
            q = os.path.join(r, b"files/binary.dat")
            with keep_mtime(os.path.dirname(p)):
                os.unlink(q)
                os.link(p, q)
        d = self.mutate(fn)
        self.assertIn("files/small.txt: link_group None != files/binary.dat", d)
        self.assertIn("files/binary.dat: link_group None != files/binary.dat", d)

    def test_detects_symlink_target(self):
        def fn(r):
            p = os.path.join(r, b"links/to_file")
            with keep_mtime(os.path.dirname(p)):
                st = os.lstat(p)
                os.unlink(p)
                os.symlink(b"../files/SMALL.txt", p)  # same length
                os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        self.assertOnlyDiff(self.mutate(fn), b"links/to_file", "target")

    def test_detects_dense_restore_of_sparse_file(self):
        def fn(r):
            p = os.path.join(r, b"sparse.img")
            with keep_mtime(p):
                with open(p, "r+b") as f:
                    data = f.read()
                    f.seek(0)
                    f.write(data)  # same content, now fully allocated
                    f.flush()
                    os.fsync(f.fileno())
        root = self.fresh()
        fn(root)
        dense = tt.snapshot_tree(root)
        d = tt.compare_trees(self.snap_a, dense)
        self.assertOnlyDiff(d, b"sparse.img", "blocks")
        # the other direction is fine: a restore may be sparser than the original
        self.assertEqual(tt.compare_trees(dense, self.snap_a), [])

    def test_detects_missing_extra_and_type(self):
        def rm(r):
            p = os.path.join(r, b"files/empty")
            with keep_mtime(os.path.dirname(p)):
                os.unlink(p)
        d = self.mutate(rm)
        self.assertOnlyDiff(d, b"files/empty", "missing")

        def add(r):
            p = os.path.join(r, b"names/new\nfile\xff")
            with keep_mtime(os.path.dirname(p)):
                with open(p, "wb") as f:
                    f.write(b"x")
        d = self.mutate(add)
        self.assertOnlyDiff(d, b"names/new\nfile\xff", "extra")
        self.assertIn("names/new\\nfile\\xff", d[0])

        def retype(r):
            p = os.path.join(r, b"files/empty")
            with keep_mtime(os.path.dirname(p)):
                st = os.lstat(p)
                os.unlink(p)
                os.mkfifo(p, 0o644)
                os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
        d = self.mutate(retype)
        self.assertOnlyDiff(d, b"files/empty", "type file != fifo")

    def test_detects_owner_and_rdev(self):
        if not tt.is_root():
            self.skipTest("needs root (chown / mknod)")
        d = self.mutate(lambda r: os.chown(os.path.join(r, b"owned/file"), 1235, 5678))
        self.assertOnlyDiff(d, b"owned/file", "uid")
        d = self.mutate(lambda r: os.lchown(os.path.join(r, b"owned/link"), tt.LINK_UID, 4242))
        self.assertOnlyDiff(d, b"owned/link", "gid")

        def redev(r):
            p = os.path.join(r, b"special/null")
            with keep_mtime(os.path.dirname(p)):
                st = os.lstat(p)
                os.unlink(p)
                os.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
                os.chmod(p, 0o666)
                os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.assertOnlyDiff(self.mutate(redev), b"special/null", "rdev")

    def test_cli(self):
        root = self.fresh()
        p = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "treetools.py"),
                            "compare", self.a, root], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        os.chmod(os.path.join(root, b"files/small.txt"), 0o600)
        p = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "treetools.py"),
                            "compare", self.a, root], capture_output=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"files/small.txt: mode", p.stdout)


if __name__ == "__main__":
    argv = [a for i, a in enumerate(sys.argv)
            if not (a == "--lifeboat" or a.startswith("--lifeboat=") or (i > 0 and sys.argv[i - 1] == "--lifeboat"))]
    unittest.main(argv=argv, verbosity=2)
