"""lifeboat copy between local repositories: a byte-identical restore from the
copy, idempotence, the same-ids fast path (init --copy-chunker-params) reading
only what changed, resuming after kill -9, and clean errors."""

import os
import signal
import subprocess
import time

import lbtest
import treetools

KDF = lbtest.KDF_ARGS


class CopyTest(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        treetools.make_fidelity_tree(self.src)
        lbtest.write_file(os.path.join(self.src, "data", "big.bin"), os.urandom(3 << 20))
        self.lb.init()
        self.lb.backup(self.src)
        self.expected = treetools.snapshot_tree(self.src)
        self.dst = self.path("dst")
        self.lb.env["LIFEBOAT_FROM_PASSWORD"] = self.lb.password

    def copy(self, *extra, dst=None, expect=lbtest.EXIT_OK):
        lines = self.lb.run_jsonl(["copy", "--from-repo", self.lb.repo, *extra],
                                  env={"LIFEBOAT_REPO": dst or self.dst}, expect=expect)
        return lines[-1] if lines else None

    def snaps(self, repo):
        return self.lb.run_json(["snapshots"], env={"LIFEBOAT_REPO": repo})

    def test_copy_restores_identical_and_is_idempotent(self):
        self.lb.run(["init", *KDF], env={"LIFEBOAT_REPO": self.dst})
        s = self.copy()
        self.assertEqual(s["snapshots_copied"], 1)
        self.assertFalse(s["same_ids"])
        self.assertGreater(s["blobs_copied"], 3)
        target = self.path("restored")
        self.lb.run(["restore", "latest", "--target", target, "--verify"], env={"LIFEBOAT_REPO": self.dst})
        self.assertTreeEqual(self.expected, lbtest.restored_path(target, self.src), "restore from the copy")
        again = self.copy()
        self.assertEqual((again["snapshots_copied"], again["snapshots_skipped"], again["blobs_copied"]), (0, 1, 0))
        self.assertEqual(len(self.snaps(self.dst)), 1)
        # a second source snapshot: copied with its parent mapped to the first copy
        lbtest.write_file(os.path.join(self.src, "data", "new.txt"), b"new\n")
        self.lb.backup(self.src)
        s = self.copy()
        self.assertEqual(s["snapshots_copied"], 1)
        self.assertGreaterEqual(s["blobs_present"], 1, "unchanged content is deduplicated in the destination")
        copies = sorted(self.snaps(self.dst), key=lambda x: x["time"])
        self.assertEqual(copies[1]["parent"], copies[0]["id"])
        self.lb.run(["check", "--read-data"], env={"LIFEBOAT_REPO": self.dst})

    def test_same_ids_reads_only_what_changed(self):
        self.lb.run(["init", *KDF, "--from-repo", self.lb.repo, "--copy-chunker-params"],
                    env={"LIFEBOAT_REPO": self.dst})
        first = self.copy()
        self.assertTrue(first["same_ids"])
        self.assertEqual(first["snapshots_copied"], 1)
        lbtest.write_file(os.path.join(self.src, "data", "small-change.txt"), b"one more file\n")
        self.lb.backup(self.src)
        s = self.copy()
        self.assertEqual(s["snapshots_copied"], 1)
        self.assertEqual(s["blobs_copied"], s["blobs_read"], s)
        # the new file's blob plus the trees on its path; big.bin is never read again
        self.assertLessEqual(s["blobs_read"], 8, s)
        self.assertLess(s["bytes_copied"], 200000, s)
        target = self.path("restored")
        self.lb.run(["restore", "latest", "--target", target], env={"LIFEBOAT_REPO": self.dst})
        self.assertEqual(lbtest.read_file(lbtest.restored_path(target, os.path.join(self.src, "data", "small-change.txt"))),
                         b"one more file\n")
        self.lb.run(["check", "--read-data"], env={"LIFEBOAT_REPO": self.dst})

    def test_resumes_after_kill(self):
        lbtest.write_file(os.path.join(self.src, "data", "large.bin"), os.urandom(48 << 20))
        self.lb.backup(self.src)
        self.lb.run(["init", *KDF, "--pack-size", "1"], env={"LIFEBOAT_REPO": self.dst})
        env = dict(self.lb.env, LIFEBOAT_REPO=self.dst)
        p = subprocess.Popen([self.lb.bin, "copy", "--from-repo", self.lb.repo, "--threads", "1"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        index_dir = os.path.join(self.dst, "index")
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None and len(os.listdir(index_dir)) < 2:
            time.sleep(0.01)
        self.assertIsNone(p.poll(), "copy finished before it could be killed; make the data larger")
        p.send_signal(signal.SIGKILL)
        p.wait()
        done = len(self.snaps(self.dst))
        self.assertLess(done, 2, "the large snapshot is not there before its copy completes")
        s = self.copy()
        self.assertEqual((s["snapshots_copied"], s["snapshots_skipped"]), (2 - done, done))
        self.assertGreater(s["blobs_present"], 0, "the second run reuses what the first stored")
        self.lb.run(["check", "--read-data"], env={"LIFEBOAT_REPO": self.dst})
        target = self.path("restored")
        self.lb.run(["restore", "latest", "--target", target], env={"LIFEBOAT_REPO": self.dst})
        self.assertEqual(lbtest.read_file(lbtest.restored_path(target, os.path.join(self.src, "data", "large.bin"))),
                         lbtest.read_file(os.path.join(self.src, "data", "large.bin")))

    def test_errors(self):
        self.lb.run(["init", *KDF], env={"LIFEBOAT_REPO": self.dst})
        p = self.lb.run(["copy", "--from-repo", self.lb.repo], env={"LIFEBOAT_REPO": self.dst,
                        "LIFEBOAT_FROM_PASSWORD": "wrong"}, expect=lbtest.EXIT_WRONG_PASSWORD)
        self.assertOneLineError(p)
        p = self.lb.run(["copy", "--from-repo", self.path("nowhere")], env={"LIFEBOAT_REPO": self.dst},
                        expect=lbtest.EXIT_NO_REPO)
        self.assertOneLineError(p)
        p = self.lb.run(["copy", "--from-repo", self.lb.repo], expect=lbtest.EXIT_USAGE)
        self.assertOneLineError(p)
        p = self.lb.run(["copy", "--from-repo", self.lb.repo, "deadbeef"], env={"LIFEBOAT_REPO": self.dst},
                        expect=lbtest.EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertEqual(self.snaps(self.dst), [])


if __name__ == "__main__":
    lbtest.main()
