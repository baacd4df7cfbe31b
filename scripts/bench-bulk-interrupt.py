#!/usr/bin/env python3
"""Crash and interrupt safety of a bulk `keyroll roll --plan` (add, verify, remove old): APPS applications
(default 200) rolled under a write budget tight enough that the run takes tens of seconds, interrupted at random
points, then resumed from its journal (`--resume`, possibly interrupted again and resumed again) until a run exits
0. Each trial has its own emulator (loopback, HTTPS) and its own applications.

An interruption is one of:
  int   SIGINT (Ctrl-C): no new row starts, the rows in flight finish, exit 130
  int2  SIGINT, then a second SIGINT 0.3 s later: abort at once, rows in flight cut short
  kill  SIGKILL: the process ends at once (as a crash or a power cut would end it)

Afterwards every application is read through the emulator's admin API (which sees every write) and counted:

  duplicates  the new certificate registered more than once
  losses      the new certificate missing, or the old one still there, after the successful resume
  lock-outs   neither certificate there: the application can no longer sign in
  journal     a plan row whose last journal line is not a success, that has no line at all, or whose line names
              a new key id the application does not hold under the new certificate

Every count must be zero; the script exits 1 when one is not. The seed is printed: the same seed (and the same
--trials) repeats the same interruptions (the points in time; what is in flight at them depends on the machine).

    scripts/bench-bulk-interrupt.py [--keyroll target/debug/keyroll] [--apps 200] [--budget 100/10]
        [--concurrency 16] [--trials 5] [--seed N] [--max-interruptions 3]
"""
import argparse
import base64
import hashlib
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

KINDS = ("int", "int2", "kill")


def api(base, ctx, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        return json.loads(r.read() or b"null")


def der_of(pem):
    return subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"], capture_output=True,
                          check=True).stdout


def journal_lines(path):
    """The journal's complete lines (a torn last line, what a kill can leave, is not one)."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"torn": line[:60]})
    return out


def trial(a, work, n, rng, first_kind):
    """One trial; returns its record (counts, runs, times)."""
    tdir = os.path.join(work, f"trial{n}")
    os.makedirs(tdir)
    ca = os.path.join(tdir, "ca.pem")
    emu = subprocess.Popen([os.environ.get("KEYROLL_EMULATOR_BIN") or os.path.join(os.path.dirname(a.keyroll), "keyroll-emulator"), "--listen", "127.0.0.1:0", "--write-budget", a.budget,
                            "--ca-file", ca], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = json.loads(emu.stdout.readline())["graph_url"]
        assert base.startswith("https://127.0.0.1:"), base
        ctx = ssl.create_default_context(cafile=ca)
        old_der, new_der = der_of(os.path.join(work, "old.pem")), der_of(os.path.join(work, "new.pem"))
        admin = api(base, ctx, "POST", "/_emulator/applications",
                    {"displayName": "bulk automation", "roles": ["Application.ReadWrite.All"]})
        token = api(base, ctx, "POST", "/_emulator/tokens", {"appId": admin["appId"]})["access_token"]
        ids = [api(base, ctx, "POST", "/_emulator/applications",
                   {"displayName": f"bulk {i}", "certificates": [base64.b64encode(old_der).decode()]})["id"]
               for i in range(a.apps)]
        plan = os.path.join(tdir, "plan.csv")
        with open(plan, "w") as f:
            f.write("objectId,cert,newCert,removeOld\n")
            for i in ids:
                f.write(f"{i},../old.pem,../new.pem,true\n")
        journal = plan + ".journal"
        env = dict(os.environ, KEYROLL_BENCH_TOKEN=token, NO_PROXY="127.0.0.1,localhost",
                   no_proxy="127.0.0.1,localhost")
        common = ["--concurrency", str(a.concurrency), "--tenant-id", admin["tenantId"], "--access-token-env",
                  "KEYROLL_BENCH_TOKEN", "--graph-url", base, "--login-url", base, "--ca-cert", ca]
        runs = []
        t_trial = time.monotonic()
        interruptions = 0
        while True:
            k = len(runs) + 1
            if k > a.max_interruptions + 3:
                return {"n": n, "runs": runs, "ids": len(ids), "gave_up": True}
            resume = k > 1 and os.path.exists(journal)
            cmd = [a.keyroll, "roll", "--plan", plan, "--results", os.path.join(tdir, f"results{k}.json"),
                   *common, *(["--resume", journal] if resume else [])]
            # The first run is always interrupted; later ones by chance, up to --max-interruptions in all.
            if k == 1:
                kind = first_kind
            elif interruptions < a.max_interruptions and rng.random() < 0.5:
                kind = rng.choice(KINDS)
            else:
                kind = None
            # Somewhere in the first run's expected span; a resumed run has less left to do.
            at = rng.uniform(1.0, a.expected * 0.9) if k == 1 else rng.uniform(0.5, a.expected * 0.5)
            lines_before = len(journal_lines(journal))
            err = open(os.path.join(tdir, f"run{k}.err"), "w")
            out = open(os.path.join(tdir, f"run{k}.out"), "w")
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
            sent_at = None
            if kind is not None:
                try:
                    p.wait(timeout=at)
                except subprocess.TimeoutExpired:
                    sent_at = time.monotonic()
                    if kind == "kill":
                        p.send_signal(signal.SIGKILL)
                    else:
                        p.send_signal(signal.SIGINT)
                        if kind == "int2":
                            time.sleep(0.3)
                            if p.poll() is None:
                                p.send_signal(signal.SIGINT)
                    interruptions += 1
            try:
                code = p.wait(timeout=a.timeout_s)
            except subprocess.TimeoutExpired:
                p.kill()
                code = p.wait()
                kind = (kind or "") + "+timeout"
            t1 = time.monotonic()
            err.close()
            out.close()
            lines_after = len(journal_lines(journal))
            runs.append({"k": k, "resume": resume, "kind": kind if sent_at is not None else None,
                         "at": round(sent_at - t0, 2) if sent_at else None, "code": code,
                         "secs": round(t1 - t0, 2),
                         "drain": round(t1 - sent_at, 2) if sent_at is not None else None,
                         "journaled": lines_after - lines_before})
            if code == 0:
                break
            if sent_at is None:
                # A run nobody interrupted that did not succeed: the counts below say what it left.
                break
        elapsed = time.monotonic() - t_trial

        old_t, new_t = hashlib.sha1(old_der).hexdigest(), hashlib.sha1(new_der).hexdigest()
        dup = lost = locked = 0
        new_key_of = {}
        for i in ids:
            keys = api(base, ctx, "GET", f"/_emulator/applications/{i}")["keyCredentials"]
            thumbs = [hashlib.sha1(base64.b64decode(c["key"])).hexdigest() for c in keys]
            n_new, n_old = thumbs.count(new_t), thumbs.count(old_t)
            dup += n_new > 1
            lost += n_new == 0 or n_old != 0
            locked += n_new == 0 and n_old == 0
            new_key_of[i] = {c["keyId"] for c, t in zip(keys, thumbs) if t == new_t}
        last = {}
        torn = 0
        for e in journal_lines(journal):
            if "torn" in e:
                torn += 1
                continue
            last[e["row"]] = e
        bad_journal = []
        for row, i in enumerate(ids, start=1):
            e = last.get(row)
            if e is None:
                bad_journal.append((row, "no line"))
            elif not e.get("success"):
                bad_journal.append((row, f"last line {e.get('state')}"))
            elif e.get("objectId") != i:
                bad_journal.append((row, f"objectId {e.get('objectId')} is not the plan's {i}"))
            elif e.get("newKeyId") not in new_key_of[i]:
                bad_journal.append((row, f"newKeyId {e.get('newKeyId')} not the application's new key"))
        # Rows an interruption left half-done (the new key added, the old one not yet removed) that the last run
        # found and finished: what shows that the interruptions cut rolls short, not only between them.
        half_done = 0
        last_results = os.path.join(tdir, f"results{len(runs)}.json")
        if os.path.exists(last_results):
            for r in json.load(open(last_results)):
                half_done += any(s["step"] == "add" and s["status"] == "skipped" for s in r.get("steps", []))
        return {"n": n, "runs": runs, "ids": len(ids), "elapsed": round(elapsed, 1), "dup": dup, "lost": lost,
                "locked": locked, "journal": len(bad_journal), "journal_detail": bad_journal[:5],
                "torn": torn, "half_done": half_done, "gave_up": runs[-1]["code"] != 0}
    finally:
        emu.terminate()
        try:
            emu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emu.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keyroll", default="target/debug/keyroll")
    ap.add_argument("--apps", type=int, default=200)
    ap.add_argument("--budget", default="100/10", help="the emulator's --write-budget WRITES/SECONDS")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    ap.add_argument("--max-interruptions", type=int, default=3, help="per trial")
    ap.add_argument("--timeout-s", type=int, default=600, help="longest one run may take")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (plans, journals, outputs)")
    a = ap.parse_args()
    a.keyroll = os.path.abspath(a.keyroll)
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
    rng = random.Random(seed)
    writes_per, window = a.budget.split("/")
    writes = a.apps * 2
    floor = ((writes - 1) // int(writes_per)) * float(window)
    a.expected = max(floor, 4.0)
    print(f"seed {seed} (repeat: --seed {seed} --trials {a.trials}); {a.apps} apps, add + verify + remove old, "
          f"budget {a.budget} ({writes} writes: at least {floor:.0f} s), concurrency {a.concurrency}")
    if floor < 20:
        print(f"note: the budget's floor is {floor:.0f} s, under 20 s: interruptions have little room")
    work = tempfile.mkdtemp(prefix="kr-bulk-int-")
    for name in ("old", "new"):
        subprocess.run([a.keyroll, "cert", "new", "--subject", f"bulk {name}", "--out",
                        os.path.join(work, f"{name}.pem")], capture_output=True, check=True)
    results = []
    for n in range(1, a.trials + 1):
        # Trials take turns at the first interruption's kind, so that every kind is in a run of three or more.
        r = trial(a, work, n, rng, KINDS[(n - 1) % len(KINDS)])
        results.append(r)
        runs = "; ".join(
            f"run {x['k']}{' --resume' if x['resume'] else ''}: "
            + (f"{x['kind']} at {x['at']} s, " if x["kind"] else "")
            + f"exit {x['code']} after {x['secs']} s"
            + (f" (drain {x['drain']} s)" if x["kind"] in ("int",) else "")
            + f", {x['journaled']} lines"
            for x in r["runs"])
        print(f"trial {n}: {r.get('elapsed', '?')} s in all; {runs}")
        print(f"         half-done rows the last run finished {r.get('half_done')}; duplicates {r.get('dup')}, losses {r.get('lost')}, lock-outs {r.get('locked')}, "
              f"journal rows not a success {r.get('journal')}{' ' + str(r['journal_detail']) if r.get('journal') else ''}"
              f"{', torn lines ' + str(r['torn']) if r.get('torn') else ''}{', NO RUN EXITED 0' if r['gave_up'] else ''}",
              flush=True)
    totals = {k: sum(r.get(k) or 0 for r in results) for k in ("dup", "lost", "locked", "journal")}
    gave_up = sum(1 for r in results if r["gave_up"])
    kinds = {k: sum(1 for r in results for x in r["runs"] if x["kind"] == k) for k in KINDS}
    times = sorted(r["elapsed"] for r in results if "elapsed" in r)
    if times:
        print(f"time per trial (all its runs): {' / '.join(f'{t:.1f}' for t in times)} s; the budget's floor for one "
              f"uninterrupted run {floor:.0f} s")
    print(f"{a.trials} trials, interruptions {kinds}: duplicates {totals['dup']}, losses {totals['lost']}, "
          f"lock-outs {totals['locked']}, journal rows not a success {totals['journal']}, "
          f"trials without a successful end {gave_up}")
    if a.keep:
        print(f"kept: {work}")
    else:
        subprocess.run(["rm", "-rf", work])
    return 0 if not any(totals.values()) and gave_up == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
