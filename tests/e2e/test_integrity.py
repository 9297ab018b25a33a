#!/usr/bin/env python3
"""Damage detection and repair: check, check --read-data, repair index,
repair snapshots, forget and prune.

Every damage test backs up two disjoint source trees A and B (different random
data) into a repository with 1 MiB packs, damages one object that only A uses,
and asserts that check fails naming the object (and, for packs, the affected
snapshot and file), while B still restores byte-identical.

Run: python3 tests/e2e/test_integrity.py --lifeboat PATH
"""

import os
import random
import re
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import EXIT_FATAL, EXIT_OK, EXIT_USAGE  # noqa: E402
from integrity_util import (MiB, all_affects, assert_restores, check_json, check_text, data_bytes,  # noqa: E402
                            flip_bit, hash_tree, json_errors_for, kind_files, make_random_tree,
                            pack_files, truncate_half)


class IntegrityTest(lbtest.LBTestCase):

    # ------------------------------------------------------------ fixtures
    def two_snapshots(self, size=8 * MiB) -> types.SimpleNamespace:
        """Repository with snapshot A of src-a and snapshot B of src-b; records
        which packs and index files each backup added."""
        c = types.SimpleNamespace()
        self.lb.init("--pack-size", "1")
        c.src_a, c.src_b = self.path("src-a"), self.path("src-b")
        c.want_a = make_random_tree(c.src_a, size, seed=101, prefix="a")
        c.want_b = make_random_tree(c.src_b, size, seed=202, prefix="b")
        p0, i0 = set(pack_files(self.lb.repo)), set(kind_files(self.lb.repo, "index"))
        c.snap_a = self.lb.backup(c.src_a)["snapshot_id"]
        p1, i1 = set(pack_files(self.lb.repo)), set(kind_files(self.lb.repo, "index"))
        c.snap_b = self.lb.backup(c.src_b)["snapshot_id"]
        p2, i2 = set(pack_files(self.lb.repo)), set(kind_files(self.lb.repo, "index"))
        c.packs_a, c.packs_b = p1 - p0, p2 - p1
        c.index_a, c.index_b = i1 - i0, i2 - i1
        self.assertGreaterEqual(len(c.packs_a), 4, "expected several 1 MiB packs for %d bytes" % size)
        self.assertTrue(c.index_a and c.index_b, "each backup must write an index file")
        self.assertTrue(c.packs_a.isdisjoint(c.packs_b))
        c.paths_a = {os.path.join(c.src_a, r) for r in c.want_a}
        c.paths_b = {os.path.join(c.src_b, r) for r in c.want_b}
        # baseline: the undamaged repository passes both check levels
        check_json(self, expect=EXIT_OK)
        return c

    def repo_listing(self) -> dict:
        """listing() of the repository without locks/ (taking and releasing a
        lock is allowed even for --dry-run)."""
        return {k: v for k, v in lbtest.listing(self.lb.repo, contents=True).items()
                if k != "locks" and not k.startswith("locks/")}

    def biggest_pack(self, ids) -> tuple[str, str]:
        packs = pack_files(self.lb.repo)
        pid = max(sorted(ids), key=lambda i: os.path.getsize(packs[i]))
        return pid, packs[pid]

    def biggest_data_pack(self, ids) -> tuple[str, str]:
        """biggest_pack() among the packs written before the last one: a backup's
        trees are stored after its files' chunks, so its last pack holds the root
        tree, and losing it loses every file (when that pack was also the
        biggest, 1 run in 12 here, the test failed)."""
        packs = pack_files(self.lb.repo)
        newest = max(ids, key=lambda i: os.stat(packs[i]).st_mtime_ns)
        return self.biggest_pack(set(ids) - {newest})

    def assert_b_intact(self, c, msg):
        assert_restores(self, c.snap_b, c.src_b, c.want_b, msg="snapshot B (" + msg + ")")

    def assert_only_a_affected(self, c, j, msg):
        aff = all_affects(j)
        self.assertTrue(any(s == c.snap_a for s, _ in aff),
                        "%s: no error says it affects snapshot A %s: %r" % (msg, c.snap_a[:8], j["errors"][:5]))
        self.assertFalse([a for a in aff if a[0] == c.snap_b],
                         "%s: errors claim to affect snapshot B, which does not use the damaged object" % msg)

    def assert_pack_reported(self, c, j, text_errors, pack_id, msg):
        """JSON: an error of kind pack naming pack_id that affects a file of
        snapshot A (and nothing of B).  Text: an 'error: ' line naming the pack
        followed by '  affects snapshot <A> <file of A>'."""
        errs = json_errors_for(j, pack_id, "pack")
        self.assertTrue(errs, "%s: no error of kind 'pack' names %s: %r" % (msg, pack_id[:12], j["errors"][:5]))
        aff = all_affects(j)
        self.assertTrue([a for a in aff if a[0] == c.snap_a and a[1] in c.paths_a],
                        "%s: no error names a file of snapshot A as affected: %r" % (msg, aff[:10]))
        self.assertFalse([a for a in aff if a[0] == c.snap_b], "%s: snapshot B reported as affected" % msg)
        lines = [e for e in text_errors if pack_id[:8] in e[0]]
        self.assertTrue(lines, "%s: no 'error: ' line names pack %s:\n%r" % (msg, pack_id[:8], text_errors[:5]))
        taff = [a for e in text_errors for a in e[1]]
        self.assertTrue([a for a in taff if c.snap_a.startswith(a[0]) and a[1] in c.paths_a],
                        "%s: no '  affects snapshot %s <path of A>' line: %r" % (msg, c.snap_a[:8], taff[:10]))
        self.assertFalse([a for a in taff if c.snap_b.startswith(a[0])],
                         "%s: text output says snapshot B is affected" % msg)

    # ------------------------------------------------------------ clean repository
    def test_clean_repository_passes(self):
        c = self.two_snapshots()
        n_packs = len(pack_files(self.lb.repo))
        j = check_json(self)
        self.assertEqual(j["errors"], [])
        self.assertEqual(j["snapshots"], 2)
        self.assertEqual(j["packs"], n_packs)
        j = check_json(self, "--read-data")
        self.assertEqual(j["errors"], [])
        self.assertEqual(j["packs_read"], n_packs, "--read-data must read every pack")
        self.assertGreaterEqual(j["blobs_read"], len(c.want_a) + len(c.want_b))
        check_text(self)
        check_text(self, "--read-data")

    # ------------------------------------------------------------ pack damage
    def test_flipped_bit_in_pack(self):
        c = self.two_snapshots()
        pid, path = self.biggest_pack(c.packs_a)
        flip_bit(path, os.path.getsize(path) // 3, 5)   # inside the sealed blobs
        # plain check may or may not notice; --read-data must
        j = check_json(self, "--read-data", expect=EXIT_FATAL)
        _, terr = check_text(self, "--read-data", expect=EXIT_FATAL)
        self.assert_pack_reported(c, j, terr, pid, "flipped bit")
        self.assert_b_intact(c, "flipped bit in a pack of A")
        p = self.lb.restore(c.snap_a, self.path("restore-a"), expect=None)
        self.assertNotEqual(p.returncode, EXIT_OK, "restore of a snapshot with a corrupted blob reported success")

    def test_truncated_pack(self):
        c = self.two_snapshots()
        pid, path = self.biggest_pack(c.packs_a)
        truncate_half(path)
        j = check_json(self, expect=EXIT_FATAL)
        _, terr = check_text(self, expect=EXIT_FATAL)
        self.assert_pack_reported(c, j, terr, pid, "truncated pack (plain check)")
        self.assert_b_intact(c, "truncated pack of A")
        # rebuilding the index from the packs reports the truncated pack as damaged
        r = self.lb.run_json(["repair", "index"])
        self.assertEqual(r.get("message_type"), "repair-index", r)
        self.assertTrue([d for d in r.get("damaged_packs", []) if len(d) >= 8 and pid.startswith(d)],
                        "repair index did not list the truncated pack %s: %r" % (pid[:12], r))
        j = check_json(self, expect=EXIT_FATAL)      # A's data in that pack is still lost
        self.assert_only_a_affected(c, j, "after repair index of a truncated pack")
        self.assert_b_intact(c, "after repair index")

    def test_deleted_pack(self):
        c = self.two_snapshots()
        pid, path = self.biggest_pack(c.packs_a)
        os.remove(path)
        j = check_json(self, expect=EXIT_FATAL)
        _, terr = check_text(self, expect=EXIT_FATAL)
        self.assert_pack_reported(c, j, terr, pid, "deleted pack (plain check)")
        self.assert_b_intact(c, "deleted pack of A")

    # ------------------------------------------------------------ index damage
    def test_deleted_index_then_repair(self):
        c = self.two_snapshots()
        for name in c.index_a:
            os.remove(os.path.join(self.lb.repo, "index", name))
        j = check_json(self, expect=EXIT_FATAL)
        self.assertTrue(j["errors"], "blobs missing from the index must be errors")
        self.assert_only_a_affected(c, j, "deleted index")
        self.assertTrue(j["warnings"], "packs that are in no index must be reported as warnings")
        _, terr = check_text(self, expect=EXIT_FATAL)
        self.assertTrue(terr, "text check printed no 'error: ' line")
        self.assert_b_intact(c, "index of A deleted")

        r = self.lb.run_json(["repair", "index"])
        self.assertEqual(r.get("message_type"), "repair-index", r)
        self.assertEqual(r.get("packs"), len(pack_files(self.lb.repo)), r)
        self.assertGreaterEqual(r.get("blobs", 0), len(c.want_a) + len(c.want_b), r)
        self.assertEqual(r.get("damaged_packs"), [], r)
        j = check_json(self)
        self.assertEqual(j["errors"], [])
        check_json(self, "--read-data")
        assert_restores(self, c.snap_a, c.src_a, c.want_a, msg="A after repair index")
        self.assert_b_intact(c, "after repair index")

    def test_corrupted_index_then_repair(self):
        c = self.two_snapshots()
        name = sorted(c.index_a)[0]
        path = os.path.join(self.lb.repo, "index", name)
        flip_bit(path, os.path.getsize(path) // 2, 1)
        j = check_json(self, expect=EXIT_FATAL)
        self.assertTrue(json_errors_for(j, name, "index"),
                        "no error of kind 'index' names %s: %r" % (name[:12], j["errors"][:5]))
        _, terr = check_text(self, expect=EXIT_FATAL)
        self.assertTrue([e for e in terr if name[:8] in e[0]], "no 'error: ' line names index %s: %r"
                        % (name[:8], terr[:5]))
        self.assert_b_intact(c, "corrupted index of A")

        self.lb.run(["repair", "index"])
        check_json(self)
        check_json(self, "--read-data")
        assert_restores(self, c.snap_a, c.src_a, c.want_a, msg="A after repair index")
        self.assert_b_intact(c, "after repair index")

    # ------------------------------------------------------------ snapshot damage
    def test_tampered_snapshot(self):
        c = self.two_snapshots()
        path = os.path.join(self.lb.repo, "snapshots", c.snap_a)
        flip_bit(path, os.path.getsize(path) // 2, 2)
        j = check_json(self, expect=EXIT_FATAL)
        self.assertTrue(json_errors_for(j, c.snap_a, "snapshot"),
                        "no error of kind 'snapshot' names %s: %r" % (c.snap_a[:12], j["errors"][:5]))
        _, terr = check_text(self, expect=EXIT_FATAL)
        self.assertTrue([e for e in terr if c.snap_a[:8] in e[0]], "no 'error: ' line names snapshot %s: %r"
                        % (c.snap_a[:8], terr[:5]))
        self.assert_b_intact(c, "tampered snapshot A")

    # ------------------------------------------------------------ repair snapshots
    def dropped_files(self, c, output: str) -> set:
        """Files of A named (directly or through a directory) in output."""
        tokens = set(re.findall(re.escape(c.src_a) + r"/[^\s'\",:]+", output))
        return {p for p in c.paths_a if any(p == t or p.startswith(t.rstrip("/") + "/") for t in tokens)}

    def test_repair_snapshots_after_deleted_pack(self):
        c = self.two_snapshots()
        pid, path = self.biggest_data_pack(c.packs_a)
        os.remove(path)
        check_json(self, expect=EXIT_FATAL)

        before = lbtest.listing(os.path.join(self.lb.repo, "snapshots"), contents=True)
        p = self.lb.run(["repair", "snapshots", "--dry-run"])
        dry = self.dropped_files(c, p.stdout + p.stderr)
        self.assertTrue(dry, "repair snapshots --dry-run names no dropped file:\n" + p.stdout + p.stderr)
        self.assertListingEqual(before, lbtest.listing(os.path.join(self.lb.repo, "snapshots"), contents=True),
                                "repair snapshots --dry-run changed snapshots/")

        p = self.lb.run(["repair", "snapshots", "--forget"])
        dropped = self.dropped_files(c, p.stdout + p.stderr)
        self.assertEqual(dropped, dry, "--dry-run and the real run name different files")
        self.assertTrue(0 < len(dropped) < len(c.paths_a), "dropped %d of %d files" % (len(dropped), len(c.paths_a)))

        j = check_json(self)                     # structure check passes again
        self.assertEqual(j["errors"], [])
        snaps = self.lb.snapshots()
        ids = [s["id"] for s in snaps]
        self.assertNotIn(c.snap_a, ids, "--forget must remove the damaged original")
        self.assertIn(c.snap_b, ids)
        fixed = [s for s in snaps if s["id"] != c.snap_b]
        self.assertEqual(len(fixed), 1, snaps)
        self.assertEqual(fixed[0]["paths"], [c.src_a])
        want = {r: h for r, h in c.want_a.items() if os.path.join(c.src_a, r) not in dropped}
        assert_restores(self, fixed[0]["id"], c.src_a, want, msg="repaired snapshot A")
        self.assert_b_intact(c, "after repair snapshots")
        check_json(self, "--read-data")

    def test_backup_after_deleted_pack_reuploads(self):
        c = self.two_snapshots()
        pid, path = self.biggest_pack(c.packs_a)
        os.remove(path)
        s = self.lb.backup(c.src_a)      # source unchanged
        self.assertGreater(s["bytes_added"], 0, "backup did not re-upload the content of the missing pack")
        new = s["snapshot_id"]
        assert_restores(self, new, c.src_a, c.want_a, msg="snapshot taken after the pack was deleted")
        # the index still names the lost pack: an error, but not one of the new snapshot's
        j = check_json(self, "--read-data", expect=EXIT_FATAL)
        bad = {a[0] for a in all_affects(j)}
        self.assertNotIn(new, bad, "the new snapshot is reported as affected by the lost pack")
        self.assertNotIn(c.snap_b, bad)
        self.lb.run(["repair", "index"])
        self.lb.run(["repair", "snapshots", "--forget"])
        check_json(self, "--read-data")
        self.assertIn(new, [s["id"] for s in self.lb.snapshots()], "repair snapshots removed the healthy snapshot")
        assert_restores(self, new, c.src_a, c.want_a, msg="new snapshot after repair snapshots")

    # ------------------------------------------------------------ --read-data-subset
    def test_read_data_subsets_cover_every_pack_once(self):
        c = self.two_snapshots(size=12 * MiB)
        n = len(pack_files(self.lb.repo))
        self.assertGreaterEqual(n, 10)
        total = 0
        for k in (1, 2, 3):
            j = check_json(self, "--read-data-subset", "%d/3" % k)
            self.assertEqual(j["packs"], n)
            total += j["packs_read"]
        self.assertEqual(total, n, "slices 1/3..3/3 must read every pack exactly once in total")
        j = check_json(self, "--read-data-subset", "10%")
        self.assertTrue(0 < j["packs_read"] < n, "10%% of %d packs read %d" % (n, j["packs_read"]))
        for bad in ("0/3", "4/3", "1/0", "abc"):
            self.lb.run(["check", "--read-data-subset", bad], expect=EXIT_USAGE)

        # a damaged pack is found by exactly one slice
        pid, path = self.biggest_pack(c.packs_a)
        flip_bit(path, os.path.getsize(path) // 2, 7)
        found = []
        for k in (1, 2, 3):
            j = check_json(self, "--read-data-subset", "%d/3" % k, expect=None)
            if not j["ok"]:
                self.assertTrue(json_errors_for(j, pid, "pack"), "slice %d/3 failed without naming the pack: %r"
                                % (k, j["errors"][:5]))
                found.append(k)
        self.assertEqual(len(found), 1, "the damaged pack was reported by slices %r, expected exactly one" % found)

    # ------------------------------------------------------------ forget / prune
    def four_versions(self, n=4):
        """n snapshots of src: a shared 2 MiB file plus a unique 3 MiB file each."""
        self.lb.init("--pack-size", "1")
        src = self.path("src")
        rng = random.Random(7)
        lbtest.write_file(os.path.join(src, "common.bin"), rng.randbytes(2 * MiB))
        versions = []
        for i in range(n):
            for old in os.listdir(src):
                if old.startswith("v"):
                    os.remove(os.path.join(src, old))
            lbtest.write_file(os.path.join(src, "v%d.bin" % i), rng.randbytes(3 * MiB))
            want = hash_tree(src)
            versions.append((self.lb.backup(src)["snapshot_id"], want))
        return src, versions

    def test_forget_keep_last_and_prune(self):
        src, versions = self.four_versions()
        ids = [v[0] for v in versions]
        self.assertEqual([s["id"] for s in self.lb.snapshots()], ids)
        self.lb.run(["forget"], expect=EXIT_USAGE)             # no rule
        self.lb.run(["forget", "--prune"], expect=EXIT_USAGE)

        before = self.repo_listing()
        j = self.lb.run_json(["forget", "--keep-last", "2", "--dry-run"])
        self.assertEqual(j.get("message_type"), "forget", j)
        self.assertIs(j.get("dry_run"), True)
        self.assertEqual(len(j["groups"]), 1, j)
        g = j["groups"][0]
        self.assertIsInstance(g.get("key"), str)
        self.assertEqual(sorted(k["id"] for k in g["keep"]), sorted(ids[2:]))
        self.assertEqual(sorted(r["id"] for r in g["remove"]), sorted(ids[:2]))
        for k in g["keep"]:
            self.assertIsInstance(k.get("time"), str)
            self.assertTrue(k.get("reasons") and all(isinstance(r, str) for r in k["reasons"]), k)
        self.assertEqual([s["id"] for s in self.lb.snapshots()], ids, "forget --dry-run removed snapshots")
        self.assertListingEqual(before, self.repo_listing(), "forget --dry-run changed the repository")

        size_before = data_bytes(self.lb.repo)
        self.lb.run(["forget", "--keep-last", "2", "--prune"])
        self.assertEqual([s["id"] for s in self.lb.snapshots()], ids[2:])
        size_after = data_bytes(self.lb.repo)
        self.assertLessEqual(size_after, size_before - 5 * MiB,
                             "forget --prune freed too little: %d -> %d bytes" % (size_before, size_after))
        j = check_json(self, "--read-data")
        self.assertEqual(j["snapshots"], 2)
        for sid, want in versions[2:]:
            assert_restores(self, sid, src, want, msg="kept snapshot")

    def test_prune_dry_run_and_json(self):
        src, versions = self.four_versions(3)
        j = self.lb.run_json(["forget", "--keep-last", "1"])
        self.assertIs(j.get("dry_run"), False)
        self.assertEqual(sum(len(g["remove"]) for g in j["groups"]), 2, j)
        self.assertEqual([s["id"] for s in self.lb.snapshots()], [versions[-1][0]])

        before = self.repo_listing()
        d = self.lb.run_json(["prune", "--dry-run"])
        self.assertEqual(d.get("message_type"), "prune", d)
        self.assertIs(d.get("dry_run"), True)
        self.assertGreater(d["packs_deleted"] + d["packs_repacked"], 0, d)
        self.assertListingEqual(before, self.repo_listing(), "prune --dry-run changed the repository")

        size_before = data_bytes(self.lb.repo)
        r = self.lb.run_json(["prune"])
        self.assertIs(r.get("dry_run"), False)
        for k in ("packs_deleted", "packs_repacked", "bytes_freed", "index_files_written"):
            self.assertIsInstance(r.get(k), int, k)
        self.assertGreater(r["packs_deleted"], 0, r)
        self.assertGreater(r["bytes_freed"], 4 * MiB, r)
        self.assertGreaterEqual(r["index_files_written"], 1, r)
        self.assertLess(data_bytes(self.lb.repo), size_before - 4 * MiB)
        again = self.lb.run_json(["prune"])
        self.assertEqual((again["packs_deleted"], again["packs_repacked"]), (0, 0),
                         "a second prune still found work: %r" % again)
        check_json(self, "--read-data")
        assert_restores(self, versions[-1][0], src, versions[-1][1], msg="kept snapshot after prune")


if __name__ == "__main__":
    lbtest.main()
