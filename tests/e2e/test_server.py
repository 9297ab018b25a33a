"""The repository server: `lifeboat serve` over TLS with a certificate made here,
tokens made with `serve --add-token`, and clients on rest:https://... locations.
Admin backs up and restores; a read token restores and checks but cannot back
up, forget or prune; an append token backs up (twice, deduplicating) but the
server refuses its deletes and overwrites, also when asked directly over HTTP;
wrong and missing tokens get 401; a plain-http client fails cleanly; every
request leaves one JSON line in the access log."""

import hashlib
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import time

import lbtest

FIELDS = {"time", "token", "role", "remote", "method", "object", "bytes_in", "bytes_out", "status"}


class ServerTest(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.cert, self.key = self.path("cert.pem"), self.path("key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True)
        self.root = self.path("root")
        os.makedirs(self.root)
        self.tokens_file = self.path("tokens")
        self.tokens = {}
        for ident, role in (("admin", "admin"), ("restorer", "read"), ("backup-host", "append")):
            p = self.lb.run(["serve", "--tokens", self.tokens_file, "--add-token", ident, "--role", role])
            self.tokens[role] = p.stdout.strip()
            self.assertRegex(self.tokens[role], r"^[0-9a-f]{64}$")
        stored = lbtest.read_file(self.tokens_file).decode()
        for secret in self.tokens.values():
            self.assertNotIn(secret, stored, "the tokens file keeps hashes only")
            self.assertIn(hashlib.sha256(secret.encode()).hexdigest(), stored)
        self.port = self.start_server()
        self.base = "rest:https://127.0.0.1:%d/main" % self.port
        self.lb.env["LIFEBOAT_REPO"] = self.base
        self.src = self.path("src")
        lbtest.write_file(os.path.join(self.src, "a.txt"), b"alpha\n")
        lbtest.write_file(os.path.join(self.src, "big.bin"), os.urandom(3 << 20))

    def start_server(self) -> int:
        self.server = subprocess.Popen(
            [self.lb.bin, "serve", "--listen", "127.0.0.1:0", "--root", self.root, "--tls-cert", self.cert,
             "--tls-key", self.key, "--tokens", self.tokens_file],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.addCleanup(self.stop_server)
        line = self.server.stdout.readline().decode()
        m = re.search(r"https://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.fail("no listening line from serve: %r %r" % (line, self.server.stderr.read()))
        return int(m.group(1))

    def stop_server(self):
        if self.server.poll() is None:
            self.server.terminate()
            self.assertEqual(self.server.wait(timeout=60), 0, "serve exits 0 on SIGTERM")
        self.server.stdout.close()
        self.server.stderr.close()

    def as_role(self, role):
        return {"LIFEBOAT_REST_TOKEN": self.tokens[role]}

    def lbr(self, args, role, **kw):
        """lifeboat with the test CA and the token of `role`."""
        env = dict(kw.pop("env", {}) or {})
        env.update(self.as_role(role))
        return self.lb.run(["-o", "rest.ca-file=" + self.cert, *args], env=env, **kw)

    def backup(self, role, *extra):
        p = self.lbr(["--json", "backup", self.src, *extra], role)
        return lbtest.summary_of(lbtest.parse_json_lines(p.stdout))

    def raw(self, method, path, token=None, body=None):
        ctx = ssl.create_default_context(cafile=self.cert)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=60)
        headers = {"Authorization": "Bearer " + token} if token else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data

    def repo_state(self):
        out = {}
        for sub in ("config", "keys", "data", "index", "snapshots", "audit", "keyring"):
            out.update({sub + "/" + k: v for k, v in lbtest.listing(os.path.join(self.root, "main", sub)).items()})
        return out

    def assertRefused(self, p, role_text):
        """One error line (progress lines aside) naming the server's refusal."""
        errors = [l for l in p.stderr.splitlines() if l.startswith("lifeboat:")]
        self.assertEqual(len(errors), 1, p.stderr)
        self.assertIn("HTTP 403", errors[0])
        self.assertIn(role_text, errors[0])

    def restore_and_compare(self, role, snap="latest"):
        target = self.path("restored-" + role + "-" + str(time.monotonic_ns()))
        self.lbr(["restore", snap, "--target", target, "--verify"], role)
        self.assertEqual(lbtest.listing(lbtest.restored_path(target, self.src), contents=True),
                         lbtest.listing(self.src, contents=True))

    def test_admin_backs_up_and_restores_identically(self):
        self.lbr(["init", *lbtest.KDF_ARGS], "admin")
        self.assertTrue(os.path.isfile(os.path.join(self.root, "main", "config")))
        self.backup("admin")
        self.restore_and_compare("admin")
        self.lbr(["check", "--read-data"], "admin")

    def test_index_cache_of_a_remote_repository(self):
        """A rest: repository's index files are kept under XDG_CACHE_HOME, exactly those
        the repository has; --no-cache keeps none and still works."""
        self.lbr(["init", *lbtest.KDF_ARGS], "admin")
        self.backup("admin")
        repo_id = json.loads(lbtest.read_file(os.path.join(self.root, "main", "config")))["id"]
        cache = os.path.join(self.lb.env["XDG_CACHE_HOME"], "lifeboat", repo_id, "index")
        in_repo = lambda: set(os.listdir(os.path.join(self.root, "main", "index")))
        self.lbr(["snapshots"], "admin")
        self.assertEqual(set(os.listdir(cache)), in_repo())
        for name in os.listdir(cache):  # cached copies are the stored files
            self.assertEqual(lbtest.read_file(os.path.join(cache, name)),
                             lbtest.read_file(os.path.join(self.root, "main", "index", name)))
        shutil.rmtree(cache)
        self.lbr(["--no-cache", "backup", self.src], "admin")
        self.restore_and_compare("admin")  # fills the cache again
        self.assertEqual(set(os.listdir(cache)), in_repo())

    def test_read_token_restores_and_checks_but_changes_nothing(self):
        self.lbr(["init", *lbtest.KDF_ARGS], "admin")
        self.backup("admin")
        os.remove(os.path.join(self.src, "big.bin"))
        lbtest.write_file(os.path.join(self.src, "later.txt"), os.urandom(1 << 20))
        self.backup("admin")
        self.restore_and_compare("read")
        self.lbr(["check", "--read-data"], "read")
        before = self.repo_state()
        for args in (["backup", self.src], ["forget", "--keep-last", "1"]):
            self.assertRefused(self.lbr(args, "read", expect=lbtest.EXIT_FATAL), "role read")
        self.assertEqual(before, self.repo_state(), "refused commands changed nothing")
        # Give prune something to remove: the first snapshot's big.bin.
        self.lbr(["forget", "--keep-last", "1"], "admin")
        before = self.repo_state()
        self.assertRefused(self.lbr(["prune"], "read", expect=lbtest.EXIT_FATAL), "role read")
        self.assertEqual(before, self.repo_state(), "a refused prune changed nothing")
        self.assertEqual(os.listdir(os.path.join(self.root, "main", "locks")), [], "its locks are gone")

    def test_append_token_backs_up_but_cannot_delete_or_overwrite(self):
        self.lbr(["init", *lbtest.KDF_ARGS], "admin")
        first = self.backup("append")
        self.assertEqual(first["files_new"], 2, first)
        lbtest.write_file(os.path.join(self.src, "new.txt"), b"written later\n")
        second = self.backup("append")
        self.assertEqual(second["files_unmodified"], 2, second)
        self.assertEqual(second["files_new"], 1, second)
        self.assertLess(second["bytes_added"], 1 << 16, "unchanged content is deduplicated")
        self.restore_and_compare("read")

        self.assertRefused(self.lbr(["forget", "--keep-last", "1"], "append", expect=lbtest.EXIT_FATAL),
                           "role append")
        snaps = sorted(os.listdir(os.path.join(self.root, "main", "snapshots")))
        self.assertEqual(len(snaps), 2)
        snap = snaps[0]
        stored = lbtest.read_file(os.path.join(self.root, "main", "snapshots", snap))
        token = self.tokens["append"]
        self.assertEqual(self.raw("DELETE", "/main/snapshots/" + snap, token)[0], 403)
        self.assertEqual(self.raw("DELETE", "/main/config", token)[0], 403)
        self.assertEqual(self.raw("POST", "/main/snapshots/" + snap, token, stored)[0], 409)
        self.assertEqual(self.raw("POST", "/main/snapshots/" + snap, token, b"forged")[0], 400)
        self.assertEqual(self.raw("POST", "/main/config", token, b"{}")[0], 403)
        forged = b"not what the name says"
        status, body = self.raw("POST", "/main/snapshots/" + "0" * 64, token, forged)
        self.assertEqual(status, 400)
        self.assertIn(b"SHA-256", body)
        good = b"an honest file"
        self.assertEqual(self.raw("POST", "/main/snapshots/" + hashlib.sha256(good).hexdigest(), token, good)[0], 200)
        self.assertEqual(self.raw("POST", "/other/?create=true", token)[0], 403)
        self.assertFalse(os.path.exists(os.path.join(self.root, "other")))
        self.assertEqual(len(os.listdir(os.path.join(self.root, "main", "snapshots"))), 3, "only the honest file")
        self.assertEqual(lbtest.read_file(os.path.join(self.root, "main", "snapshots", snap)), stored)

    def test_wrong_and_missing_tokens(self):
        self.lbr(["init", *lbtest.KDF_ARGS], "admin")
        self.assertEqual(self.raw("GET", "/main/config")[0], 401)
        self.assertEqual(self.raw("GET", "/main/config", "f" * 64)[0], 401)
        self.assertEqual(self.raw("GET", "/main/keys/")[0], 401)
        self.assertEqual(self.raw("GET", "/main/config", self.tokens["read"])[0], 200)
        p = self.lb.run(["-o", "rest.ca-file=" + self.cert, "snapshots"], env={"LIFEBOAT_REST_TOKEN": "f" * 64},
                        expect=lbtest.EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertIn("HTTP 401", p.stderr)
        p = self.lb.run(["-o", "rest.ca-file=" + self.cert, "snapshots"], env={"LIFEBOAT_REST_TOKEN": None},
                        expect=lbtest.EXIT_USAGE)
        self.assertOneLineError(p)
        self.assertIn("LIFEBOAT_REST_TOKEN", p.stderr)

    def test_plain_http_and_unknown_ca_fail_cleanly(self):
        self.lbr(["init", *lbtest.KDF_ARGS], "admin")
        plain = self.base.replace("https://", "http://")
        p = self.lb.run(["snapshots"], env={"LIFEBOAT_REPO": plain, **self.as_role("read")},
                        expect=lbtest.EXIT_FATAL, timeout=120)
        self.assertOneLineError(p)
        p = self.lb.run(["snapshots"], env=self.as_role("read"), expect=lbtest.EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertIn("TLS", p.stderr, "a certificate no CA vouches for is refused")

    def test_access_log_has_one_json_line_per_request(self):
        log = os.path.join(self.root, "access.log")
        self.lbr(["init", *lbtest.KDF_ARGS], "admin")
        self.backup("append")
        lines = [json.loads(l) for l in lbtest.read_file(log).decode().splitlines()]
        self.assertGreater(len(lines), 5)
        for rec in lines:
            self.assertEqual(set(rec), FIELDS, rec)
            lbtest.parse_rfc3339_utc(rec["time"])
            self.assertEqual(rec["remote"], "127.0.0.1")
        self.assertEqual({r["token"] for r in lines}, {"admin", "backup-host"})
        uploads = [r for r in lines if r["method"] == "POST" and r["object"].startswith("/main/data/")]
        self.assertTrue(uploads and all(r["role"] == "append" and r["bytes_in"] > 0 for r in uploads), uploads)
        before = len(lines)
        self.raw("GET", "/main/config", self.tokens["read"])
        self.raw("DELETE", "/main/config", self.tokens["append"])
        self.raw("GET", "/main/keys/")
        after = [json.loads(l) for l in lbtest.read_file(log).decode().splitlines()]
        self.assertEqual(len(after), before + 3)
        self.assertEqual([(r["token"], r["role"], r["method"], r["object"], r["status"]) for r in after[before:]],
                         [("restorer", "read", "GET", "/main/config", 200),
                          ("backup-host", "append", "DELETE", "/main/config", 403),
                          (None, None, "GET", "/main/keys/", 401)])
        self.assertEqual(after[before]["bytes_out"], os.path.getsize(os.path.join(self.root, "main", "config")))


if __name__ == "__main__":
    lbtest.main()
