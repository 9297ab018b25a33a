#!/usr/bin/env python3
"""The CLI against a real S3 gateway (Ceph RGW from scripts/ceph-test-cluster).

Each test uses its own bucket, which `init` must create.  The cluster's env file
(DIR/env) comes from LIFEBOAT_S3_ENV_FILE; ctest starts the cluster as a fixture.
Without it every test fails (nothing is skipped).

Run: scripts/ceph-test-cluster start /tmp/ceph
     LIFEBOAT_S3_ENV_FILE=/tmp/ceph/env python3 tests/e2e/test_s3.py --lifeboat PATH
"""

import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
import treetools as tt  # noqa: E402
from integrity_util import MiB, check_json, make_random_tree  # noqa: E402
from lbtest import EXIT_FATAL, EXIT_NO_REPO, EXIT_OK, EXIT_USAGE, EXIT_WRONG_PASSWORD, restored_path  # noqa: E402


def server_env() -> dict:
    path = os.environ.get("LIFEBOAT_S3_ENV_FILE")
    if not path or not os.path.isfile(path):
        raise AssertionError("LIFEBOAT_S3_ENV_FILE must name the env file written by "
                             "'scripts/ceph-test-cluster start DIR' (got %r)" % path)
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("export"):
                k, v = line.split("=", 1)
                env[k] = v
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "LIFEBOAT_S3_ENDPOINT"):
        if not env.get(k):
            raise AssertionError("%s missing from %s" % (k, path))
    return env


def unused_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class S3Test(lbtest.LBTestCase):

    def setUp(self):
        super().setUp()
        self.server = server_env()
        self.bucket = "lb-e2e-%d-%06d" % (os.getpid() % 100000, random.randrange(10**6))
        self.url = "s3:%s/%s/repo" % (self.server["LIFEBOAT_S3_ENDPOINT"], self.bucket)
        self.lb.repo = self.url
        self.lb.env.update({k: self.server[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
        self.lb.env["LIFEBOAT_REPO"] = self.url
        # This machine may set AWS_CA_BUNDLE; a plain http endpoint must ignore it.
        self.lb.env["AWS_CA_BUNDLE"] = "/nonexistent/ca-bundle.pem"

    def test_backup_restore_check_forget_prune(self):
        src = self.path("src")
        tt.make_fidelity_tree(src)
        make_random_tree(os.path.join(src, "random"), 12 * MiB, seed=5)
        orig = tt.snapshot_tree(src)

        self.lb.init("--pack-size", "4")  # creates the bucket
        self.lb.init(expect=EXIT_FATAL)   # a second init refuses: the repository exists
        first = self.lb.backup(src)
        self.assertEqual(first["partial_files"], [])

        target = self.path("restore1")
        self.lb.restore("latest", target)
        self.assertTreeEqual(orig, restored_path(target, src), "restore from S3 differs from the source")

        j = check_json(self, "--read-data")
        self.assertEqual(j["errors"], [])
        self.assertGreater(j["packs_read"], 0)

        # A second snapshot with changes, then forget the first and prune.
        os.remove(os.path.join(src, "random", "d0", "f0000.bin"))
        make_random_tree(os.path.join(src, "random2"), 3 * MiB, seed=6)
        orig2 = tt.snapshot_tree(src)
        second = self.lb.backup(src)
        self.assertEqual([s["id"] for s in self.lb.snapshots()], [first["snapshot_id"], second["snapshot_id"]])
        self.lb.run(["forget", "--keep-last", "1", "--prune"])
        self.assertEqual([s["id"] for s in self.lb.snapshots()], [second["snapshot_id"]])
        j = check_json(self, "--read-data")
        self.assertEqual(j["errors"], [])
        self.assertEqual(j["snapshots"], 1)
        target2 = self.path("restore2")
        self.lb.restore("latest", target2)
        self.assertTreeEqual(orig2, restored_path(target2, src), "restore after prune differs")

    def test_wrong_password(self):
        self.lb.init()
        p = self.lb.run(["snapshots"], env={"LIFEBOAT_PASSWORD": "not the password"}, expect=EXIT_WRONG_PASSWORD)
        self.assertOneLineError(p)

    def test_repository_missing(self):
        p = self.lb.run(["snapshots"], expect=EXIT_NO_REPO)
        self.assertOneLineError(p)

    def test_unreachable_endpoint(self):
        url = "s3:http://127.0.0.1:%d/%s/repo" % (unused_port(), self.bucket)
        for args in (["snapshots"], ["init"], ["backup", self.tmp]):
            started = time.monotonic()
            p = self.lb.run(["-r", url] + args, expect=EXIT_FATAL)
            self.assertOneLineError(p)
            self.assertIn("127.0.0.1", p.stderr)
            self.assertRegex(p.stderr, "(?i)connect", "the error must say the connection failed")
            self.assertLess(time.monotonic() - started, 30, "retries must give up in seconds")

    def test_wrong_secret(self):
        self.lb.init()
        started = time.monotonic()
        p = self.lb.run(["snapshots"], env={"AWS_SECRET_ACCESS_KEY": "wrong"}, expect=EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertIn("SignatureDoesNotMatch", p.stderr)
        self.assertLess(time.monotonic() - started, 5, "a refused signature must not be retried")

    def test_bad_locations_and_options(self):
        for url in ("s3:ftp://h/bucket", "s3:http://127.0.0.1:7480", "s3:http://h:99999/bucket"):
            p = self.lb.run(["-r", url, "snapshots"], expect=EXIT_USAGE)
            self.assertOneLineError(p)
            self.assertIn("s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]", p.stderr)
        p = self.lb.run(["-o", "s3.no-such-option=1", "snapshots"], expect=EXIT_USAGE)
        self.assertOneLineError(p)
        self.assertIn("s3.no-such-option", p.stderr)
        p = self.lb.run(["snapshots"], env={"AWS_ACCESS_KEY_ID": None}, expect=EXIT_USAGE)
        self.assertIn("AWS_ACCESS_KEY_ID", p.stderr)

    def test_virtual_host_style_and_tls(self):
        # The gateway answers BUCKET.localhost:PORT; curl resolves *.localhost locally.
        ep = self.server["LIFEBOAT_S3_ENDPOINT"].replace("127.0.0.1", "localhost")
        self.lb.run(["-r", "s3:%s/%s/repo" % (ep, self.bucket), "-o", "s3.bucket-lookup=virtual",
                     "init"] + lbtest.KDF_ARGS)
        src = self.path("src")
        want = make_random_tree(src, 2 * MiB, seed=9)
        self.lb.backup(src)  # path style, same repository
        tls = "s3:%s/%s/repo" % (self.server["LIFEBOAT_S3_TLS_ENDPOINT"], self.bucket)
        p = self.lb.run(["-r", tls, "snapshots"], expect=EXIT_FATAL)  # self-signed: refused
        self.assertOneLineError(p)
        self.assertIn("TLS", p.stderr)
        target = self.path("restore")
        self.lb.run(["-r", tls, "-o", "s3.ca-file=" + self.server["LIFEBOAT_S3_CA_FILE"],
                     "restore", "latest", "--target", target])
        from integrity_util import hash_tree
        self.assertEqual(hash_tree(restored_path(target, src)), want)

    def test_copy_between_local_and_s3(self):
        """A second copy in another place: local -> S3 -> another local, each
        restoring identical, copies idempotent."""
        src = self.path("src")
        tt.make_fidelity_tree(src)
        make_random_tree(os.path.join(src, "random"), 6 * MiB, seed=11)
        orig = tt.snapshot_tree(src)
        local = self.path("local-repo")
        self.lb.run(["init"] + lbtest.KDF_ARGS, env={"LIFEBOAT_REPO": local})
        self.lb.run(["backup", src, "-q"], env={"LIFEBOAT_REPO": local})
        self.lb.env["LIFEBOAT_FROM_PASSWORD"] = self.lb.password
        self.lb.init()

        def copy(src_repo, dst_repo):
            lines = self.lb.run_jsonl(["copy", "--from-repo", src_repo], env={"LIFEBOAT_REPO": dst_repo})
            return lines[-1]

        first = copy(local, self.url)
        self.assertEqual(first["snapshots_copied"], 1)
        self.assertGreater(first["blobs_copied"], 3)
        again = copy(local, self.url)
        self.assertEqual((again["snapshots_copied"], again["snapshots_skipped"], again["blobs_copied"]), (0, 1, 0))
        target = self.path("from-s3")
        self.lb.restore("latest", target, "--verify")
        self.assertTreeEqual(orig, restored_path(target, src), "restore of the S3 copy differs")
        self.assertEqual(check_json(self, "--read-data")["errors"], [])

        back = self.path("local-again")
        self.lb.run(["init"] + lbtest.KDF_ARGS, env={"LIFEBOAT_REPO": back})
        third = copy(self.url, back)
        self.assertEqual(third["snapshots_copied"], 1)
        target2 = self.path("from-local-again")
        self.lb.run(["restore", "latest", "--target", target2], env={"LIFEBOAT_REPO": back})
        self.assertTreeEqual(orig, restored_path(target2, src), "restore of the copy of the S3 copy differs")

    def test_object_lock(self):
        """init --object-lock-days: the gateway refuses deletion, forget and prune
        defer and say so, everything stays readable and the audit log records it."""
        p = self.lb.run(["init", "--object-lock-days", "1"] + lbtest.KDF_ARGS)
        self.assertIn("Object Lock", p.stdout)
        src = self.path("src")
        make_random_tree(src, 2 * MiB, seed=21)
        first = self.lb.backup(src)
        make_random_tree(src, 2 * MiB, seed=22)
        second = self.lb.backup(src)

        # forget: the older snapshot is retained by the gateway, kept and reported.
        p = self.lb.run(["forget", "--keep-last", "1"])
        self.assertIn("under Object Lock until", p.stderr)
        self.assertIn("1 kept under Object Lock", p.stdout)
        self.assertEqual({s["id"] for s in self.lb.snapshots()}, {first["snapshot_id"], second["snapshot_id"]})

        # prune: packs of a failed backup are unused; their removal is deferred.
        self.lb.run(["backup", "--stdin-from-command", "--", "sh", "-c", "head -c 2000000 /dev/urandom; exit 1"],
                    expect=EXIT_FATAL)
        j = self.lb.run_json(["prune"])
        self.assertGreater(j["packs_retained"], 0, j)
        self.assertGreaterEqual(j["files_retained"], j["packs_retained"])
        self.assertEqual(j["bytes_freed"], 0, "nothing retained may be counted as freed")
        p = self.lb.run(["prune"])
        self.assertIn("still under Object Lock", p.stderr)

        # Everything is still there and readable.
        self.assertEqual(check_json(self, "--read-data")["errors"], [])
        want = tt.snapshot_tree(src)
        target = self.path("restore")
        self.lb.restore("latest", target)
        self.assertTreeEqual(want, restored_path(target, src), "restore from a locked bucket differs")
        log = self.lb.run_json(["audit", "verify"])
        self.assertEqual(log["findings"], [], log)
        commands = [e["command"] for e in self.lb.run_json(["audit", "log"])["entries"]]
        self.assertIn("prune", commands)

        # Object Lock is an S3 feature, and a bucket gets it only when it is created.
        p = self.lb.run(["-r", self.path("local"), "init", "--object-lock-days", "1"], expect=EXIT_USAGE)
        self.assertOneLineError(p)
        plain = "s3:%s/%s-plain/repo" % (self.server["LIFEBOAT_S3_ENDPOINT"], self.bucket)
        self.lb.run(["-r", plain, "init"] + lbtest.KDF_ARGS)
        p = self.lb.run(["-r", plain + "2", "init", "--object-lock-days", "1"] + lbtest.KDF_ARGS,
                        expect=EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertIn("new bucket", p.stderr)


if __name__ == "__main__":
    lbtest.main()
