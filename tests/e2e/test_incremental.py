#!/usr/bin/env python3
"""Incremental backups: unchanged files are not re-read, a 1-byte change adds little.

Run: python3 tests/e2e/test_incremental.py --lifeboat PATH
"""

import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import read_file, restored_path, write_file  # noqa: E402

MiB = 1024 * 1024
COUNTERS = ["files_new", "files_changed", "files_unmodified", "dirs_new", "dirs_changed", "dirs_unmodified",
            "data_blobs", "tree_blobs", "blobs_added", "bytes_read", "bytes_added", "bytes_stored",
            "total_files", "total_bytes"]


class IncrementalTest(lbtest.LBTestCase):

    def make_small_tree(self, n_files=24):
        """n_files regular files in 3 directories (no symlinks or specials)."""
        rng = random.Random(42)
        self.src = self.path("src")
        total = 0
        for i in range(n_files):
            data = rng.randbytes(rng.randrange(0, 200_000))
            write_file(self.path("src", "d%d" % (i % 3), "f%02d.bin" % i), data)
            total += len(data)
        return total

    def assertSummaryShape(self, s):
        for k in COUNTERS:
            self.assertIn(k, s)
            self.assertIsInstance(s[k], int, k)
            self.assertGreaterEqual(s[k], 0, k)
        self.assertIsInstance(s["snapshot_id"], str)
        self.assertRegex(s["snapshot_id"], r"^[0-9a-f]+$")
        self.assertIsInstance(s["partial_files"], list)
        self.assertIsInstance(s["duration_s"], (int, float))
        self.assertEqual(s["blobs_added"], s["data_blobs"] + s["tree_blobs"])

    def test_unchanged_tree(self):
        n = 24
        total = self.make_small_tree(n)
        self.lb.init()
        s1 = self.lb.backup(self.src)
        self.assertSummaryShape(s1)
        self.assertEqual(s1["files_new"], n)
        self.assertEqual(s1["files_unmodified"], 0)
        self.assertEqual(s1["total_files"], n)
        self.assertEqual(s1["total_bytes"], total)
        self.assertEqual(s1["bytes_read"], total)
        self.assertGreater(s1["data_blobs"], 0)

        s2 = self.lb.backup(self.src)
        self.assertSummaryShape(s2)
        self.assertEqual(s2["files_unmodified"], n, s2)
        self.assertEqual(s2["files_new"], 0, s2)
        self.assertEqual(s2["files_changed"], 0, s2)
        self.assertEqual(s2["bytes_read"], 0, s2)
        self.assertEqual(s2["data_blobs"], 0, s2)
        self.assertEqual(s2["total_files"], n)
        self.assertEqual(s2["total_bytes"], total)
        self.assertNotEqual(s2["snapshot_id"], s1["snapshot_id"])

        snaps = self.lb.snapshots()
        self.assertEqual([x["id"] for x in snaps], [s1["snapshot_id"], s2["snapshot_id"]])
        self.assertEqual(snaps[1]["parent"], s1["snapshot_id"])

        # --force re-reads everything but adds no data
        s3 = self.lb.backup(self.src, "--force")
        self.assertEqual(s3["bytes_read"], total, s3)
        self.assertEqual(s3["data_blobs"], 0, s3)

        # a new file is the only thing read
        write_file(self.path("src", "d0", "new.txt"), b"a new file\n")
        s4 = self.lb.backup(self.src)
        self.assertEqual(s4["files_new"], 1, s4)
        self.assertEqual(s4["files_unmodified"], n, s4)
        self.assertEqual(s4["bytes_read"], len(b"a new file\n"), s4)

    def test_progress_totals(self):
        """The first backup counts its totals with a scan; a re-backup takes them
        from the parent snapshot's summary (no second lstat of every file)."""
        n = 24
        total = self.make_small_tree(n)
        self.lb.init()

        def first_status(lines):
            status = [l for l in lines if l.get("message_type") == "status"]
            self.assertTrue(status, lines)  # the first status line is printed at once
            return status[0]

        first = first_status(self.lb.run_jsonl(["backup", self.src]))
        self.assertFalse(first["total_estimated"], first)
        write_file(self.path("src", "d0", "new.txt"), b"one more\n")
        second = first_status(self.lb.run_jsonl(["backup", self.src]))
        self.assertTrue(second["total_estimated"], second)
        self.assertTrue(second["scan_done"], second)
        self.assertEqual(second["total_files"], n, second)  # the parent's, not today's n + 1
        self.assertEqual(second["total_bytes"], total, second)
        forced = first_status(self.lb.run_jsonl(["backup", self.src, "--force"]))
        self.assertFalse(forced["total_estimated"], forced)

    def test_one_byte_change_in_big_file(self):
        size = 20 * MiB
        self.src = self.path("src")
        big = self.path("src", "big.bin")
        write_file(big, random.Random(7).randbytes(size))
        write_file(self.path("src", "other.txt"), b"unchanged\n")
        self.lb.init()
        s1 = self.lb.backup(self.src)
        self.assertSummaryShape(s1)
        self.assertGreaterEqual(s1["bytes_added"], size)
        self.assertGreater(s1["data_blobs"], 3, "a 20 MiB random file must be split into several chunks")

        st = os.stat(big)
        with open(big, "r+b") as f:
            f.seek(size // 2 + 12345)
            b = f.read(1)
            f.seek(size // 2 + 12345)
            f.write(bytes([b[0] ^ 0xFF]))
        os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # make the change visible for sure
        expected = hashlib.sha256(read_file(big)).hexdigest()

        s2 = self.lb.backup(self.src)
        self.assertSummaryShape(s2)
        self.assertEqual(s2["files_changed"], 1, s2)
        self.assertEqual(s2["files_unmodified"], 1, s2)
        self.assertEqual(s2["files_new"], 0, s2)
        self.assertGreaterEqual(s2["data_blobs"], 1, s2)
        self.assertLessEqual(s2["data_blobs"], 3, s2)
        self.assertLess(s2["bytes_added"], 10 * MiB, s2)
        self.assertEqual(s2["bytes_read"], size, s2)

        target = self.path("target")
        self.lb.restore("latest", target)
        got = hashlib.sha256(read_file(os.path.join(restored_path(target, self.src), "big.bin"))).hexdigest()
        self.assertEqual(got, expected)
        # the first snapshot still restores the old content
        snaps = self.lb.snapshots()
        target1 = self.path("target1")
        self.lb.restore(snaps[0]["id"], target1)
        old = read_file(os.path.join(restored_path(target1, self.src), "big.bin"))
        self.assertEqual(old, random.Random(7).randbytes(size))


if __name__ == "__main__":
    lbtest.main()
