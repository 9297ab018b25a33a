#!/usr/bin/env python3
"""CLI contract: exit codes, JSON output, snapshot selection, filters, stdin, keys.

Run: python3 tests/e2e/test_cli.py --lifeboat PATH
"""

import json
import math
import os
import pwd
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbtest  # noqa: E402
from lbtest import (EXIT_FATAL, EXIT_NO_REPO, EXIT_PARTIAL, EXIT_USAGE, EXIT_WRONG_PASSWORD,  # noqa: E402
                    files_below, listing, parse_json_lines, parse_rfc3339_utc, read_file, restored_path,
                    rfc3339_ns, summary_of, write_file)

SUMMARY_COUNTERS = ["files_new", "files_changed", "files_unmodified", "dirs_new", "dirs_changed",
                    "dirs_unmodified", "data_blobs", "tree_blobs", "blobs_added", "bytes_read", "bytes_added",
                    "bytes_stored", "total_files", "total_bytes"]
DIFF_RE = re.compile(r"^([+\-M])\s+(/.*)$")
# A POSIX TZ string (no tzdata needed): local time = UTC + 5:30.
TEST_TZ, TEST_TZ_OFFSET_S = "LBT-5:30", 5 * 3600 + 30 * 60


def local_time_str(epoch_s: int, fmt="%Y-%m-%d %H:%M:%S") -> str:
    return time.strftime(fmt, time.gmtime(epoch_s + TEST_TZ_OFFSET_S))


class CliTest(lbtest.LBTestCase):

    def make_src(self, files: dict) -> str:
        self.src = self.path("src")
        os.makedirs(self.src, exist_ok=True)
        for rel, data in files.items():
            write_file(os.path.join(self.src, rel), data)
        return self.src

    def sp(self, rel="") -> str:
        """Absolute snapshot path of src/<rel>."""
        return os.path.join(self.src, rel) if rel else self.src

    # ------------------------------------------------------------------ basics
    def test_version(self):
        p = self.lb.run(["version"])
        self.assertTrue(p.stdout.strip(), "version prints nothing")
        # --version, as other backup tools spell it, prints the same line and exits 0
        self.assertEqual(self.lb.run(["--version"]).stdout, p.stdout)

    def test_usage_errors(self):
        self.lb.init()
        self.make_src({"a.txt": b"a"})
        self.lb.run(["frobnicate"], expect=EXIT_USAGE)
        self.lb.run(["backup", "--definitely-not-a-flag", self.src], expect=EXIT_USAGE)
        self.lb.run(["restore", "latest", "--target", self.path("t"), "--overwrite", "sometimes"],
                    expect=EXIT_USAGE)
        self.lb.run(["init", "--kdf-mem-mib", "not-a-number"], expect=EXIT_USAGE)
        self.assertEqual(self.lb.snapshots(), [], "a usage error must not create a snapshot")

    def test_repo_missing(self):
        missing = self.path("no-such-repo")
        self.make_src({"a.txt": b"a"})
        env = {"LIFEBOAT_REPO": missing}
        for args in (["snapshots"], ["backup", self.src], ["restore", "latest", "--target", self.path("t")],
                     ["ls", "latest"], ["key", "list"]):
            p = self.lb.run(args, expect=EXIT_NO_REPO, env=env)
            self.assertOneLineError(p)
        self.assertFalse(os.path.lexists(missing), "a command on a missing repo created it")
        self.assertFalse(os.path.lexists(self.path("t")))

    def test_init_twice_fails_and_keeps_repo(self):
        self.lb.init()
        self.make_src({"a.txt": b"a"})
        self.lb.backup(self.src)
        before = listing(self.lb.repo, contents=True)
        p = self.lb.run(["init", *lbtest.KDF_ARGS], expect=None, env={"LIFEBOAT_PASSWORD": "another"})
        self.assertNotEqual(p.returncode, 0, "init over an existing repository succeeded")
        self.assertListingEqual(before, listing(self.lb.repo, contents=True), "a failed init changed the repository")
        self.assertEqual(len(self.lb.snapshots()), 1)

    def test_wrong_password(self):
        self.lb.init()
        self.make_src({"a.txt": b"hello", "sub/b.txt": b"world"})
        self.lb.backup(self.src)
        write_file(self.path("newpw"), b"new password")
        write_file(self.path("wrongpw"), b"wrong password")
        before = listing(self.lb.repo, contents=True)
        wrong = {"LIFEBOAT_PASSWORD": "wrong password"}
        target = self.path("t")
        for args in (["snapshots"], ["backup", self.src], ["restore", "latest", "--target", target],
                     ["ls", "latest"], ["key", "list"], ["key", "add", "--new-password-file", self.path("newpw")],
                     ["diff", "latest", "latest"]):
            p = self.lb.run(args, expect=EXIT_WRONG_PASSWORD, env=wrong)
            self.assertOneLineError(p)
        p = self.lb.run(["--password-file", self.path("wrongpw"), "snapshots"], expect=EXIT_WRONG_PASSWORD,
                        env={"LIFEBOAT_PASSWORD": None})
        self.assertOneLineError(p)
        p = self.lb.run(["snapshots"], expect=EXIT_WRONG_PASSWORD,
                        env={"LIFEBOAT_PASSWORD": None, "LIFEBOAT_PASSWORD_FILE": self.path("wrongpw")})
        locks = os.path.join(self.lb.repo, "locks")
        self.assertEqual(files_below(locks) if os.path.isdir(locks) else [], [], "lock files left behind")
        self.assertListingEqual(before, listing(self.lb.repo, contents=True),
                                "commands with a wrong password changed the repository")
        self.assertFalse(os.path.exists(target) and os.listdir(target), "restore with wrong password wrote files")
        self.assertEqual(len(self.lb.snapshots()), 1)

    def test_global_flags_and_password_sources(self):
        pwfile = write_file(self.path("pw"), lbtest.PASSWORD.encode())
        repo = self.lb.repo
        no_env = {"LIFEBOAT_REPO": None, "LIFEBOAT_PASSWORD": None}
        # flags before the subcommand
        self.lb.run(["-r", repo, "--password-file", pwfile, "init", *lbtest.KDF_ARGS], env=no_env)
        self.make_src({"a.txt": b"a"})
        # flags after the subcommand
        self.lb.run(["backup", self.src, "--repo", repo, "--password-file", pwfile], env=no_env)
        snaps = self.lb.run_json(["snapshots", "-r", repo, "--password-file", pwfile], env=no_env)
        self.assertEqual(len(snaps), 1)
        # --json after the subcommand
        p = self.lb.run(["snapshots", "--json", "-r", repo, "--password-file", pwfile], env=no_env)
        self.assertEqual(len(json.loads(p.stdout)), 1)
        # password file from the environment
        snaps = self.lb.run_json(["snapshots"], env={"LIFEBOAT_PASSWORD": None, "LIFEBOAT_PASSWORD_FILE": pwfile})
        self.assertEqual(len(snaps), 1)
        # -q: quiet backup prints nothing on stdout
        p = self.lb.run(["-q", "backup", self.src])
        self.assertEqual(p.stdout.strip(), "", "backup -q printed output")
        p = self.lb.run(["backup", "--quiet", self.src])
        self.assertEqual(p.stdout.strip(), "", "backup --quiet printed output")
        self.assertEqual(len(self.lb.snapshots()), 3)

    # ------------------------------------------------------------------ snapshots
    def test_snapshots_json(self):
        self.lb.init()
        self.make_src({"a.txt": b"aaa", "sub/b.txt": b"bb"})
        t0 = time.time_ns()
        # relative path is made absolute
        s1 = self.lb.backup("src", "--tag", "alpha", "--tag", "beta", "--host", "testhost", cwd=self.tmp)
        write_file(self.path("src", "c.txt"), b"c")
        s2 = self.lb.backup(self.src, "--host", "testhost")
        s3 = self.lb.backup(self.src)
        t1 = time.time_ns()
        snaps = self.lb.snapshots()
        self.assertEqual([s["id"] for s in snaps], [s1["snapshot_id"], s2["snapshot_id"], s3["snapshot_id"]],
                         "snapshots must be listed oldest first")
        user = pwd.getpwuid(os.getuid()).pw_name
        for s in snaps:
            for k in ("id", "short_id", "time", "time_ns", "host", "user", "paths", "tags", "tree", "summary",
                      "partial_files"):
                self.assertIn(k, s)
            self.assertRegex(s["id"], r"^[0-9a-f]{16,}$")
            self.assertRegex(s["short_id"], r"^[0-9a-f]+$")
            self.assertTrue(s["id"].startswith(s["short_id"]) and len(s["short_id"]) < len(s["id"]))
            self.assertRegex(s["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
            self.assertIsInstance(s["time_ns"], int)
            self.assertEqual(parse_rfc3339_utc(s["time"]), s["time_ns"], "time and time_ns disagree")
            self.assertTrue(t0 - 5 * 10**9 <= s["time_ns"] <= t1 + 5 * 10**9, "snapshot time is not now")
            self.assertEqual(s["paths"], [self.src])
            self.assertEqual(s["user"], user)
            self.assertRegex(s["tree"], r"^[0-9a-f]{16,}$")
            for k in SUMMARY_COUNTERS:
                self.assertIsInstance(s["summary"].get(k), int, "summary.%s" % k)
            self.assertEqual(s["partial_files"], [])
        self.assertLess(snaps[0]["time_ns"], snaps[1]["time_ns"])
        self.assertLess(snaps[1]["time_ns"], snaps[2]["time_ns"])
        self.assertEqual(sorted(snaps[0]["tags"]), ["alpha", "beta"])
        self.assertEqual(snaps[1]["tags"] or [], [])
        self.assertEqual(snaps[0]["host"], "testhost")
        self.assertEqual(snaps[1]["host"], "testhost")
        self.assertEqual(snaps[2]["host"], socket.gethostname())
        self.assertIn(snaps[0].get("parent"), (None, ""))
        self.assertEqual(snaps[1]["parent"], snaps[0]["id"])
        self.assertEqual(snaps[0]["summary"]["files_new"], 2)
        self.assertEqual(snaps[1]["summary"]["files_new"], 1)
        self.assertEqual(snaps[1]["summary"]["files_unmodified"], 2)
        self.assertEqual(snaps[0]["summary"]["total_bytes"], 5)

    def test_snapshot_references(self):
        self.lb.init()
        self.make_src({"a.txt": b"first"})
        self.lb.backup(self.src)
        write_file(self.path("src", "b.txt"), b"second")
        self.lb.backup(self.src)
        s1, s2 = self.lb.snapshots()
        full = self.lb.ls(s1["id"])
        self.assertEqual(self.lb.ls(s1["short_id"]), full)
        self.assertEqual(self.lb.ls(s1["id"][:10]), full)
        self.assertNotIn(self.sp("b.txt"), full)
        latest = self.lb.ls("latest")
        self.assertEqual(latest, self.lb.ls(s2["id"]))
        self.assertIn(self.sp("b.txt"), latest)
        self.lb.run(["ls", "f" * 64], expect=EXIT_FATAL)

    def test_restore_at_time(self):
        self.lb.init()
        self.make_src({"file.txt": b"v1"})
        # Snapshots > 2 s apart, so that for T = ceil(t_n) seconds both readings of a
        # seconds-resolution time (the instant T.000000000, or the whole second
        # T.xxx) select the same snapshot: t_n <= T and T + 1 s < t_(n+1).
        self.lb.backup(self.src)
        time.sleep(2.1)
        write_file(self.path("src", "file.txt"), b"v2")
        self.lb.backup(self.src)
        time.sleep(2.1)
        write_file(self.path("src", "file.txt"), b"v3")
        self.lb.backup(self.src)
        snaps = self.lb.snapshots()
        t1, t2, t3 = (s["time_ns"] for s in snaps)
        self.assertGreater(t2 - t1, 2 * 10**9, "snapshots taken 2.1 s apart have times %d, %d" % (t1, t2))
        self.assertGreater(t3 - t2, 2 * 10**9, "snapshots taken 2.1 s apart have times %d, %d" % (t2, t3))
        env = {"TZ": TEST_TZ}
        counter = iter(range(100))

        def restored_at(at):
            target = self.path("at%d" % next(counter))
            self.lb.restore(None, target, "--at", at, env=env)
            return read_file(os.path.join(restored_path(target, self.src), "file.txt"))

        ceil_s = lambda ns: math.ceil(ns / 10**9)  # noqa: E731
        # local time "YYYY-MM-DD HH:MM:SS" (TZ = UTC+5:30)
        self.assertEqual(restored_at(local_time_str(ceil_s(t1))), b"v1")
        self.assertEqual(restored_at(local_time_str(ceil_s(t2))), b"v2")
        self.assertEqual(restored_at(local_time_str(ceil_s(t3))), b"v3")
        # local time with minute resolution, well after the last snapshot
        self.assertEqual(restored_at(local_time_str(ceil_s(t3) + 120, "%Y-%m-%d %H:%M")), b"v3")
        # RFC3339 with nanoseconds: exact time is "at or before"; 1 ns earlier is the previous one
        self.assertEqual(restored_at(snaps[1]["time"]), b"v2")
        self.assertEqual(restored_at(rfc3339_ns(t2)), b"v2")
        self.assertEqual(restored_at(rfc3339_ns(t2 - 1)), b"v1")
        self.assertEqual(restored_at(rfc3339_ns(t3 - 1)), b"v2")
        # before the first snapshot: nothing to restore
        target = self.path("too-early")
        p = self.lb.restore(None, target, "--at", local_time_str(t1 // 10**9 - 1), env=env, expect=None)
        self.assertNotEqual(p.returncode, 0, "restore --at before the first snapshot succeeded")
        self.assertEqual(files_below(target) if os.path.isdir(target) else [], [])

    # ------------------------------------------------------------------ backup options
    def test_exclude(self):
        self.lb.init()
        self.make_src({"a.txt": b"a", "b.tmp": b"b", "sub/c.tmp": b"c", "sub/d.txt": b"d",
                       "cache/x.txt": b"x", "keep/y.txt": b"y"})
        self.lb.backup(self.src, "--exclude", "*.tmp")
        listed = self.lb.ls("latest")
        for rel in ("a.txt", "sub/d.txt", "cache/x.txt", "keep/y.txt"):
            self.assertIn(self.sp(rel), listed)
        for rel in ("b.tmp", "sub/c.tmp"):
            self.assertNotIn(self.sp(rel), listed)

        exfile = write_file(self.path("excludes"), "%s\n*.txt.never\n" % self.sp("cache"))
        self.lb.backup(self.src, "--exclude-file", exfile)
        listed = self.lb.ls("latest")
        self.assertNotIn(self.sp("cache"), listed)
        self.assertNotIn(self.sp("cache/x.txt"), listed)
        for rel in ("a.txt", "b.tmp", "sub/c.tmp", "keep/y.txt"):
            self.assertIn(self.sp(rel), listed)

    def test_backup_dry_run(self):
        self.lb.init()
        self.make_src({"a.txt": b"a"})
        self.lb.backup(self.src)
        before = listing(self.lb.repo, contents=True)
        write_file(self.path("src", "new.txt"), b"new file content")
        s = self.lb.backup(self.src, "--dry-run")
        self.assertEqual(s["files_new"], 1, s)
        self.assertEqual(len(self.lb.snapshots()), 1, "backup --dry-run created a snapshot")
        after = listing(self.lb.repo, contents=True)
        self.assertEqual(sorted(k for k, v in after.items() if v[0] != "d"),
                         sorted(k for k, v in before.items() if v[0] != "d"),
                         "backup --dry-run added/removed repository files")
        self.assertEqual({k: v for k, v in after.items() if v[0] != "d"},
                         {k: v for k, v in before.items() if v[0] != "d"},
                         "backup --dry-run modified repository files")

    def test_partial_backup_unreadable_file(self):
        """A file that cannot be read: backup exits 3, snapshot still created."""
        nobody = None
        repo_env = {}
        if os.geteuid() == 0:
            # root can read anything: run lifeboat as nobody instead
            nobody = lbtest.NOBODY
            own = self.path("nobody")
            os.makedirs(own)
            os.chown(own, nobody, nobody)
            for dirpath, dirnames, filenames in os.walk(self.lb.home):
                for n in [dirpath] + [os.path.join(dirpath, x) for x in dirnames + filenames]:
                    os.lchown(n, nobody, nobody)
            repo_env = {"LIFEBOAT_REPO": os.path.join(own, "repo")}
        self.make_src({"ok.txt": b"readable", "sub/ok2.txt": b"readable too", "secret.txt": b"unreadable"})
        for d in (self.src, self.path("src", "sub")):
            os.chmod(d, 0o755)
        for f in ("ok.txt", "sub/ok2.txt"):
            os.chmod(self.path("src", f), 0o644)
        os.chmod(self.path("src", "secret.txt"), 0o000)
        self.lb.init(env=repo_env, as_user=nobody)
        p = self.lb.run(["--json", "backup", self.src], expect=EXIT_PARTIAL, env=repo_env, as_user=nobody)
        summary = summary_of(parse_json_lines(p.stdout))
        self.assertIn("secret.txt", p.stdout + p.stderr, "the unreadable file is not reported")
        snaps = self.lb.run_json(["snapshots"], env=repo_env, as_user=nobody)
        self.assertEqual(len(snaps), 1, "backup with an unreadable file must still create a snapshot")
        self.assertEqual(snaps[0]["id"], summary["snapshot_id"])
        listed = self.lb.ls("latest", env=repo_env, as_user=nobody)
        self.assertIn(self.sp("ok.txt"), listed)
        self.assertIn(self.sp("sub/ok2.txt"), listed)
        target = self.path("t")
        self.lb.restore("latest", target, env=repo_env, expect=None)
        r = restored_path(target, self.src)
        self.assertEqual(read_file(os.path.join(r, "ok.txt")), b"readable")
        self.assertEqual(read_file(os.path.join(r, "sub/ok2.txt")), b"readable too")

    # ------------------------------------------------------------------ ls / diff
    def test_ls(self):
        self.lb.init()
        self.make_src({"a.txt": b"12345", "sub/b.txt": b"b", "sub/deeper/c.txt": b"c"})
        os.symlink("a.txt", self.path("src", "link"))
        self.lb.backup(self.src)
        lines = self.lb.ls("latest")
        for rel in ("", "a.txt", "sub", "sub/b.txt", "sub/deeper", "sub/deeper/c.txt", "link"):
            self.assertIn(self.sp(rel), lines)
        for l in lines:
            self.assertTrue(l.startswith("/"), "ls prints a non-absolute path: %r" % l)
        sub = self.lb.ls("latest", self.sp("sub"))
        self.assertIn(self.sp("sub/b.txt"), sub)
        self.assertIn(self.sp("sub/deeper/c.txt"), sub)
        self.assertNotIn(self.sp("a.txt"), sub)
        self.assertNotIn(self.sp("link"), sub)

        entries = [e for e in self.lb.run_jsonl(["ls", "latest"]) if isinstance(e, dict) and "path" in e]
        by_path = {e["path"]: e for e in entries}
        for e in entries:
            for k in ("path", "type", "size", "mode", "mtime"):
                self.assertIn(k, e)
        a = by_path[self.sp("a.txt")]
        self.assertEqual(a["type"], "file")
        self.assertEqual(a["size"], 5)
        self.assertEqual(by_path[self.sp("sub")]["type"], "dir")
        self.assertEqual(by_path[self.sp("link")]["type"], "symlink")

    def test_diff(self):
        self.lb.init()
        self.make_src({"keep.txt": b"keep", "remove.txt": b"remove me", "modify.txt": b"old",
                       "sub/keep2.txt": b"keep2"})
        s1 = self.lb.backup(self.src)["snapshot_id"]
        os.unlink(self.path("src", "remove.txt"))
        write_file(self.path("src", "add.txt"), b"added")
        write_file(self.path("src", "modify.txt"), b"new and longer content")
        s2 = self.lb.backup(self.src)["snapshot_id"]
        p = self.lb.run(["diff", s1, s2])
        entries = set()
        for line in p.stdout.splitlines():
            m = DIFF_RE.match(line)
            if m:
                entries.add((m.group(1), m.group(2)))
        self.assertIn(("+", self.sp("add.txt")), entries, p.stdout)
        self.assertIn(("-", self.sp("remove.txt")), entries, p.stdout)
        self.assertIn(("M", self.sp("modify.txt")), entries, p.stdout)
        for rel in ("keep.txt", "sub/keep2.txt", "sub"):
            self.assertFalse([e for e in entries if e[1] == self.sp(rel)], "unchanged %s listed" % rel)
        # no changes between a snapshot and itself
        p = self.lb.run(["diff", s1, s1])
        self.assertFalse([l for l in p.stdout.splitlines() if DIFF_RE.match(l)], p.stdout)
        # --json output parses
        p = self.lb.run(["diff", "--json", s1, s2])
        text = p.stdout.strip()
        self.assertTrue(text)
        if text.startswith("["):
            json.loads(text)
        else:
            parse_json_lines(text)

    # ------------------------------------------------------------------ restore options
    def test_restore_include_exclude(self):
        self.lb.init()
        self.make_src({"a.txt": b"a", "sub/b.txt": b"b", "sub/c.log": b"c", "other/d.txt": b"d"})
        self.lb.backup(self.src)

        t1 = self.path("t1")
        self.lb.restore("latest", t1, "--include", self.sp("sub"))
        r1 = restored_path(t1, self.src)
        self.assertEqual(files_below(r1), ["sub/b.txt", "sub/c.log"])

        t2 = self.path("t2")
        self.lb.restore("latest", t2, "--include", self.sp("a.txt"))
        self.assertEqual(files_below(restored_path(t2, self.src)), ["a.txt"])

        t3 = self.path("t3")
        self.lb.restore("latest", t3, "--exclude", self.sp("sub") + "/*.log")
        self.assertEqual(files_below(restored_path(t3, self.src)), ["a.txt", "other/d.txt", "sub/b.txt"])

        t4 = self.path("t4")
        self.lb.restore("latest", t4, "--exclude", self.sp("sub"))
        self.assertEqual(files_below(restored_path(t4, self.src)), ["a.txt", "other/d.txt"])
        self.assertFalse(os.path.lexists(os.path.join(restored_path(t4, self.src), "sub")))

    def test_restore_dry_run(self):
        self.lb.init()
        files = {"a.txt": b"a" * 1000, "sub/b.txt": b"b" * 2345, "sub/deeper/c.txt": b"", "d.txt": b"d"}
        self.make_src(files)
        self.lb.backup(self.src)
        target = self.path("t")
        p = self.lb.restore("latest", target, "--dry-run")
        self.assertTrue(p.stdout.strip(), "restore --dry-run prints nothing")
        self.assertFalse(os.path.exists(target) and os.listdir(target), "restore --dry-run wrote into the target")
        lines = self.lb.run_jsonl(["restore", "latest", "--target", target, "--dry-run"])
        s = summary_of(lines, strict=False)
        self.assertEqual(s["files"], len(files), s)
        self.assertEqual(s["bytes"], sum(len(v) for v in files.values()), s)
        self.assertGreaterEqual(s["dirs"], 3, s)  # src, sub, sub/deeper (+ parents)
        self.assertFalse(os.path.exists(target) and os.listdir(target), "restore --dry-run wrote into the target")
        # with --include the counts shrink
        s = summary_of(self.lb.run_jsonl(["restore", "latest", "--target", target, "--dry-run",
                                          "--include", self.sp("sub")]), strict=False)
        self.assertEqual(s["files"], 2, s)
        self.assertEqual(s["bytes"], 2345, s)

    def test_restore_verify(self):
        self.lb.init()
        files = {"a.txt": os.urandom(300_000), "sub/b.txt": b"b" * 10, "empty": b""}
        self.make_src(files)
        self.lb.backup(self.src)
        target = self.path("t")
        self.lb.restore("latest", target, "--verify")
        r = restored_path(target, self.src)
        for rel, data in files.items():
            self.assertEqual(read_file(os.path.join(r, rel)), data, rel)

    def test_restore_overwrite_never(self):
        self.lb.init()
        self.make_src({"a.txt": b"from snapshot", "b.txt": b"b"})
        self.lb.backup(self.src)
        target = self.path("t")
        r = restored_path(target, self.src)
        write_file(os.path.join(r, "a.txt"), b"local edit")
        self.lb.restore("latest", target, "--overwrite", "never")
        self.assertEqual(read_file(os.path.join(r, "a.txt")), b"local edit")
        self.assertEqual(read_file(os.path.join(r, "b.txt")), b"b")
        self.lb.restore("latest", target, "--overwrite", "always")
        self.assertEqual(read_file(os.path.join(r, "a.txt")), b"from snapshot")

    # ------------------------------------------------------------------ stdin
    def find_single_file(self, snap="latest") -> str:
        entries = [e for e in self.lb.run_jsonl(["ls", snap]) if isinstance(e, dict) and e.get("type") == "file"]
        self.assertEqual(len(entries), 1, entries)
        return entries[0]["path"]

    def test_stdin(self):
        self.lb.init()
        data = os.urandom(300_000) + b"\x00\xff\n"
        self.lb.backup([], "--stdin", "--stdin-name", "data.bin", input=data)
        named = [l for l in self.lb.ls("latest") if l.endswith("/data.bin")]
        self.assertEqual(len(named), 1, self.lb.ls("latest"))
        self.assertEqual(self.find_single_file(), named[0])
        target = self.path("t")
        self.lb.restore("latest", target)
        self.assertEqual(read_file(os.path.join(target, named[0].lstrip("/"))), data)

    def test_stdin_from_command(self):
        self.lb.init()
        self.lb.backup([], "--stdin-from-command", "--", "sh", "-c", "echo hi")
        path = self.find_single_file()
        target = self.path("t")
        self.lb.restore("latest", target)
        self.assertEqual(read_file(os.path.join(target, path.lstrip("/"))), b"hi\n")
        # binary output, larger than a pipe buffer
        self.lb.backup([], "--stdin-from-command", "--", "sh", "-c",
                       "printf 'a\\000\\377b'; head -c 1000000 /dev/zero")
        path = self.find_single_file()
        target = self.path("t2")
        self.lb.restore("latest", target)
        self.assertEqual(read_file(os.path.join(target, path.lstrip("/"))), b"a\x00\xffb" + bytes(1000000))
        self.assertEqual(len(self.lb.snapshots()), 2)

    def test_stdin_from_failing_command(self):
        self.lb.init()
        for cmd in (["false"], ["sh", "-c", "echo partial output; exit 3"], ["/nonexistent/command"]):
            p = self.lb.run(["backup", "--stdin-from-command", "--", *cmd], expect=EXIT_FATAL)
            self.assertTrue(p.stderr.strip(), "no error message for failing command %s" % cmd)
        self.assertEqual(self.lb.snapshots(), [], "a failing command must not add a snapshot")

    # ------------------------------------------------------------------ keys
    def test_keys(self):
        self.lb.init()
        self.make_src({"a.txt": b"data under several keys"})
        self.lb.backup(self.src)
        keys = self.lb.run_json(["key", "list"])
        self.assertEqual(len(keys), 1)
        for k in ("id", "current", "created", "host", "user"):
            self.assertIn(k, keys[0])
        self.assertIs(keys[0]["current"], True)
        first_id = keys[0]["id"]

        pw2 = write_file(self.path("pw2"), b"second password")
        self.lb.run(["key", "add", "--new-password-file", pw2])
        keys = self.lb.run_json(["key", "list"])
        self.assertEqual(len(keys), 2, keys)
        self.assertEqual([k["id"] for k in keys if k["current"]], [first_id])
        second_id = [k["id"] for k in keys if k["id"] != first_id][0]

        # the new password opens the repo and is then the current key
        as2 = {"LIFEBOAT_PASSWORD": "second password"}
        keys2 = self.lb.run_json(["key", "list"], env=as2)
        self.assertEqual([k["id"] for k in keys2 if k["current"]], [second_id])
        self.assertEqual(len(self.lb.snapshots(env=as2)), 1)
        # and via --password-file
        self.assertEqual(len(self.lb.run_json(["--password-file", pw2, "snapshots"],
                                              env={"LIFEBOAT_PASSWORD": None})), 1)

        # remove the second key: its password no longer works
        self.lb.run(["key", "remove", second_id])
        keys = self.lb.run_json(["key", "list"])
        self.assertEqual([k["id"] for k in keys], [first_id])
        self.lb.run(["snapshots"], env=as2, expect=EXIT_WRONG_PASSWORD)

        # change the password of the current key
        pw3 = write_file(self.path("pw3"), b"third password")
        self.lb.run(["key", "passwd", "--new-password-file", pw3])
        self.lb.run(["snapshots"], expect=EXIT_WRONG_PASSWORD)  # old password
        as3 = {"LIFEBOAT_PASSWORD": "third password"}
        keys = self.lb.run_json(["key", "list"], env=as3)
        self.assertEqual(len(keys), 1, keys)
        target = self.path("t")
        self.lb.restore("latest", target, env=as3)
        self.assertEqual(read_file(os.path.join(restored_path(target, self.src), "a.txt")),
                         b"data under several keys")


if __name__ == "__main__":
    lbtest.main()
