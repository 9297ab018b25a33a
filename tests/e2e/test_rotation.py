"""Key rotation: `key rotate` starts a new data key version (new packs are
sealed to it) while old data stays readable by every key and nothing is
re-uploaded; `key rotate --reencrypt` rewrites every pack and snapshot under
the new version, removes the old files, and retires the old versions so other
key files stop opening the repository. Password changes never touch data."""

import os
import struct

import lbtest


def pack_versions(repo):
    """{pack name: data key version} read from each pack's trailer."""
    out = {}
    for root, _, files in os.walk(os.path.join(repo, "data")):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                fh.seek(-(4 + 80 + 4 + 4), os.SEEK_END)
                out[f] = struct.unpack("<I", fh.read(4))[0]
    return out


def data_listing(repo):
    return {sub: lbtest.listing(os.path.join(repo, sub)) for sub in ("data", "index", "snapshots")}


class RotationTest(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        lbtest.write_file(os.path.join(self.src, "old.bin"), os.urandom(1 << 20))
        self.lb.init()
        self.first = self.lb.backup(self.src)["snapshot_id"]
        lbtest.write_file(self.path("pw2"), "second key\n")
        self.lb.run(["key", "add", "--new-password-file", self.path("pw2"), *lbtest.KDF_ARGS])
        self.second_key = {"LIFEBOAT_PASSWORD": "second key"}

    def test_rotate_keeps_old_data_and_seals_new_data_to_the_new_version(self):
        before = data_listing(self.lb.repo)
        packs_before = set(pack_versions(self.lb.repo))
        r = self.lb.run_json(["key", "rotate"])
        self.assertEqual((r["previous"], r["version"]), (1, 2))
        self.assertEqual(data_listing(self.lb.repo), before, "rotation re-uploads nothing")
        self.assertEqual(set(pack_versions(self.lb.repo).values()), {1})
        lbtest.write_file(os.path.join(self.src, "new.bin"), os.urandom(1 << 20))
        second = self.lb.backup(self.src, env=self.second_key)["snapshot_id"]
        new_packs = {p: v for p, v in pack_versions(self.lb.repo).items() if p not in packs_before}
        self.assertTrue(new_packs)
        self.assertEqual(set(new_packs.values()), {2}, "another key file writes under the new version too")
        for env in ({}, self.second_key):
            t = self.path("r-%d" % len(env))
            self.lb.run(["restore", second, "--target", t, "--verify"], env=env)
            self.assertEqual(lbtest.listing(lbtest.restored_path(t, self.src), contents=True),
                             lbtest.listing(self.src, contents=True))
        self.lb.run(["check", "--read-data"], env=self.second_key)
        # a password change touches no data either
        before = data_listing(self.lb.repo)
        lbtest.write_file(self.path("pw3"), "third\n")
        self.lb.run(["key", "passwd", "--new-password-file", self.path("pw3"), *lbtest.KDF_ARGS])
        self.assertEqual(data_listing(self.lb.repo), before)

    def test_reencrypt_rewrites_everything_and_retires_other_keys(self):
        self.lb.run(["key", "rotate"])
        lbtest.write_file(os.path.join(self.src, "new.bin"), os.urandom(1 << 20))
        self.lb.backup(self.src)
        old_packs = set(pack_versions(self.lb.repo))
        r = self.lb.run_json(["key", "rotate", "--reencrypt", *lbtest.KDF_ARGS])
        self.assertEqual(r["version"], 3)
        self.assertGreater(r["packs_rewritten"], 0)
        self.assertEqual(r["snapshots_rewritten"], 2)
        versions = pack_versions(self.lb.repo)
        self.assertEqual(set(versions.values()), {3}, "every pack is sealed to the new version")
        self.assertFalse(old_packs & set(versions), "old pack files are gone")
        self.assertEqual(len(r["retired_keys"]), 1)
        self.lb.run(["check", "--read-data"])
        snaps = self.lb.snapshots()
        self.assertEqual(len(snaps), 2)
        self.assertEqual(snaps[1]["parent"], snaps[0]["id"], "parent links follow the rewritten snapshots")
        t = self.path("restored")
        self.lb.run(["restore", "latest", "--target", t, "--verify"])
        self.assertEqual(lbtest.listing(lbtest.restored_path(t, self.src), contents=True),
                         lbtest.listing(self.src, contents=True))
        p = self.lb.run(["snapshots"], env=self.second_key, expect=lbtest.EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertIn("retired", p.stderr)
        self.assertTrue(self.lb.run_json(["audit", "verify"])["ok"])
        # rotating again later publishes version 4 for the keys that remain
        self.assertEqual(self.lb.run_json(["key", "rotate"])["version"], 4)
        self.lb.backup(self.src)
        self.lb.run(["check", "--read-data"])


    def test_policy_schedule_warns_and_the_daemon_rotates(self):
        import signal
        import subprocess
        import textwrap
        import time
        lbtest.write_file(self.path("pw"), self.lb.password + "\n")
        policy = self.path("p.toml")
        lbtest.write_file(policy, textwrap.dedent(f"""\
            [targets.hot]
            url = "{self.lb.repo}"
            password_file = "{self.path('pw')}"
            rotate_keys_every = "1s"
            [services.s]
            rpo = "1d"
            rto = "1d"
            schedule = "every 1d"
            sources = [{{ type = "path", path = "{self.src}" }}]
            targets = ["hot"]
            """))
        time.sleep(1.2)
        out = self.lb.run(["policy", "check", policy]).stdout
        self.assertIn("the policy asks for a new one every 1s", out)
        env = dict(self.lb.env, LIFEBOAT_HISTORY=self.path("h.db"))
        p = subprocess.Popen([self.lb.bin, "daemon", policy], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        try:
            keyring = os.path.join(self.lb.repo, "keyring")
            deadline = time.time() + 60
            while time.time() < deadline and not (os.path.isdir(keyring) and os.listdir(keyring)):
                time.sleep(0.2)
        finally:
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=60)
        self.assertIn("data key version 2 is current", err)
        self.assertEqual(len(os.listdir(keyring)), 1)
        self.assertIn("key rotate (policy)", [e["command"] for e in self.lb.run_json(["audit", "log"])["entries"]])


if __name__ == "__main__":
    lbtest.main()
