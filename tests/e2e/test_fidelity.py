#!/usr/bin/env python3
"""Backup/restore fidelity: everything in the fidelity tree survives a round trip.

Run: python3 tests/e2e/test_fidelity.py --lifeboat PATH
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
import treetools as tt  # noqa: E402
from lbtest import listing, read_file, restored_path, write_file  # noqa: E402


class FidelityTest(lbtest.LBTestCase):

    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        tt.make_fidelity_tree(self.src)
        self.orig = tt.snapshot_tree(self.src)
        self.outside = os.fsdecode(tt.outside_path(self.src))
        self.outside_before = listing(os.path.dirname(self.outside), contents=True)
        self.lb.init()

    def assertOutsideUntouched(self):
        self.assertListingEqual(self.outside_before, listing(os.path.dirname(self.outside), contents=True),
                                "the file behind the absolute symlink was modified")

    def backup_fidelity_tree(self) -> dict:
        summary = self.lb.backup(self.src)
        self.assertEqual(summary["partial_files"], [])
        # backup must not modify the source tree (atime/ctime are not compared)
        self.assertEqual(tt.compare_trees(self.orig, tt.snapshot_tree(self.src)), [],
                         "backup modified the source tree")
        return summary

    def test_roundtrip(self):
        summary = self.backup_fidelity_tree()
        n_files = sum(1 for r in self.orig.values() if r["type"] == "file")
        self.assertGreaterEqual(summary["total_files"], n_files)
        target = self.path("target")
        self.lb.restore("latest", target)
        self.assertTreeEqual(self.orig, restored_path(target, self.src), "restore differs from source")
        self.assertOutsideUntouched()

    def test_restore_twice_into_same_target(self):
        self.backup_fidelity_tree()
        target = self.path("target")
        self.lb.restore("latest", target)
        self.lb.restore("latest", target)
        self.assertTreeEqual(self.orig, restored_path(target, self.src), "after 2nd restore (default overwrite)")
        self.lb.restore("latest", target, "--overwrite", "always")
        self.assertTreeEqual(self.orig, restored_path(target, self.src), "after 3rd restore (--overwrite always)")
        self.lb.restore("latest", target, "--overwrite", "if-changed")
        self.assertTreeEqual(self.orig, restored_path(target, self.src), "after 4th restore (--overwrite if-changed)")
        self.assertOutsideUntouched()

    def test_restore_repairs_modified_target(self):
        """Restoring over a damaged earlier restore brings back the original."""
        self.backup_fidelity_tree()
        target = self.path("target")
        self.lb.restore("latest", target)
        r = restored_path(target, self.src)
        with open(os.path.join(r, "files/random.bin"), "r+b") as f:  # same size, new content
            f.seek(1000)
            f.write(b"garbage")
        os.utime(os.path.join(r, "files/random.bin"), ns=(0, self.orig[b"files/random.bin"]["mtime_ns"]))
        os.chmod(os.path.join(r, "modes/private"), 0o644)
        os.unlink(os.path.join(r, "files/small.txt"))
        write_file(os.path.join(r, "files/empty"), b"no longer empty")
        os.unlink(os.path.join(r, "hl/b/three"))
        write_file(os.path.join(r, "hl/b/three"), b"not a hardlink")
        self.lb.restore("latest", target, "--overwrite", "always")
        self.assertTreeEqual(self.orig, r, "restore --overwrite always over a modified target")


class SymlinkSafetyTest(lbtest.LBTestCase):
    """Pre-existing symlinks in the target must never be written through."""

    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        write_file(self.path("src", "top.txt"), b"top\n")
        write_file(self.path("src", "sub", "f.txt"), b"inside sub\n")
        write_file(self.path("src", "sub", "deeper", "g.txt"), b"deeper\n")
        write_file(self.path("src", "file.txt"), b"snapshot content of file.txt\n")
        self.outside = self.path("outside")
        write_file(os.path.join(self.outside, "sentinel.txt"), b"do not touch\n", 0o644)
        write_file(os.path.join(self.outside, "victim.txt"), b"victim content\n", 0o644)
        os.chmod(self.outside, 0o755)
        self.lb.init()
        self.lb.backup(self.src)
        self.outside_before = listing(self.outside, contents=True)

    def assertOutsideUntouched(self):
        self.assertListingEqual(self.outside_before, listing(self.outside, contents=True),
                                "restore wrote through a symlink into a directory outside the target")

    def test_dir_replaced_by_symlink(self):
        for overwrite in ("always", "if-changed", "never"):
            target = self.path("target-" + overwrite)
            r = restored_path(target, self.src)
            os.makedirs(r)
            os.symlink(self.outside, os.path.join(r, "sub"))
            p = self.lb.restore("latest", target, "--overwrite", overwrite, expect=None)
            self.assertOutsideUntouched()
            if p.returncode == 0:
                self.assertFalse(os.path.islink(os.path.join(r, "sub")), "sub is still a symlink after restore")
                self.assertEqual(read_file(os.path.join(r, "sub", "f.txt")), b"inside sub\n")
                self.assertEqual(read_file(os.path.join(r, "sub", "deeper", "g.txt")), b"deeper\n")

    def test_symlinked_dir_with_include(self):
        """Restoring only a file below a directory that is a symlink in the target."""
        target = self.path("target")
        r = restored_path(target, self.src)
        os.makedirs(r)
        os.symlink(self.outside, os.path.join(r, "sub"))
        p = self.lb.restore("latest", target, "--include", os.path.join(self.src, "sub", "f.txt"), expect=None)
        self.assertOutsideUntouched()
        if p.returncode == 0:
            self.assertEqual(read_file(os.path.join(r, "sub", "f.txt")), b"inside sub\n")

    def test_file_replaced_by_symlink(self):
        target = self.path("target")
        r = restored_path(target, self.src)
        os.makedirs(r)
        os.symlink(os.path.join(self.outside, "victim.txt"), os.path.join(r, "file.txt"))
        for overwrite in ("always", "if-changed"):
            p = self.lb.restore("latest", target, "--overwrite", overwrite, expect=None)
            self.assertOutsideUntouched()
            if p.returncode == 0:
                self.assertFalse(os.path.islink(os.path.join(r, "file.txt")))
                self.assertEqual(read_file(os.path.join(r, "file.txt")), b"snapshot content of file.txt\n")

    def test_default_overwrite_with_symlinks(self):
        target = self.path("target")
        r = restored_path(target, self.src)
        os.makedirs(r)
        os.symlink(self.outside, os.path.join(r, "sub"))
        os.symlink(os.path.join(self.outside, "victim.txt"), os.path.join(r, "file.txt"))
        self.lb.restore("latest", target, expect=None)
        self.assertOutsideUntouched()


if __name__ == "__main__":
    lbtest.main()
