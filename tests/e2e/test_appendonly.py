"""Append-only keys: a key made with `key add --append-only` backs up (twice,
the second run deduplicating and skipping unchanged files) but cannot read,
restore, forget, prune or change keys: each such command says so in one line,
exits 13 and writes nothing. A full key restores what it wrote."""

import os

import lbtest

EXIT_APPEND_ONLY = 13


class AppendOnlyTest(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        lbtest.write_file(os.path.join(self.src, "a.txt"), b"alpha\n")
        lbtest.write_file(os.path.join(self.src, "big.bin"), os.urandom(2 << 20))
        self.lb.init()
        self.full_snap = self.lb.backup(self.src)["snapshot_id"]
        lbtest.write_file(self.path("ao.pw"), "append only secret\n")
        self.lb.run(["key", "add", "--append-only", "--new-password-file", self.path("ao.pw"), *lbtest.KDF_ARGS])
        self.ao = {"LIFEBOAT_PASSWORD": "append only secret"}

    def repo_state(self):
        """Everything but locks and the audit log (which the refused commands must not touch either)."""
        out = {}
        for sub in ("config", "keys", "data", "index", "snapshots", "audit"):
            out.update({sub + "/" + k: v for k, v in lbtest.listing(os.path.join(self.lb.repo, sub)).items()})
        return out

    def test_backs_up_twice_incrementally(self):
        first = self.lb.backup(self.src, env=self.ao)
        self.assertGreater(first["files_new"] + first["files_changed"] + first["files_unmodified"], 0)
        self.assertEqual(first["bytes_added"], 0, "content already stored by the full key is deduplicated")
        lbtest.write_file(os.path.join(self.src, "new.txt"), b"written later\n")
        second = self.lb.backup(self.src, env=self.ao)
        self.assertEqual(second["files_unmodified"], 2, second)
        self.assertEqual(second["files_new"], 1, second)
        self.assertEqual(second["bytes_read"], len(b"written later\n"), "unchanged files are not read again")
        # it lists only what it wrote itself
        own = self.lb.run_json(["snapshots"], env=self.ao)
        self.assertEqual({s["id"] for s in own}, {first["snapshot_id"], second["snapshot_id"]})
        # a full key reads everything it wrote
        target = self.path("restored")
        self.lb.run(["restore", second["snapshot_id"], "--target", target, "--verify"])
        self.assertEqual(lbtest.listing(lbtest.restored_path(target, self.src), contents=True),
                         lbtest.listing(self.src, contents=True))
        self.lb.run(["check", "--read-data"])
        self.assertEqual(self.lb.run_json(["audit", "verify"])["ok"], True)
        self.assertIn("key add --append-only", [e["command"] for e in self.lb.run_json(["audit", "log"])["entries"]])

    def test_refuses_everything_else_cleanly(self):
        self.lb.backup(self.src, env=self.ao)
        before = self.repo_state()
        lbtest.write_file(self.path("new.pw"), "another\n")
        for args in (["restore", "latest", "--target", self.path("r")],
                     ["restore", self.full_snap, "--target", self.path("r")],
                     ["ls", "latest"],
                     ["diff", self.full_snap, "latest"],
                     ["check"],
                     ["forget", "--keep-last", "1"],
                     ["prune"],
                     ["repair", "index"],
                     ["key", "add", "--new-password-file", self.path("new.pw"), *lbtest.KDF_ARGS],
                     ["key", "passwd", "--new-password-file", self.path("new.pw"), *lbtest.KDF_ARGS],
                     ["key", "remove", "0000"],
                     ["unlock"]):
            p = self.lb.run(args, env=self.ao, expect=EXIT_APPEND_ONLY)
            self.assertOneLineError(p)
            self.assertIn("append-only", p.stderr, args)
        self.assertEqual(before, self.repo_state(), "refused commands wrote nothing")
        self.assertFalse(os.path.exists(self.path("r")))
        self.assertEqual(os.listdir(os.path.join(self.lb.repo, "locks")), [], "no lock left behind")


if __name__ == "__main__":
    lbtest.main()
