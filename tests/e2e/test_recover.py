"""Recovery playbooks end to end: `lifeboat recover` on three services where
web depends on db and db on auth: dependency order, --target and --to-original,
validation, the previous content kept, and a failed validation that rolls back
every service already swapped, leaving the live paths exactly as before."""

import json
import os
import textwrap

import lbtest


class RecoverTest(lbtest.LBTestCase):
    SERVICES = ("auth", "db", "web")

    def setUp(self):
        super().setUp()
        self.live = self.path("live")
        self.src = {n: os.path.join(self.live, n) for n in self.SERVICES}
        for n, d in self.src.items():
            lbtest.write_file(os.path.join(d, "data.txt"), f"{n} version 1\n")
            lbtest.write_file(os.path.join(d, "sub", "blob.bin"), os.urandom(200000))
        self.lb.init()
        lbtest.write_file(self.path("pw"), self.lb.password + "\n")
        self.lb.env["LIFEBOAT_HISTORY"] = self.path("history.db")
        self.write_policy()
        self.lb.run(["run", self.policy])
        self.backed_up = {n: lbtest.listing(d, contents=True) for n, d in self.src.items()}

    def write_policy(self, db_validate='grep -q "db version 1" data.txt'):
        svc = []
        deps = {"auth": [], "db": ["auth"], "web": ["db"]}
        for n in self.SERVICES:
            validate = db_validate if n == "db" else f'test -s data.txt && test -d "$LIFEBOAT_SOURCE_1/sub"'
            svc.append(textwrap.dedent(f"""\
                [services.{n}]
                rpo = "1h"
                rto = "1h"
                schedule = "every 10m"
                sources = [
                  {{ type = "path", path = "{self.src[n]}" }},
                  {{ type = "command", name = "{n}.dump", command = ["echo", "{n} dump"] }},
                ]
                targets = ["hot"]
                depends_on = {json.dumps(deps[n])}
                drill = {{ every = "7d", validate = [{json.dumps(validate)}] }}
                """))
        self.policy = self.path("lifeboat.toml")
        lbtest.write_file(self.policy, textwrap.dedent(f"""\
            timezone = "UTC"
            [targets.hot]
            url = "{self.lb.repo}"
            password_file = "{self.path('pw')}"
            """) + "".join(svc))

    def change_live(self):
        for n, d in self.src.items():
            lbtest.write_file(os.path.join(d, "data.txt"), f"{n} version 2 (after the incident)\n")
            lbtest.write_file(os.path.join(d, "new-file"), b"ransom note\n")

    def recover(self, *args, expect=lbtest.EXIT_OK):
        return self.lb.run_json(["recover", self.policy, *args], expect=expect)

    def test_to_target_in_dependency_order(self):
        target = self.path("restored")
        r = self.recover("web", "--target", target)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["order"], ["auth", "db", "web"])
        self.assertEqual([s["service"] for s in r["services"]], ["auth", "db", "web"])
        done = [s["done_after_seconds"] for s in r["services"]]
        self.assertEqual(done, sorted(done), "services finish in order")
        for s in r["services"]:
            self.assertEqual(s["state"], "recovered")
            self.assertTrue(s["within_rpo"])
            self.assertTrue(s["within_rto"])
            self.assertGreaterEqual(s["data_loss_seconds"], 0)
            self.assertEqual([c["exit_code"] for c in s["validation"]], [0])
            self.assertEqual(len(s["snapshots"]), 2)
            n = s["service"]
            restored = lbtest.restored_path(target, self.src[n])
            self.assertEqual(lbtest.listing(restored, contents=True), self.backed_up[n])
            self.assertEqual(lbtest.read_file(os.path.join(target, n + ".dump")), f"{n} dump\n".encode())
        # only the requested closure: auth alone brings nothing else
        r = self.recover("auth", "--target", self.path("only-auth"))
        self.assertEqual(r["order"], ["auth"])
        left = [e for e in os.listdir(os.path.dirname(lbtest.restored_path(target, self.src["auth"])))
                if ".lifeboat-" in e]
        self.assertEqual(left, [], "no staging directories left behind")

    def test_to_original_keeps_previous_content(self):
        self.change_live()
        changed = {n: lbtest.listing(d, contents=True) for n, d in self.src.items()}
        outputs = self.path("outputs")
        r = self.recover("db", "--to-original", "--outputs", outputs)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["order"], ["auth", "db"])
        for n in ("auth", "db"):
            self.assertEqual(lbtest.listing(self.src[n], contents=True), self.backed_up[n], n)
            svc = next(s for s in r["services"] if s["service"] == n)
            prev = [w["previous"] for w in svc["swaps"] if w["destination"] == self.src[n]][0]
            self.assertTrue(prev.startswith(self.src[n] + ".lifeboat-previous-"), prev)
            self.assertEqual(lbtest.listing(prev, contents=True), changed[n], "previous content kept whole")
            self.assertEqual(lbtest.read_file(os.path.join(outputs, n, n + ".dump")), f"{n} dump\n".encode())
        self.assertEqual(lbtest.listing(self.src["web"], contents=True), changed["web"], "web was not asked for")
        text = self.lb.run(["recover", self.policy, "auth", "--to-original", "--outputs", outputs]).stdout
        self.assertIn("SUCCEEDED", text)
        self.assertIn("previous content kept at", text)

    def test_failed_validation_rolls_back_everything(self):
        self.change_live()
        before = {n: lbtest.listing(d, contents=True) for n, d in self.src.items()}
        entries = sorted(os.listdir(self.live))
        self.write_policy(db_validate='echo "orders table missing" >&2; exit 7')
        outputs = self.path("outputs")
        r = self.recover("web", "--to-original", "--outputs", outputs, expect=lbtest.EXIT_FATAL)
        self.assertFalse(r["ok"])
        states = {s["service"]: s["state"] for s in r["services"]}
        self.assertEqual(states, {"auth": "rolled back", "db": "failed", "web": "skipped"})
        db = next(s for s in r["services"] if s["service"] == "db")
        self.assertIn("orders table missing", db["validation"][0]["output"])
        self.assertIn("exit 7", r["failure"])
        for n in self.SERVICES:
            self.assertListingEqual(before[n], lbtest.listing(self.src[n], contents=True),
                                    n + ": live path must be exactly as before")
        self.assertEqual(sorted(os.listdir(self.live)), entries, "no staging or previous copies left")
        self.assertFalse(os.path.exists(os.path.join(outputs, "auth", "auth.dump")), "auth's output rolled back")
        p = self.lb.run(["recover", self.policy, "web", "--to-original", "--outputs", outputs],
                        expect=lbtest.EXIT_FATAL)
        self.assertIn("rolled back", p.stdout)
        self.assertOneLineError(p)

    def parallel_policy(self, left_fails=False):
        """left and right are independent, top needs both. Each of left/right waits
        in its validation until the other has started: run one after the other,
        both would time out, so passing proves they ran at the same time."""
        rdv = self.path("rendezvous")
        os.makedirs(rdv, exist_ok=True)

        def wait_for(me, other, fail=False):
            end = 'echo "left refuses" >&2; exit 3' if fail else "exit 0"
            return (f'touch "{rdv}/{me}"; i=0; while [ $i -lt 150 ]; do '
                    f'if [ -e "{rdv}/{other}" ]; then {end}; fi; sleep 0.1; i=$((i+1)); done; '
                    f'echo "{other} never ran alongside {me}" >&2; exit 1')
        checks = {"left": wait_for("left", "right", left_fails), "right": wait_for("right", "left"),
                  "top": "test -s data.txt"}
        deps = {"left": [], "right": [], "top": ["left", "right"]}
        text = textwrap.dedent(f"""\
            timezone = "UTC"
            [targets.hot]
            url = "{self.lb.repo}"
            password_file = "{self.path('pw')}"
            """)
        for n in ("left", "right", "top"):
            text += textwrap.dedent(f"""\
                [services.{n}]
                rpo = "1h"
                rto = "1h"
                schedule = "every 10m"
                sources = [ {{ type = "path", path = "{self.src_p[n]}" }} ]
                targets = ["hot"]
                depends_on = {json.dumps(deps[n])}
                drill = {{ every = "7d", validate = [{json.dumps(checks[n])}] }}
                """)
        path = self.path("parallel.toml")
        lbtest.write_file(path, text)
        return path

    def test_independent_services_recover_at_the_same_time(self):
        live = self.path("plive")
        self.src_p = {n: os.path.join(live, n) for n in ("left", "right", "top")}
        for n, d in self.src_p.items():
            lbtest.write_file(os.path.join(d, "data.txt"), f"{n} v1\n")
        policy = self.parallel_policy()
        self.lb.run(["run", policy])
        want = {n: lbtest.listing(d, contents=True) for n, d in self.src_p.items()}
        for d in self.src_p.values():
            lbtest.write_file(os.path.join(d, "data.txt"), "damaged\n")
        damaged = {n: lbtest.listing(d, contents=True) for n, d in self.src_p.items()}

        # left fails: right (same wave) is not swapped in, top never starts, nothing changes.
        r = self.lb.run_json(["recover", self.parallel_policy(left_fails=True), "top", "--to-original",
                              "--outputs", self.path("out")], expect=lbtest.EXIT_FATAL)
        states = {s["service"]: s["state"] for s in r["services"]}
        self.assertEqual(states, {"left": "failed", "right": "skipped", "top": "skipped"}, r)
        for n, d in self.src_p.items():
            self.assertListingEqual(damaged[n], lbtest.listing(d, contents=True), n + " must be untouched")
        self.assertEqual(sorted(os.listdir(live)), ["left", "right", "top"], "no staging left behind")

        for f in os.listdir(self.path("rendezvous")):
            os.remove(os.path.join(self.path("rendezvous"), f))
        r = self.lb.run_json(["recover", self.parallel_policy(), "top", "--to-original",
                              "--outputs", self.path("out")])
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["order"], ["left", "right", "top"])
        for n, d in self.src_p.items():
            self.assertEqual(lbtest.listing(d, contents=True), want[n], n)

    def test_dry_run_plan_and_usage(self):
        plan = self.recover("web", "--target", self.path("x"), "--dry-run")
        self.assertEqual(plan["order"], ["auth", "db", "web"])
        self.assertIsNone(plan["total_seconds"], "no drills yet: no estimate")
        for n in self.SERVICES:
            self.lb.run(["drill", self.policy, n, "--sandbox", self.path()])
        plan = self.recover("web", "--target", self.path("x"), "--dry-run")
        est = [s["estimate_seconds"] for s in plan["services"]]
        self.assertTrue(all(e is not None and e > 0 for e in est), plan)
        self.assertAlmostEqual(plan["total_seconds"], sum(est), places=6)
        self.assertEqual([s["done_after_seconds"] for s in plan["services"]],
                         [sum(est[:1]), sum(est[:2]), sum(est)])
        self.assertTrue(plan["within_rtos"])
        self.assertFalse(os.path.exists(self.path("x")), "dry run writes nothing")
        text = self.lb.run(["recover", self.policy, "web", "--target", self.path("x"), "--dry-run"]).stdout
        self.assertIn("within its rto", text)
        for bad in (["web"], ["web", "--to-original", "--target", self.path("y")], ["nosuch", "--target", "/tmp/z"]):
            p = self.lb.run(["recover", self.policy, *bad], expect=lbtest.EXIT_USAGE)
            self.assertOneLineError(p)


if __name__ == "__main__":
    lbtest.main()
