#!/usr/bin/env python3
"""Concurrency and locks: parallel backups, prune/forget against a running
backup (exit 11 naming the holder, no data loss), stale locks, unlock.

A backup of standard input holds its shared lock for as long as we keep its
stdin open, which makes "a backup is running" deterministic.

Run: python3 tests/e2e/test_concurrency.py --lifeboat PATH
"""

import hashlib
import os
import random
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import EXIT_LOCKED, EXIT_OK, parse_json_lines, summary_of  # noqa: E402
from integrity_util import (MiB, assert_restores, check_json, hash_tree, kill9, kind_files,  # noqa: E402
                            make_random_tree, output_of, popen, wait_for_lock)


class ConcurrencyTest(lbtest.LBTestCase):

    def summary_from(self, p) -> dict:
        out, err = output_of(p)
        self.assertEqual(p.returncode, EXIT_OK, "background command exited %s:\n%s" % (p.returncode, err[-3000:]))
        return summary_of(parse_json_lines(out))

    def with_garbage(self):
        """src-g backed up twice with different content, the first snapshot
        forgotten: its unique data is garbage for prune.  Returns (src, want,
        kept id, garbage bytes)."""
        src = self.path("src-g")
        make_random_tree(src, 6 * MiB, seed=11, prefix="old")
        garbage = b"".join(lbtest.read_file(os.path.join(src, r)) for r in sorted(hash_tree(src)))
        self.lb.backup(src)
        lbtest.force_rmtree(src)
        want = make_random_tree(src, 6 * MiB, seed=12, prefix="new")
        kept = self.lb.backup(src)["snapshot_id"]
        self.lb.run(["forget", "--keep-last", "1"])
        self.assertEqual([s["id"] for s in self.lb.snapshots()], [kept])
        return src, want, kept, garbage

    def start_stdin_backup(self, name="held.bin"):
        p = popen(self.lb, ["--json", "backup", "--stdin", "--stdin-name", name], stdin=subprocess.PIPE,
                  name="stdin-backup")
        self.addCleanup(lambda: (p.poll() is None) and kill9(p))
        self.assertTrue(wait_for_lock(self.lb.repo, p), "a running backup did not create a lock file in locks/: %r"
                        % (output_of(p),))
        self.assertIsNone(p.poll(), "the stdin backup exited early: %r" % (output_of(p),))
        return p

    def assert_locked_by(self, res, holder_pid, what):
        self.assertEqual(res.returncode, EXIT_LOCKED, "%s while a backup holds the lock: exit %d\n%s"
                         % (what, res.returncode, res.stderr))
        self.assertOneLineError(res)
        self.assertIn(str(holder_pid), res.stderr, "%s: the lock error does not name the holder's pid" % what)
        self.assertIn(socket.gethostname(), res.stderr, "%s: the lock error does not name the holder's host" % what)

    def stdin_snapshot_path(self, snap) -> str:
        files = [e["path"] for e in self.lb.run_jsonl(["ls", snap]) if isinstance(e, dict) and e.get("type") == "file"]
        self.assertEqual(len(files), 1, files)
        return files[0]

    # ------------------------------------------------------------ parallel backups
    def test_two_backups_at_once(self):
        self.lb.init("--pack-size", "1")
        srcs = [self.path("src-1"), self.path("src-2")]
        wants = [make_random_tree(srcs[0], 40 * MiB, seed=1, prefix="x"),
                 make_random_tree(srcs[1], 40 * MiB, seed=2, prefix="y")]
        for rnd in range(2):
            if rnd:   # second round: both trees grow, both backups are incremental
                for i, s in enumerate(srcs):
                    extra = make_random_tree(os.path.join(s, "round2"), 8 * MiB, seed=20 + i, prefix="z")
                    wants[i].update({os.path.join("round2", k): v for k, v in extra.items()})
            procs = [popen(self.lb, ["--json", "backup", s], name="par") for s in srcs]
            for p in procs:
                p.wait(timeout=300)
            sums = [self.summary_from(p) for p in procs]
            check_json(self, "--read-data")
            for s, src, want in zip(sums, srcs, wants):
                assert_restores(self, s["snapshot_id"], src, want, msg="parallel backup round %d" % rnd)
        self.assertEqual(len(self.lb.snapshots()), 4)

    # ------------------------------------------------------------ prune vs. backup
    def test_prune_and_forget_refused_while_backup_holds_lock(self):
        self.lb.init("--pack-size", "1")
        src, want, kept, garbage = self.with_garbage()
        p = self.start_stdin_backup()
        # the running backup is fed the forgotten (garbage) data: prune must not
        # delete blobs it may be deduplicating against
        p.stdin.write(garbage[: len(garbage) // 2])
        p.stdin.flush()
        time.sleep(0.2)
        before = lbtest.listing(self.lb.repo)
        res = self.lb.run(["prune"], expect=None)
        self.assert_locked_by(res, p.pid, "prune")
        res = self.lb.run(["forget", "--keep-last", "1"], expect=None)
        self.assert_locked_by(res, p.pid, "forget")
        after = lbtest.listing(self.lb.repo)
        gone = sorted(k for k in before if k.startswith(("data/", "index/", "snapshots/")) and k not in after)
        self.assertEqual(gone, [], "a refused prune/forget removed files from the repository")
        self.assertEqual(sorted(k for k in after if k.startswith("snapshots/")),
                         sorted(k for k in before if k.startswith("snapshots/")))
        p.stdin.write(garbage[len(garbage) // 2:])
        p.stdin.close()
        p.wait(timeout=300)
        held = self.summary_from(p)["snapshot_id"]

        r = self.lb.run_json(["prune"])    # lock released: now it runs
        self.assertEqual(r.get("message_type"), "prune")
        check_json(self, "--read-data")
        target = self.path("t-held")
        self.lb.restore(held, target)
        path = self.stdin_snapshot_path(held)
        self.assertEqual(hashlib.sha256(lbtest.read_file(os.path.join(target, path.lstrip("/")))).hexdigest(),
                         hashlib.sha256(garbage).hexdigest(), "stdin snapshot restored different data")
        assert_restores(self, kept, src, want, msg="kept snapshot")

    def test_prune_during_real_backup(self):
        self.lb.init("--pack-size", "1")
        src, want, kept, garbage = self.with_garbage()
        big = self.path("src-big")
        want_big = make_random_tree(big, 120 * MiB, seed=31, max_size=3 * MiB)
        lbtest.write_file(os.path.join(big, "garbage-again.bin"), garbage)    # dedups against garbage
        want_big["garbage-again.bin"] = hashlib.sha256(garbage).hexdigest()
        p = popen(self.lb, ["--json", "backup", big], name="big")
        self.addCleanup(lambda: (p.poll() is None) and kill9(p))
        self.assertTrue(wait_for_lock(self.lb.repo, p), "backup created no lock file")
        running_at_start = p.poll() is None
        res = self.lb.run(["prune"], expect=None)
        backup_done_at_prune_end = p.poll() is not None
        p.wait(timeout=300)
        s = self.summary_from(p)
        if os.environ.get("LIFEBOAT_E2E_VERBOSE"):
            sys.stderr.write("\nbackup running when prune started: %s; prune exit %d; backup done when prune "
                             "ended: %s\n" % (running_at_start, res.returncode, backup_done_at_prune_end))
        if running_at_start:
            if res.returncode == EXIT_LOCKED:
                self.assertOneLineError(res)
                self.assertIn(str(p.pid), res.stderr)
            else:
                self.assertEqual(res.returncode, EXIT_OK, "prune during a backup: exit %d\n%s"
                                 % (res.returncode, res.stderr))
                self.assertTrue(backup_done_at_prune_end, "prune succeeded while the backup was still running")
        else:
            self.assertIn(res.returncode, (EXIT_OK, EXIT_LOCKED), res.stderr)
        check_json(self, "--read-data")
        assert_restores(self, s["snapshot_id"], big, want_big, msg="backup that ran during prune")
        assert_restores(self, kept, src, want, msg="kept snapshot")
        self.lb.run(["prune"])
        check_json(self, "--read-data")
        assert_restores(self, s["snapshot_id"], big, want_big, msg="after a later prune")

    # ------------------------------------------------------------ stale locks / unlock
    def test_lock_of_killed_process_is_stale(self):
        self.lb.init()
        src = self.path("src")
        want = make_random_tree(src, 2 * MiB, seed=5)
        snap = self.lb.backup(src)["snapshot_id"]
        p = self.start_stdin_backup()
        p.stdin.write(random.Random(1).randbytes(100_000))
        p.stdin.flush()
        self.assertTrue(kill9(p))
        self.assertTrue(kind_files(self.lb.repo, "locks"), "the killed backup's lock file is gone already?")
        j = check_json(self)                       # a stale lock is a warning, not an error
        self.assertTrue(j["warnings"], "check does not warn about the stale lock")
        self.lb.run(["forget", "--keep-last", "5"])   # exclusive: not blocked by the dead pid
        self.lb.run(["prune"])
        self.lb.run(["unlock"])
        self.assertEqual(kind_files(self.lb.repo, "locks"), {}, "unlock left the stale lock")
        assert_restores(self, snap, src, want)

    def test_unlock_keeps_live_locks_unless_remove_all(self):
        self.lb.init()
        p = self.start_stdin_backup()
        held = set(kind_files(self.lb.repo, "locks"))
        self.lb.run(["unlock"])
        self.assertTrue(held & set(kind_files(self.lb.repo, "locks")), "unlock removed the lock of a live process")
        self.assert_locked_by(self.lb.run(["prune"], expect=None), p.pid, "prune")
        self.lb.run(["unlock", "--remove-all"])
        self.assertFalse(held & set(kind_files(self.lb.repo, "locks")), "unlock --remove-all left a lock")
        self.lb.run(["prune"])       # nothing holds a lock any more
        p.stdin.close()
        p.wait(timeout=120)


if __name__ == "__main__":
    lbtest.main()
