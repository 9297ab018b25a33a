"""The audit log end to end: every changing command appends a signed, chained
entry; `audit verify` passes on an untouched log and names an edited entry, a
removed entry in the middle, and removed newest entries (through this machine's
anchor). Forged and reordered entries need key material to make; the unit tests
(src/audit/audit_test.cc) cover them with real signatures."""

import os

import lbtest


class AuditTest(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        lbtest.write_file(os.path.join(self.src, "a"), b"alpha\n")
        self.lb.init()
        self.lb.backup(self.src)
        lbtest.write_file(self.path("pw2"), "second password\n")
        self.lb.run(["key", "add", "--new-password-file", self.path("pw2"), *lbtest.KDF_ARGS])
        lbtest.write_file(os.path.join(self.src, "b"), b"beta\n")
        self.lb.backup(self.src)
        self.lb.run(["forget", "--keep-last", "1"])
        self.audit_dir = os.path.join(self.lb.repo, "audit")

    def log(self):
        return self.lb.run_json(["audit", "log"])["entries"]

    def verify(self, expect=lbtest.EXIT_OK):
        return self.lb.run_json(["audit", "verify"], expect=expect)

    def test_entries_record_who_what_and_verify(self):
        entries = self.log()
        self.assertEqual([e["command"] for e in entries], ["init", "backup", "key add", "backup", "forget"])
        self.assertEqual([e["seq"] for e in entries], [0, 1, 2, 3, 4])
        for prev, e in zip(entries, entries[1:]):
            self.assertEqual(e["prev"], [prev["id"]], "each entry names the one before")
        snaps = [s["id"] for s in self.lb.snapshots()]
        self.assertIn("snapshot:" + snaps[0], entries[3]["added"])
        self.assertTrue(any(a.startswith("pack:") for a in entries[1]["added"]))
        self.assertTrue(entries[4]["removed"][0].startswith("snapshot:"))
        keys = {k["id"] for k in self.lb.run_json(["key", "list"])}
        self.assertIn(entries[2]["added"][0][4:], keys)
        self.assertTrue(all(e["key"] == entries[0]["key"] and len(e["signer"]) == 64 for e in entries))
        # the second key signs as itself
        self.lb.run(["forget", "--keep-last", "1"], env={"LIFEBOAT_PASSWORD": "second password"})
        self.lb.backup(self.src, env={"LIFEBOAT_PASSWORD": "second password"})
        last = self.log()[-1]
        self.assertNotEqual(last["key"], entries[0]["key"])
        self.assertNotEqual(last["signer"], entries[0]["signer"])
        v = self.verify()
        self.assertTrue(v["ok"], v)
        self.assertEqual(v["entries"], 6)
        self.assertEqual(len(v["heads"]), 1)

    def test_prune_and_repair_are_recorded(self):
        j = self.lb.run_json(["prune", "--max-unused", "0%"])
        self.lb.run(["repair", "index"])
        entries = self.log()
        self.assertEqual([e["command"] for e in entries[-2:]], ["prune", "repair index"])
        prune = entries[-2]
        removed = [r for r in prune["removed"] if r.startswith("pack:")]
        self.assertEqual(len(removed), j["packs_deleted"] + j["packs_unindexed"] + j["packs_repacked"])
        self.assertGreater(len(removed), 0, "the forgotten snapshot's tree leaves a pack to repack")
        self.assertTrue(any(a.startswith("pack:") for a in prune["added"]), "repacked blobs land in new packs")
        self.assertTrue(self.verify()["ok"])
        # a prune with nothing to do changes nothing and records nothing
        self.lb.run(["prune"])
        self.assertEqual(len(self.log()), len(entries))

    def test_edited_entry(self):
        entries = self.log()
        victim = os.path.join(self.audit_dir, entries[2]["id"])
        data = bytearray(lbtest.read_file(victim))
        data[len(data) // 2] ^= 0x01
        lbtest.write_file(victim, bytes(data))
        v = self.verify(expect=lbtest.EXIT_FATAL)
        self.assertEqual([(f["kind"], f["entry"]) for f in v["findings"]], [("edited", entries[2]["id"])])
        p = self.lb.run(["audit", "verify"], expect=lbtest.EXIT_FATAL)
        self.assertIn("edited: entry " + entries[2]["id"][:8], p.stdout)

    def test_removed_entries(self):
        entries = self.log()
        os.remove(os.path.join(self.audit_dir, entries[1]["id"]))
        v = self.verify(expect=lbtest.EXIT_FATAL)
        self.assertEqual([(f["kind"], f["entry"]) for f in v["findings"]], [("removed", entries[1]["id"])])
        self.assertIn("key add", v["findings"][0]["message"])
        # the newest entries: nothing names them, the anchor this machine kept does
        os.remove(os.path.join(self.audit_dir, entries[4]["id"]))
        os.remove(os.path.join(self.audit_dir, entries[3]["id"]))
        v = self.verify(expect=lbtest.EXIT_FATAL)
        kinds = sorted((f["kind"], f["entry"]) for f in v["findings"])
        self.assertIn(("removed", entries[4]["id"]), kinds)
        self.assertIn("newest entry this machine wrote", " ".join(f["message"] for f in v["findings"]))


if __name__ == "__main__":
    lbtest.main()
