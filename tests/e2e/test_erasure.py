#!/usr/bin/env python3
"""Erasure coding across backends: an ec:3+2 repository over five local folders.

Any two members may be lost and every snapshot still restores byte-identical;
check reports lost redundancy per member (exit 1); repair shards rebuilds it;
a damaged shard is found and fixed; three lost members fail cleanly.

Run: python3 tests/e2e/test_erasure.py --lifeboat PATH
"""

import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
import treetools as tt  # noqa: E402
from integrity_util import MiB, flip_bit, make_random_tree  # noqa: E402
from lbtest import EXIT_FATAL, EXIT_OK, EXIT_USAGE, restored_path  # noqa: E402

K, M = 3, 2
SHARD_HEADER = 96


class ErasureTest(lbtest.LBTestCase):

    def setUp(self):
        super().setUp()
        self.members = [self.path("member%d" % i) for i in range(K + M)]
        self.lb.repo = "ec:%d+%d:%s" % (K, M, ",".join(self.members))
        self.lb.env["LIFEBOAT_REPO"] = self.lb.repo

    def backed_up_tree(self):
        """A fidelity tree plus ~6 MiB of random files, backed up; returns its snapshot."""
        self.src = self.path("src")
        tt.make_fidelity_tree(self.src)
        make_random_tree(os.path.join(self.src, "random"), 6 * MiB, seed=7, max_size=2 * MiB)
        self.lb.init("--pack-size", "1")
        orig = tt.snapshot_tree(self.src)
        self.snap = self.lb.backup(self.src)["snapshot_id"]
        return orig

    def assert_restores(self, orig, msg):
        target = self.path("restore-%d" % len(os.listdir(self.tmp)))
        p = self.lb.restore(self.snap, target, timeout=300)
        self.assertTreeEqual(orig, restored_path(target, self.src), msg)
        lbtest.force_rmtree(target)
        return p

    def check(self, *args, expect=EXIT_OK):
        return self.lb.run_json(["check", *args], expect=expect)

    def lose(self, *idx):
        for i in idx:
            shutil.rmtree(self.members[i])

    def shard_files(self, member, kind="data"):
        return sorted(p for p in glob.glob(os.path.join(self.members[member], kind, "**", "*"), recursive=True)
                      if os.path.isfile(p))

    def test_two_members_lost_restore_check_repair(self):
        orig = self.backed_up_tree()
        j = self.check()
        self.assertTrue(j["erasure"]["whole"], j["erasure"])
        n_files = j["erasure"]["files"]
        self.assertGreater(n_files, 8, "expected config, key, index, snapshot and several packs")
        for m in j["erasure"]["members"]:
            self.assertEqual((m["present"], m["missing"], m["damaged"]), (n_files, 0, 0), m)

        self.lose(1, 3)
        self.assert_restores(orig, "restore with members 1 and 3 deleted")
        self.assertFalse(os.path.exists(self.members[1]), "a read-only command must not recreate a lost member")
        j = self.check(expect=EXIT_FATAL)
        self.assertFalse(j["ok"])
        members = j["erasure"]["members"]
        for i in (1, 3):
            self.assertEqual(members[i]["missing"], n_files, members[i])
            self.assertTrue(members[i]["redundancy_lost"])
        for i in (0, 2, 4):
            self.assertEqual(members[i]["present"], n_files, members[i])
            self.assertFalse(members[i]["redundancy_lost"])
        self.assertEqual(len(j["erasure"]["degraded"]), n_files)
        p = self.lb.run(["check"], expect=EXIT_FATAL)
        self.assertRegex(p.stdout, r"member 1 .*member1: 0 present, %d missing.*redundancy lost" % n_files)
        self.assertIn("redundancy lost", p.stderr)

        for i in (1, 3):
            os.makedirs(self.members[i])  # replaced by empty folders
        p = self.lb.run(["repair", "shards"])
        self.assertIn("rebuilt %d shards of %d files" % (2 * n_files, n_files), p.stdout)
        j = self.check()
        self.assertTrue(j["erasure"]["whole"])
        self.assertEqual([m["present"] for m in j["erasure"]["members"]], [n_files] * (K + M))
        j = self.check("--read-data")
        self.assertTrue(j["ok"] and j["erasure"]["whole"], j)

        self.lose(0, 4)  # two other members: only the rebuilt ones and member 2 remain
        self.assert_restores(orig, "restore with members 0 and 4 deleted after repair")

    def test_damaged_shard_reported_and_repaired(self):
        orig = self.backed_up_tree()
        shard = max(self.shard_files(2), key=os.path.getsize)
        pack = os.path.basename(shard)
        good = lbtest.read_file(shard)
        flip_bit(shard, SHARD_HEADER + (len(good) - SHARD_HEADER) // 2, 3)
        flip_bit(shard, SHARD_HEADER + 17, 0)
        self.assert_restores(orig, "restore with one damaged shard")
        self.check()  # headers are intact: the structure check cannot see payload damage
        j = self.check("--read-data", expect=EXIT_FATAL)
        self.assertEqual(j["erasure"]["members"][2]["damaged"], 1, j["erasure"]["members"])
        self.assertEqual(j["erasure"]["degraded"], ["data/" + pack])
        self.assertEqual(j["errors"], [], "the repository itself must read fine through parity")
        p = self.lb.run(["repair", "shards"])
        self.assertIn("rebuilt 1 shards of 1 files", p.stdout)
        self.assertEqual(lbtest.read_file(shard), good, "the rebuilt shard equals the original")
        j = self.check("--read-data")
        self.assertTrue(j["erasure"]["whole"])
        # A damaged header is visible to the plain check.
        flip_bit(shard, 20, 1)
        j = self.check(expect=EXIT_FATAL)
        self.assertEqual(j["erasure"]["members"][2]["damaged"], 1)

    def test_three_members_lost_fails_clearly(self):
        self.backed_up_tree()
        self.lose(0, 2, 4)
        target = self.path("restore-lost")
        p = self.lb.restore(self.snap, target, expect=None, timeout=120)
        self.assertNotEqual(p.returncode, EXIT_OK)
        self.assertOneLineError(p)
        self.assertRegex(p.stderr, r"only 2 of 5 shards intact, 3 needed")
        p = self.lb.run(["check"], expect=None, timeout=120)
        self.assertNotEqual(p.returncode, EXIT_OK)

    def test_backup_continues_with_one_member_down_and_refuses_with_two(self):
        orig = self.backed_up_tree()
        extra = self.path("extra")
        make_random_tree(extra, 2 * MiB, seed=9)
        # A broken member (its folder replaced by a file): writes and listings fail.
        shutil.rmtree(self.members[4])
        lbtest.write_file(self.members[4], b"not a directory")
        self.lb.backup(extra)
        j = self.check(expect=EXIT_FATAL)
        self.assertGreater(j["erasure"]["members"][4]["missing"] + j["erasure"]["members"][4]["unreachable"], 0)
        shutil.rmtree(self.members[3])
        lbtest.write_file(self.members[3], b"not a directory")
        p = self.lb.run(["backup", extra, self.src], expect=None)
        self.assertNotEqual(p.returncode, EXIT_OK, "a backup must not store files with fewer than k+1 shards")
        self.assertIn("shards stored, 4 needed", p.stderr)
        for i in (3, 4):
            os.remove(self.members[i])
            os.makedirs(self.members[i])
        self.lb.run(["repair", "shards"])
        self.check("--read-data")
        self.assert_restores(orig, "first snapshot after repair")

    def test_malformed_locations(self):
        for loc, want in [("ec:3+2:/a,/b", "2 member locations for 3+2"),
                          ("ec:3x2:/a,/b,/c,/d,/e", "is not K+M"),
                          ("ec:0+2:/a,/b", "K >= 1"),
                          ("ec:1+1:/a,ec:1+1:/b", "cannot be ec: locations"),
                          ("ec:3+2", "no member list")]:
            p = self.lb.run(["snapshots"], env={"LIFEBOAT_REPO": loc}, expect=EXIT_USAGE)
            self.assertOneLineError(p)
            self.assertIn(want, p.stderr)
        p = self.lb.run(["repair", "shards"], env={"LIFEBOAT_REPO": self.path("plain")}, expect=EXIT_USAGE)
        self.assertOneLineError(p)
        self.assertIn("not erasure-coded", p.stderr)


if __name__ == "__main__":
    lbtest.main()
