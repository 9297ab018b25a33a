#!/usr/bin/env python3
"""Crash safety: kill -9 backup and prune at seeded random moments.

After every kill the repository must pass `check` (warnings such as unindexed
packs or the dead process's lock are allowed), the next command must not be
blocked by the dead process's lock, and no data of a kept snapshot may be lost.

LIFEBOAT_CRASH_ITERATIONS (default 20) sets the number of kills per test;
LIFEBOAT_CRASH_SEED (default 20261120) the random seed.

Run: python3 tests/e2e/test_crash.py --lifeboat PATH
"""

import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from integrity_util import (MiB, assert_restores, check_json, data_bytes, fast_tmpdir, hash_tree,  # noqa: E402
                            kill9, kind_files, make_random_tree, output_of, pack_files, popen)

ITERATIONS = int(os.environ.get("LIFEBOAT_CRASH_ITERATIONS", "20"))
SEED = int(os.environ.get("LIFEBOAT_CRASH_SEED", "20261120"))


def _log(msg):
    if os.environ.get("LIFEBOAT_E2E_VERBOSE"):
        sys.stderr.write(msg + "\n")


class CrashBase(lbtest.LBTestCase):
    shared = None   # class-wide temp dir with the source data (made once)

    @classmethod
    def setUpClass(cls):
        cls.shared = fast_tmpdir("lifeboat-e2e-crash-", need_bytes=2 << 30)

    @classmethod
    def tearDownClass(cls):
        if cls.shared:
            lbtest.force_rmtree(cls.shared)

    def setUp(self):
        super().setUp()
        # repository and restore targets next to the shared source (fast scratch space)
        self.work = tempfile.mkdtemp(prefix="work-", dir=self.shared)
        self.addCleanup(lambda: lbtest.force_rmtree(self.work))
        self.lb.repo = os.path.join(self.work, "repo")
        self.lb.env["LIFEBOAT_REPO"] = self.lb.repo

    def restores(self, snap, src, want, msg):
        assert_restores(self, snap, src, want, target=os.path.join(self.work, "restore"), msg=msg)

    def fresh_repo(self):
        if os.path.lexists(self.lb.repo):
            lbtest.force_rmtree(self.lb.repo)
        self.lb.init("--pack-size", "1")

    def timed(self, args) -> float:
        t = time.monotonic()
        self.lb.run(args)
        return time.monotonic() - t

    def assert_check_after_kill(self, what):
        p_ok = check_json(self, expect=None)
        if not p_ok["ok"]:
            self.fail("check failed after %s:\n%r\n%s" % (what, p_ok["errors"][:10], p_ok["_stderr"]))


class BackupCrashTest(CrashBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.src = os.path.join(cls.shared, "src")
        # ~150 MiB of random files (64 KiB .. 3 MiB): 1-2 s of backup, >100 packs
        cls.want = make_random_tree(cls.src, 150 * MiB, seed=SEED, min_size=64 * 1024,
                                    max_size=3 * MiB, subdirs=8)
        cls.total = sum(os.path.getsize(os.path.join(cls.src, r)) for r in cls.want)

    def test_kill_backup_at_random_points(self):
        rng = random.Random(SEED)
        # calibrate: how long does an uninterrupted backup of this tree take here?
        self.fresh_repo()
        full = self.timed(["backup", self.src])
        window = max(0.3, 1.2 * full)
        _log("uninterrupted backup: %.2fs, kill window 0..%.2fs" % (full, window))

        killed, reused, late = 0, 0, 0
        for it in range(ITERATIONS):
            self.fresh_repo()
            delay = rng.uniform(0, window)
            p = popen(self.lb, ["--json", "backup", self.src], name="backup")
            time.sleep(delay)
            was_killed = kill9(p)
            what = "kill -9 of backup after %.3fs (iteration %d)" % (delay, it)
            if not was_killed:
                out, err = output_of(p)
                self.assertEqual(p.returncode, 0, "%s: backup exited %s before the kill:\n%s"
                                 % (what, p.returncode, err[-2000:]))
            killed += was_killed
            n_index = len(kind_files(self.lb.repo, "index"))
            n_packs = len(pack_files(self.lb.repo))
            self.assert_check_after_kill(what)

            s = self.lb.backup(self.src)      # must not be blocked by the dead process
            _log("%s: killed=%s packs=%d index=%d -> bytes_added=%d"
                 % (what, was_killed, n_packs, n_index, s["bytes_added"]))
            self.assertEqual(s["total_bytes"], self.total)
            if not was_killed:
                self.assertEqual(s["bytes_added"], 0, "%s: completed backup, but the next one added data" % what)
            elif n_index > 0:
                late += 1
                self.assertLess(s["bytes_added"], self.total,
                                "%s: %d index files were written before the kill, but the next backup "
                                "re-uploaded everything" % (what, n_index))
            if was_killed and s["bytes_added"] < self.total:
                reused += 1
            if it % 5 == 4 or it == ITERATIONS - 1:
                check_json(self, "--read-data")
                self.restores(s["snapshot_id"], self.src, self.want, msg=what)
            else:
                self.assert_check_after_kill("the backup after " + what)

        _log("killed %d of %d, late kills %d, reused %d" % (killed, ITERATIONS, late, reused))
        self.assertGreaterEqual(killed, ITERATIONS // 4, "too few kills hit a running backup; "
                                "the kill window (%.2fs) is too short" % window)
        self.assertGreater(reused, 0, "no backup after a killed backup reused the packs already written")


class PruneCrashTest(CrashBase):
    """Template repository: snapshot 1 of mixed/ + gone/, snapshot 2 of mixed/
    with every other file removed and gone/ removed; snapshot 1 forgotten.  So
    prune must delete whole packs (gone/) and repack half-used ones (mixed/)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.src = os.path.join(cls.shared, "src")
        make_random_tree(os.path.join(cls.src, "mixed"), 40 * MiB, seed=SEED + 1, min_size=32 * 1024,
                         max_size=400 * 1024, subdirs=4)
        make_random_tree(os.path.join(cls.src, "gone"), 20 * MiB, seed=SEED + 2, min_size=32 * 1024,
                         max_size=1 * MiB, subdirs=2)
        cls.template = None

    def build_template(self):
        cls = type(self)
        if cls.template:
            return
        src = cls.src
        self.fresh_repo()
        self.lb.backup(src)
        lbtest.force_rmtree(os.path.join(src, "gone"))
        for i, rel in enumerate(sorted(hash_tree(os.path.join(src, "mixed")))):
            if i % 2:
                os.remove(os.path.join(src, "mixed", rel))
        cls.want = hash_tree(src)
        cls.kept = self.lb.backup(src)["snapshot_id"]
        self.lb.run(["forget", "--keep-last", "1"])
        self.assertEqual([s["id"] for s in self.lb.snapshots()], [cls.kept])
        check_json(self)
        cls.template = os.path.join(cls.shared, "template-repo")
        shutil.copytree(self.lb.repo, cls.template, symlinks=True)
        cls.template_bytes = data_bytes(cls.template)

    def repo_from_template(self):
        if os.path.lexists(self.lb.repo):
            lbtest.force_rmtree(self.lb.repo)
        shutil.copytree(self.template, self.lb.repo, symlinks=True)

    def test_kill_prune_at_random_points(self):
        self.build_template()
        rng = random.Random(SEED + 7)
        # calibrate with an uninterrupted prune (and check that it does both kinds of work)
        self.repo_from_template()
        t = time.monotonic()
        r = self.lb.run_json(["prune"])
        full = time.monotonic() - t
        self.assertGreater(r["packs_deleted"], 0, r)
        self.assertGreater(r["packs_repacked"], 0, r)
        self.assertLess(data_bytes(self.lb.repo), self.template_bytes)
        check_json(self, "--read-data")
        self.restores(self.kept, self.src, self.want, msg="after an uninterrupted prune")
        window = max(0.3, 1.2 * full)
        _log("uninterrupted prune: %.2fs, kill window 0..%.2fs" % (full, window))

        killed = 0
        for it in range(ITERATIONS):
            self.repo_from_template()
            delay = rng.uniform(0, window)
            p = popen(self.lb, ["prune"], name="prune")
            time.sleep(delay)
            was_killed = kill9(p)
            what = "kill -9 of prune after %.3fs (iteration %d)" % (delay, it)
            if not was_killed:
                self.assertEqual(p.returncode, 0, "%s: prune exited %s before the kill:\n%s"
                                 % (what, p.returncode, output_of(p)[1][-2000:]))
            killed += was_killed
            _log("%s: killed=%s packs=%d" % (what, was_killed, len(pack_files(self.lb.repo))))
            self.assert_check_after_kill(what)
            self.assertEqual([s["id"] for s in self.lb.snapshots()], [self.kept])
            self.restores(self.kept, self.src, self.want, msg=what)
            # the dead prune's exclusive lock must not block a backup nor the next prune
            s = self.lb.backup(self.src)
            self.assertEqual(s["bytes_added"], 0, "%s: unchanged source re-uploaded %d bytes"
                             % (what, s["bytes_added"]))
            self.lb.run(["prune"])
            if it % 3 == 2 or it == ITERATIONS - 1:
                check_json(self, "--read-data")
                self.restores(s["snapshot_id"], self.src, self.want, msg="after re-running prune, " + what)
            else:
                self.assert_check_after_kill("the prune after " + what)

        _log("killed %d of %d prunes" % (killed, ITERATIONS))
        self.assertGreaterEqual(killed, ITERATIONS // 4, "too few kills hit a running prune; "
                                "the kill window (%.2fs) is too short" % window)


if __name__ == "__main__":
    lbtest.main()
