"""The repository format is a promise: the frozen v1 sample repository in
tests/fixtures/repo-v1 (made once by tests/fixtures/make_repo_v1.py) must stay
readable, and every snapshot must restore exactly as recorded in
tests/fixtures/manifest-v1.json."""

import hashlib
import json
import os
import shutil

import lbtest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


class CompatV1(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        with open(os.path.join(FIXTURES, "manifest-v1.json")) as f:
            self.manifest = json.load(f)
        # Work on a copy: commands take locks, and the fixture must stay frozen.
        shutil.copytree(os.path.join(FIXTURES, "repo-v1"), self.lb.repo)
        self.lb.env["LIFEBOAT_PASSWORD"] = self.manifest["password"]

    def test_lists_the_frozen_snapshots(self):
        snaps = self.lb.snapshots()
        self.assertEqual([s["id"] for s in snaps], [s["id"] for s in self.manifest["snapshots"]])
        self.assertEqual([s["tags"] for s in snaps], [s["tags"] for s in self.manifest["snapshots"]])

    def test_every_snapshot_restores_as_recorded(self):
        for snap in self.manifest["snapshots"]:
            target = self.path("restore-" + snap["id"][:8])
            self.lb.restore(snap["id"], target, "--verify")
            root = lbtest.restored_path(target, self.manifest["source"])
            for rel, want in snap["files"].items():
                p = os.path.join(root, rel)
                st = os.lstat(p)
                self.assertEqual(st.st_mode & 0o7777, want["mode"], rel)
                self.assertEqual(st.st_mtime_ns, want["mtime_ns"], rel)
                if want["type"] == "symlink":
                    self.assertEqual(os.readlink(p), want["target"], rel)
                elif want["type"] == "file":
                    with open(p, "rb") as f:
                        self.assertEqual(hashlib.sha256(f.read()).hexdigest(), want["sha256"], rel)
                    for name, value in want.get("xattrs", {}).items():
                        self.assertEqual(os.getxattr(p, name).hex(), value, rel)
            restored = set()
            for dirpath, dirnames, filenames in os.walk(root):
                for n in dirnames + filenames:
                    restored.add(os.path.relpath(os.path.join(dirpath, n), root))
            self.assertEqual(restored, set(snap["files"]), "restored entries differ")

    def test_wrong_password_on_frozen_repo(self):
        p = self.lb.run(["snapshots"], env={"LIFEBOAT_PASSWORD": "nope"},
                        expect=lbtest.EXIT_WRONG_PASSWORD)
        self.assertOneLineError(p)

    def test_new_backup_into_old_repository(self):
        src = self.path("src")
        lbtest.write_file(os.path.join(src, "f"), b"new data\n")
        self.lb.backup(src)
        self.assertEqual(len(self.lb.snapshots()), len(self.manifest["snapshots"]) + 1)


if __name__ == "__main__":
    lbtest.main()
