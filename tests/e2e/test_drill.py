"""Restore drills end to end: `lifeboat drill` and `lifeboat drills` on a policy
with a local target: a drill that passes (and is recorded, and leaves no
sandbox), one that fails on a damaged pack, one whose validation fails, drift
over a recorded history, overdue drills, --dry-run and the live path left alone."""

import json
import os
import sqlite3
import textwrap
import time

import lbtest


def pack_files(repo):
    out = []
    for root, _, files in os.walk(os.path.join(repo, "data")):
        out += [os.path.join(root, f) for f in files]
    return out


class DrillTest(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("live", "srv", "orders")
        lbtest.write_file(os.path.join(self.src, "a.txt"), b"alpha\n")
        lbtest.write_file(os.path.join(self.src, "sub", "big.bin"), os.urandom(3 << 20))
        os.symlink("a.txt", os.path.join(self.src, "link"))
        self.lb.init()
        lbtest.write_file(self.path("pw"), self.lb.password + "\n")
        self.history = self.path("history.db")
        self.lb.env["LIFEBOAT_HISTORY"] = self.history
        self.sandbox = self.path("sandboxes")
        os.makedirs(self.sandbox)
        self.write_policy()

    def write_policy(self, validate=None, every="7d"):
        validate = validate or ['test -s orders.sql', 'grep -q "CREATE TABLE" orders.sql',
                                'test -f "$LIFEBOAT_SOURCE_2/a.txt"', 'echo "checked in $PWD"']
        self.policy = self.path("lifeboat.toml")
        lbtest.write_file(self.policy, textwrap.dedent(f"""\
            timezone = "UTC"
            [targets.hot]
            url = "{self.lb.repo}"
            password_file = "{self.path('pw')}"
            [services.orders]
            rpo = "1h"
            rto = "1h"
            schedule = "every 10m"
            sources = [
              {{ type = "command", name = "orders.sql", command = ["sh", "-c", "echo 'CREATE TABLE orders (id int);'"] }},
              {{ type = "path", path = "{self.src}" }},
            ]
            targets = ["hot"]
            drill = {{ every = "{every}", validate = {json.dumps(validate)} }}
            """))

    def drill(self, *extra, expect=lbtest.EXIT_OK):
        return self.lb.run_json(["drill", self.policy, "orders", "--sandbox", self.sandbox, *extra],
                                expect=expect)

    def drills(self, *extra, expect=lbtest.EXIT_OK):
        return self.lb.run_json(["drills", self.policy, *extra], expect=expect)

    def test_drill_passes_and_is_recorded(self):
        self.lb.run(["run", self.policy])
        before = lbtest.listing(self.path("live"), contents=True)
        r = self.drill()
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["failures"], [])
        by_source = {s["source"]: s for s in r["sources"]}
        self.assertEqual(set(by_source), {"orders.sql", "files"})
        files = by_source["files"]
        self.assertEqual(files["files"], 2)  # a.txt, big.bin (the symlink is not a file)
        self.assertEqual(files["files"], files["expected_files"])
        self.assertEqual(files["dirs"], files["expected_dirs"])
        self.assertEqual(files["bytes"], (3 << 20) + 6)
        self.assertEqual(by_source["orders.sql"]["bytes"], len("CREATE TABLE orders (id int);\n"))
        self.assertEqual(r["bytes"], (3 << 20) + 6 + 30)
        self.assertGreater(r["restore_seconds"], 0)
        self.assertGreaterEqual(r["verify_seconds"], 0)
        self.assertEqual([c["exit_code"] for c in r["validation"]], [0, 0, 0, 0])
        # the validation ran in the directory holding the first source (the dump)
        self.assertIn("checked in " + os.path.join(r["sandbox"]), r["validation"][3]["output"])
        self.assertEqual(os.listdir(self.sandbox), [], "the sandbox must be removed")
        self.assertListingEqual(before, lbtest.listing(self.path("live"), contents=True),
                                "a drill must not touch the live path")
        h = self.drills()
        self.assertTrue(h["ok"], h)
        rows = h["services"][0]["drills"]
        self.assertEqual(len(rows), 1)
        self.assertTrue(rows[0]["ok"])
        self.assertEqual(rows[0]["bytes"], r["bytes"])
        # the RTO is now estimated from the drill
        plan = self.lb.run_json(["plan", self.policy])
        rto = plan["services"][0]["rto"]
        self.assertEqual(rto["status"], "met", plan)
        self.assertIn("measured by the last drill", rto["reason"])

    def test_keep_and_dry_run(self):
        self.lb.run(["run", self.policy])
        plan = self.drill("--dry-run")
        self.assertEqual(plan["message_type"], "drill-plan")
        self.assertEqual(plan["bytes"], (3 << 20) + 6 + 30)
        self.assertIsNone(plan["estimate_seconds"])
        self.assertFalse(os.path.exists(self.history) and self.drills(expect=None)["services"][0]["drills"])
        self.assertEqual(os.listdir(self.sandbox), [])
        r = self.drill("--keep")
        self.assertTrue(r["ok"])
        kept = r["sandbox"]
        self.assertTrue(os.path.isfile(os.path.join(kept, "orders.sql")))
        self.assertEqual(lbtest.read_file(lbtest.restored_path(kept, os.path.join(self.src, "a.txt"))), b"alpha\n")
        plan = self.drill("--dry-run")
        self.assertIsNotNone(plan["estimate_seconds"])

    def test_damaged_pack_fails_and_is_recorded(self):
        self.lb.run(["run", self.policy])
        biggest = max(pack_files(self.lb.repo), key=os.path.getsize)
        with open(biggest, "r+b") as f:
            f.seek(os.path.getsize(biggest) // 2)
            chunk = f.read(64)
            f.seek(os.path.getsize(biggest) // 2)
            f.write(bytes(b ^ 0xFF for b in chunk))
        r = self.drill(expect=lbtest.EXIT_FATAL)
        self.assertFalse(r["ok"])
        self.assertTrue(r["failures"])
        self.assertEqual(os.listdir(self.sandbox), [], "a failed drill removes its sandbox too")
        p = self.lb.run(["drill", self.policy, "orders", "--sandbox", self.sandbox], expect=lbtest.EXIT_FATAL)
        self.assertIn("FAILED", p.stdout)
        self.assertIn("drill orders failed", p.stderr)
        h = self.drills(expect=lbtest.EXIT_FATAL)
        rows = h["services"][0]["drills"]
        self.assertEqual([x["ok"] for x in rows], [False, False])
        self.assertTrue(rows[-1]["error"])
        self.assertTrue(h["services"][0]["last_failed"])
        status = self.lb.run_json(["status", self.policy], expect=lbtest.EXIT_FATAL)
        self.assertEqual(status["services"][0]["rto_status"], "violated")

    def test_validation_failure(self):
        self.write_policy(validate=["test -s orders.sql", "echo 'table orders is missing' >&2; exit 4",
                                    "touch should-not-run"])
        self.lb.run(["run", self.policy])
        r = self.drill("--keep", expect=lbtest.EXIT_FATAL)
        self.assertFalse(r["ok"])
        self.assertEqual([c["exit_code"] for c in r["validation"]], [0, 4])
        self.assertIn("table orders is missing", r["validation"][1]["output"])
        self.assertIn("exit 4", r["failures"][0])
        self.assertFalse(os.path.exists(os.path.join(r["sandbox"], "should-not-run")))
        self.assertFalse(self.drills(expect=lbtest.EXIT_FATAL)["services"][0]["drills"][0]["ok"])

    def test_drift_over_recorded_history(self):
        self.lb.run(["run", self.policy])
        self.assertTrue(self.drill()["ok"])  # creates the database with its schema
        db = sqlite3.connect(self.history)
        now = time.time_ns()
        # five earlier good drills restoring 100 MB in ~10 s, then one taking 25 s
        for i, secs in enumerate([10.0, 10.5, 9.8, 10.2, 10.1, 25.0]):
            end = now - (10 - i) * 3600 * 10**9
            db.execute("INSERT INTO jobs (service, kind, target, start_ns, end_ns, ok, bytes, details)"
                       " VALUES ('orders', 'drill', 'hot', ?, ?, 1, 100000000, ?)",
                       (end - int(secs * 1e9), end, json.dumps({"restore_seconds": secs, "validation_seconds": 0.1})))
        db.execute("DELETE FROM jobs WHERE kind = 'drill' AND bytes != 100000000")
        db.commit()
        db.close()
        h = self.drills(expect=lbtest.EXIT_FATAL)
        rows = h["services"][0]["drills"]
        self.assertEqual(len(rows), 6)
        self.assertEqual([bool(x["drift"]) for x in rows], [False] * 5 + [True])
        self.assertIn("restore took 25.0s", rows[-1]["drift"])
        self.assertTrue(h["services"][0]["last_drifted"])
        text = self.lb.run(["drills", self.policy, "orders"], expect=lbtest.EXIT_FATAL).stdout
        self.assertIn("DRIFT", text)
        # a looser factor accepts it
        self.assertTrue(self.drills("--drift-factor", "3")["ok"])

    def test_overdue(self):
        self.write_policy(every="1s")
        self.lb.run(["run", self.policy])
        h = self.drills(expect=lbtest.EXIT_FATAL)
        self.assertTrue(h["services"][0]["overdue"])
        self.assertIn("never drilled", h["services"][0]["overdue_reason"])
        self.assertTrue(self.drill()["ok"])
        self.assertTrue(self.drills()["ok"])
        time.sleep(1.2)
        h = self.drills(expect=lbtest.EXIT_FATAL)
        self.assertTrue(h["services"][0]["overdue"])
        self.assertIn("OVERDUE", self.lb.run(["drills", self.policy], expect=lbtest.EXIT_FATAL).stdout)

    def test_selection_and_refusals(self):
        self.lb.run(["run", self.policy])
        lbtest.write_file(os.path.join(self.src, "a.txt"), b"second version\n")
        time.sleep(1.1)
        self.lb.run(["run", self.policy, "--force"])
        latest = self.drill("--keep")
        older = self.drill("--random", "--keep")
        self.assertTrue(latest["ok"] and older["ok"])
        self.assertNotEqual(latest["sources"][1]["snapshot"], older["sources"][1]["snapshot"])
        self.assertEqual(lbtest.read_file(lbtest.restored_path(older["sandbox"], os.path.join(self.src, "a.txt"))),
                         b"alpha\n")
        by_id = self.drill("--snapshot", older["sources"][0]["snapshot"][:10])
        self.assertEqual(by_id["sources"][0]["snapshot"], older["sources"][0]["snapshot"])
        # a sandbox inside the live source is refused, and nothing is written there
        before = lbtest.listing(self.path("live"))
        r = self.lb.run_json(["drill", self.policy, "orders", "--sandbox", os.path.join(self.src, "tmp")],
                             expect=lbtest.EXIT_FATAL)
        self.assertIn("inside the live source", r["failures"][0])
        self.assertListingEqual(before, lbtest.listing(self.path("live")), "refused drill wrote to the live path")
        p = self.lb.run(["drill", self.policy, "nosuch"], expect=lbtest.EXIT_USAGE)
        self.assertOneLineError(p)
        p = self.lb.run(["drill", self.policy, "orders", "--random", "--at", "2026-01-01"], expect=lbtest.EXIT_USAGE)
        self.assertOneLineError(p)


if __name__ == "__main__":
    lbtest.main()
