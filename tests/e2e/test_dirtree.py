#!/usr/bin/env python3
"""Directory trees whose completion the archiver defers (see src/archiver/completion.h).

Each directory's tree is stored after the walker has moved on; these tests fail if a
directory were completed before its subdirectories, got another directory's or
file's ids, or were counted wrongly: many directories with distinct contents, a
chain of 300 nested directories (more than the 256 pending directories allowed at
once), hardlinks across directories, and one directory with more nodes than the
pending-node bound (restored again under a low limit of open descriptors).

Run: python3 tests/e2e/test_dirtree.py --lifeboat PATH
"""

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
import treetools as tt  # noqa: E402
from lbtest import restored_path  # noqa: E402

SIZES = [0, 1, 100, 3000, 4096, 70_000, 600_000, 1_300_000]


def content(rel: str, size: int) -> bytes:
    """Bytes unique to `rel`, so swapped chunk ids show up in the restore."""
    seed = hashlib.sha256(rel.encode()).digest()
    out = bytearray()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed * 64
    return bytes(out[:size])


def write(root: str, rel: str, size: int) -> None:
    with open(os.path.join(root, rel), "wb") as f:
        f.write(content(rel, size))


def ancestors(path: str) -> int:
    return len([c for c in os.path.abspath(path).split("/") if c]) - 1


class DirTreeTest(lbtest.LBTestCase):

    def setUp(self):
        super().setUp()
        self.lb.init()

    def roundtrip(self, src: str, msg: str) -> dict:
        orig = tt.snapshot_tree(src)
        summary = self.lb.backup(src)
        self.assertEqual(summary["partial_files"], [])
        target = self.path("target-%d" % len(self.lb.snapshots()))
        self.lb.restore("latest", target)
        self.assertTreeEqual(orig, restored_path(target, src), msg)
        return summary

    def test_many_directories(self):
        src = self.path("src")
        os.mkdir(src)
        for a in range(9):
            for b in range(a % 4 + 3):
                for c in range(b + 1):
                    rel = "a%d/b%d/c%d" % (a, b, c)
                    os.makedirs(os.path.join(src, rel))
                    for i in range((a + b + c) % 7):
                        write(src, "%s/f%d" % (rel, i), SIZES[(a * 7 + b * 3 + c + i) % len(SIZES)])
                write(src, "a%d/b%d/top" % (a, b), SIZES[(a + b) % len(SIZES)])
        dirs = 1 + sum(len(dirnames) for _, dirnames, _ in os.walk(src))
        # hardlinks across directories (read once, the second name takes the first's ids)
        write(src, "a1/b0/c0/linked", 900_000)
        os.link(os.path.join(src, "a1/b0/c0/linked"), os.path.join(src, "a7/b2/c1/linked2"))
        os.symlink("../a1", os.path.join(src, "a2/up"))
        first = self.roundtrip(src, "restore of many directories differs")
        self.assertGreaterEqual(first["dirs_new"], dirs)
        self.assertLessEqual(first["dirs_new"], dirs + ancestors(src))

        again = self.lb.backup(src)
        self.assertEqual(again["dirs_new"], 0)
        self.assertGreaterEqual(again["dirs_unmodified"], dirs)
        self.assertEqual(again["files_unmodified"], first["total_files"])
        snaps = self.lb.snapshots()
        self.assertEqual(len(snaps), 2)

        write(src, "a8/b2/c2/f0", 5000)  # one leaf changes: it and its ancestors change
        third = self.roundtrip(src, "restore after a change differs")
        self.assertGreaterEqual(third["dirs_changed"], 4)
        self.assertLessEqual(third["dirs_changed"], 4 + ancestors(src))
        self.assertGreaterEqual(third["dirs_unmodified"], dirs - 4)

    def test_deep_chain(self):
        src = self.path("deep")
        depth = 300
        rels, rel = [], ""
        for i in range(depth):
            rel = os.path.join(rel, "n%03d" % i)
            rels.append(rel)
        os.makedirs(os.path.join(src, rel))
        for i, r in enumerate(rels):
            os.mkdir(os.path.join(src, r, "empty"))
            write(src, os.path.join(r, "file"), SIZES[i % len(SIZES)])
        dirs = 1 + 2 * depth
        first = self.roundtrip(src, "restore of a deep chain differs")
        self.assertGreaterEqual(first["dirs_new"], dirs)
        self.assertLessEqual(first["dirs_new"], dirs + ancestors(src))

        write(src, os.path.join(rels[-1], "file"), 123)  # the deepest file changes
        second = self.roundtrip(src, "restore of a changed deep chain differs")
        self.assertGreaterEqual(second["dirs_changed"], depth + 1)
        self.assertLessEqual(second["dirs_changed"], depth + 1 + ancestors(src))
        self.assertGreaterEqual(second["dirs_unmodified"], depth)  # the "empty" ones

    def test_directory_over_node_bound(self):
        src = self.path("wide")
        big = os.path.join(src, "big")
        os.makedirs(big)
        for i in range(17_000):  # over the 16k pending-node bound
            with open(os.path.join(big, "f%05d" % i), "wb") as f:
                f.write(b"%d" % i if i % 3 else b"")
        for name in ("after", "before"):
            os.mkdir(os.path.join(src, name))
            write(src, name + "/x", 2000)
        # Files whose writing takes longer than their creation: without a bound the
        # restorer would hold all of them open at once.
        fat = os.path.join(src, "fat")
        os.mkdir(fat)
        for i in range(300):
            with open(os.path.join(fat, "g%03d" % i), "wb") as f:
                f.write(os.urandom(200_000))
        summary = self.roundtrip(src, "restore of a directory of 17000 files differs")
        self.assertEqual(summary["total_files"], 17_302)
        # The restorer bounds the files it has open, so a low descriptor limit is
        # enough for any width of directory.
        target = self.path("target-fds")
        self.lb.restore("latest", target, max_fds=64)
        self.assertTreeEqual(tt.snapshot_tree(src), restored_path(target, src),
                             "restore under a limit of 64 descriptors differs")


if __name__ == "__main__":
    lbtest.main()
