#!/usr/bin/env python3
"""Full disk: a backup into a repository on a 30 MiB tmpfs fails cleanly with
one error line, leaves a repository that passes check once space is freed, and
the next backup completes; a restore onto a full tmpfs fails with one error line
too (large files are written on the restorer's writer threads).  Needs root
(mount); skipped otherwise.

Run: python3 tests/e2e/test_fulldisk.py --lifeboat PATH
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import EXIT_FATAL  # noqa: E402
from integrity_util import MiB, assert_restores, check_json, make_random_tree  # noqa: E402

NO_SPACE_RE = re.compile(r"no space|space left|ENOSPC|disk (is )?full", re.I)


class FullDiskTest(lbtest.LBTestCase):

    def mount_tmpfs(self, size_mib: int) -> str:
        if os.geteuid() != 0:
            msg = "test_fulldisk: not root, cannot mount a tmpfs; skipped"
            print(msg, file=sys.stderr)
            self.skipTest(msg)
        mnt = self.path("mnt")
        os.makedirs(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mib, "tmpfs", mnt],
                           capture_output=True, text=True)
        if p.returncode != 0:
            msg = "test_fulldisk: mount -t tmpfs failed (%s); skipped" % p.stderr.strip()
            print(msg, file=sys.stderr)
            self.skipTest(msg)
        self.addCleanup(self.umount, mnt)     # runs before the temp dir is removed
        return mnt

    @staticmethod
    def umount(mnt):
        if subprocess.run(["umount", mnt], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mnt], capture_output=True)

    def test_backup_into_full_filesystem(self):
        mnt = self.mount_tmpfs(30)
        self.lb.repo = os.path.join(mnt, "repo")
        self.lb.env["LIFEBOAT_REPO"] = self.lb.repo
        self.lb.init("--pack-size", "4")
        src = self.path("src")
        want = make_random_tree(src, 60 * MiB, seed=3, max_size=4 * MiB)

        p = self.lb.run(["backup", src], expect=EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertRegex(p.stderr, NO_SPACE_RE, "the error does not say the disk is full")
        self.assertEqual(self.lb.snapshots(), [], "a failed backup left a snapshot")

        subprocess.run(["mount", "-o", "remount,size=200m", mnt], check=True)
        j = check_json(self)                          # warnings (unindexed packs) allowed
        self.assertEqual(j["errors"], [])
        s = self.lb.backup(src)
        self.assertEqual(s["total_bytes"], sum(os.path.getsize(os.path.join(src, r)) for r in want))
        check_json(self, "--read-data")
        assert_restores(self, s["snapshot_id"], src, want, msg="backup after space was freed")

    def test_full_filesystem_with_existing_snapshot(self):
        """A failed backup must not damage what is already there."""
        mnt = self.mount_tmpfs(30)
        self.lb.repo = os.path.join(mnt, "repo")
        self.lb.env["LIFEBOAT_REPO"] = self.lb.repo
        self.lb.init("--pack-size", "1")
        small = self.path("small")
        want_small = make_random_tree(small, 8 * MiB, seed=4)
        first = self.lb.backup(small)["snapshot_id"]
        big = self.path("big")
        make_random_tree(big, 40 * MiB, seed=5)
        p = self.lb.run(["backup", big], expect=EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertRegex(p.stderr, NO_SPACE_RE)
        self.assertEqual([s["id"] for s in self.lb.snapshots()], [first])
        # still full: reading works, and the old snapshot is intact
        assert_restores(self, first, small, want_small, msg="old snapshot while the disk is full")
        j = check_json(self, "--read-data")
        self.assertEqual(j["errors"], [])

    def test_restore_into_full_filesystem(self):
        """The error of a write on a writer thread reaches the user; the repository is untouched."""
        src = self.path("src")
        self.lb.init()
        want = make_random_tree(src, 40 * MiB, seed=6, max_size=4 * MiB)
        sid = self.lb.backup(src)["snapshot_id"]
        mnt = self.mount_tmpfs(16)
        p = self.lb.run(["restore", sid, "--target", os.path.join(mnt, "out")], expect=EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertRegex(p.stderr, NO_SPACE_RE, "the error does not say the disk is full")
        subprocess.run(["mount", "-o", "remount,size=200m", mnt], check=True)
        assert_restores(self, sid, src, want, target=os.path.join(mnt, "out"),
                        msg="restore over the partial one after space was freed")


if __name__ == "__main__":
    lbtest.main()
