"""Policy as code end to end: policy check, run, status and plan on a two-service
policy with a local and a second local target."""

import json
import os
import textwrap

import lbtest


class PolicyTest(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src_a = self.path("src", "a")
        self.src_b = self.path("src", "b")
        lbtest.write_file(os.path.join(self.src_a, "f"), b"alpha\n")
        lbtest.write_file(os.path.join(self.src_b, "g"), b"beta\n")
        self.repos = {}
        for name, pw in (("hot", "pw-hot"), ("second", "pw-second")):
            repo = self.path(name)
            lbtest.write_file(self.path(name + ".pw"), pw + "\n")
            self.lb.run(["init", *lbtest.KDF_ARGS], env={"LIFEBOAT_REPO": repo, "LIFEBOAT_PASSWORD": pw})
            self.repos[name] = (repo, pw)
        self.history = self.path("history.db")
        self.lb.env["LIFEBOAT_HISTORY"] = self.history
        self.policy = self.path("lifeboat.toml")
        lbtest.write_file(self.policy, textwrap.dedent(f"""\
            timezone = "UTC"
            [targets.hot]
            url = "{self.repos['hot'][0]}"
            password_file = "{self.path('hot.pw')}"
            [targets.second]
            url = "{self.repos['second'][0]}"
            password_file = "{self.path('second.pw')}"
            [services.web]
            owner = "web"
            rpo = "1h"
            rto = "30m"
            schedule = "every 10m"
            sources = [{{ type = "path", path = "{self.src_a}" }},
                       {{ type = "command", name = "dump.txt", command = ["echo", "dumped"] }}]
            targets = ["hot", "second"]
            retention = {{ last = 2 }}
            drill = {{ every = "7d", validate = ["test -s \\"$LIFEBOAT_SOURCE_2\\"", "test -s f"] }}
            [services.db]
            owner = "db"
            rpo = "2h"
            rto = "1h"
            schedule = "every 30m"
            sources = [{{ type = "path", path = "{self.src_b}" }}]
            targets = ["hot"]
            retention = {{ last = 2 }}
            depends_on = ["web"]
            drill = {{ every = "7d", validate = ["true"] }}
            """))

    def snapshots(self, target):
        repo, pw = self.repos[target]
        return self.lb.run_json(["snapshots"], env={"LIFEBOAT_REPO": repo, "LIFEBOAT_PASSWORD": pw})

    def test_check_run_status(self):
        p = self.lb.run(["policy", "check", self.policy])
        self.assertNotIn("error", p.stdout)
        # Nothing ran yet: status says the RPO is violated and exits non-zero.
        st = self.lb.run_json(["status", self.policy], expect=lbtest.EXIT_FATAL)
        self.assertFalse(st["ok"])
        jobs = self.lb.run_jsonl(["run", self.policy])
        self.assertEqual(sorted((j["service"], j["target"], j["ok"]) for j in jobs),
                         [("db", "hot", True), ("web", "hot", True), ("web", "second", True)])
        hot = self.snapshots("hot")
        self.assertEqual(sorted(t for s in hot for t in s["tags"]),
                         ["service=db", "service=web", "service=web"])
        self.assertEqual(len(self.snapshots("second")), 2)
        # The command source restores byte-identical.
        repo, pw = self.repos["second"]
        target = self.path("restore")
        dump = [s for s in self.snapshots("second") if s["paths"] == ["/dump.txt"]][0]
        self.lb.run(["restore", dump["id"], "--target", target],
                    env={"LIFEBOAT_REPO": repo, "LIFEBOAT_PASSWORD": pw})
        self.assertEqual(lbtest.read_file(os.path.join(target, "dump.txt")), b"dumped\n")
        # Now within the RPO: status exits 0; a second run has nothing due.
        st = self.lb.run_json(["status", self.policy])
        self.assertTrue(st["ok"])
        again = self.lb.run(["run", self.policy])
        self.assertIn("not due", again.stdout)
        # --force runs again; retention (last = 2) keeps two snapshots per source.
        for _ in range(2):
            self.lb.run(["run", self.policy, "web", "--force"])
        web_hot = [s for s in self.snapshots("hot") if "service=web" in s["tags"]]
        self.assertEqual(len(web_hot), 4)  # two per source (path and command)
        plan = self.lb.run_json(["plan", self.policy])
        by = {s["service"]: s for s in plan["services"]}
        self.assertEqual(by["web"]["rpo"]["status"], "met")
        self.assertEqual(by["web"]["rto"]["status"], "unknown")  # no drill has run yet
        self.assertIn("drill", by["web"]["rto"]["reason"])

    def test_daemon_runs_due_jobs_reloads_and_stops(self):
        import signal
        import subprocess
        import time
        # "every 10m" is aligned to the clock: a test that spans a 10-minute boundary
        # would see web run twice. Give web one daily slot 12 hours away instead, so
        # only its first (never run, so due at once) backup falls inside the test.
        hour = (time.gmtime().tm_hour + 12) % 24
        text = open(self.policy).read()
        text = text.replace('rpo = "1h"', 'rpo = "25h"').replace(
            'schedule = "every 10m"', 'schedule = "0 %d * * *"' % hour)
        lbtest.write_file(self.policy, text)
        self.lb.run(["policy", "check", self.policy])
        p = subprocess.Popen([self.lb.bin, "daemon", self.policy, "-q", "--drill-sandbox", self.path()],
                             env=self.lb.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                st = self.lb.run_json(["status", self.policy], expect=None)
                if st.get("ok"):
                    break
                time.sleep(0.5)
            self.assertTrue(st.get("ok"), "the daemon did not back up both services within 60 s")
            # after its first good backup, each service is drilled (drill.every, never drilled yet)
            while time.time() < deadline + 30:
                d = self.lb.run_json(["drills", self.policy], expect=None)
                if all(sv["drills"] for sv in d["services"]):
                    break
                time.sleep(0.5)
            self.assertTrue(all(sv["drills"] and sv["drills"][-1]["ok"] for sv in d["services"]), d)
            p.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("reloaded", err)
        self.assertIn("stopped", err)
        self.assertEqual(len([s for s in self.snapshots("second")]), 2)

    def test_failing_command_records_failure(self):
        text = open(self.policy).read().replace('command = ["echo", "dumped"]', 'command = ["false"]')
        lbtest.write_file(self.policy, text)
        jobs = self.lb.run_jsonl(["run", self.policy, "web"], expect=lbtest.EXIT_FATAL)
        self.assertTrue(all(not j["ok"] for j in jobs))
        st = self.lb.run_json(["status", self.policy], expect=lbtest.EXIT_FATAL)
        web = [s for s in st["services"] if s["service"] == "web"][0]
        self.assertIn("false", web["last_error"])

    def test_hooks_run_before_and_after_and_a_failing_hook_fails_the_job(self):
        marker = self.path("hook-marker")
        text = open(self.policy).read().replace(
            'depends_on = ["web"]',
            'depends_on = ["web"]\nhooks = {{ before = ["echo before >> {m}"], after = ["echo after-$LIFEBOAT_SERVICE >> {m}"] }}'.format(m=marker))
        lbtest.write_file(self.policy, text)
        self.lb.run(["run", self.policy, "db"])
        self.assertEqual(open(marker).read().split(), ["before", "after-db"])
        lbtest.write_file(self.policy, text.replace("echo before >>", "false >>"))
        jobs = self.lb.run_jsonl(["run", self.policy, "db", "--force"], expect=lbtest.EXIT_FATAL)
        self.assertFalse(jobs[0]["ok"])
        self.assertIn("before hook", jobs[0]["error"])

    def test_malformed_policy_is_one_line_with_position(self):
        lines = open(self.policy).read().splitlines()
        bad = lines.index('rpo = "1h"')
        lines[bad] = 'rpo = "15 minutes"'
        lbtest.write_file(self.policy, "\n".join(lines) + "\n")
        p = self.lb.run(["policy", "check", self.policy], expect=lbtest.EXIT_FATAL)
        self.assertOneLineError(p)
        self.assertIn("%s:%d:" % (self.policy, bad + 1), p.stderr)
        self.assertIn("15 minutes", p.stderr)

    def test_schedule_gap_exceeding_rpo_is_an_error(self):
        text = open(self.policy).read().replace('schedule = "every 30m"', 'schedule = "0 3 * * *"')
        lbtest.write_file(self.policy, text)
        p = self.lb.run(["policy", "check", self.policy], expect=lbtest.EXIT_FATAL)
        self.assertIn("error", p.stdout)
        self.assertIn("rpo", p.stdout.lower())


if __name__ == "__main__":
    lbtest.main()
