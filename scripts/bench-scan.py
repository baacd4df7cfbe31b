#!/usr/bin/env python3
"""Inventory scan benchmark: `keyroll scan` and `Get-EntraKeyRollInventory` against a local emulator seeded with
COUNT applications + COUNT service principals (`keyroll-emulator --seed-count`: a certificate on each object and a
client secret on each application, so 3 x COUNT credentials).

Each run gets a fresh emulator (seeded, then one scanner app holding Application.Read.All and its token through the
admin API): the read budget is per app+tenant and the keyCredentials `$select` limit is 150 collection reads per
minute per tenant and collection (docs/protocol.md §7), so a third 51-page scan within a minute on one emulator
would be throttled by the previous runs rather than by its own pacing.

Measured, RUNS times each, interleaved (CLI default budget, PowerShell default budget, CLI binding budget):
- `keyroll scan --output csv`, stdout a pipe read here: total time, time to the first data row, rows, and peak RSS
  (maximum resident set size from /usr/bin/time, else VmHWM polled from /proc).
- The same scan with a read budget that binds (--budget UNITS/SECS, default 1/1): the emulator keeps a sliding log
  of units and admits a read when fewer than UNITS were spent in the last SECS seconds (emulator/src/faults.rs), so
  with one unit per page ($select, $top=999) page k (1-based) is served no earlier than floor((k-1)/UNITS)*SECS
  seconds after the first, and P pages need at least floor((P-1)/UNITS)*SECS seconds. The figure is elapsed / that
  bound; the target is <= 1.2.
- `Get-EntraKeyRollInventory | Measure-Object` (or `| Export-Csv`, --pwsh-sink csv) in ONE pwsh process that
  imports the module once and connects (Connect-EntraKeyRoll -AccessToken) before each scan; only the scan is
  timed, Import-Module and Connect are reported apart. Peak RSS of pwsh per scan: VmHWM, reset before each scan
  (/proc/PID/clear_refs). The target is <= 1.3x the CLI's time.
Then: peak RSS of the CLI at SMALL_COUNT + SMALL_COUNT (flat RSS = streamed), and where PowerShell's time goes
(--profile-count objects): the same facade calls as the command, stage by stage, each over a whole scan: the
library's pages as JSON text only; + ConvertFrom-Json; + the command's per-item ConvertTo-KrInventoryItem; the
whole command into Measure-Object; and the same page loop building the same object inline (no per-item function).

  scripts/bench-scan.py --keyroll target/debug/keyroll --module target/package/EntraKeyRoll/0.1.0/EntraKeyRoll.psd1
  scripts/bench-scan.py --keyroll K --module M --count 5000 --runs 1          # quick
  scripts/bench-scan.py --keyroll K --no-pwsh                                 # CLI only
Standard library + httpx. Loopback only; every emulator is stopped at the end."""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

import httpx

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--keyroll", default=os.path.join(here, "target/debug/keyroll"))
p.add_argument("--module", help="EntraKeyRoll.psd1 of a packaged module (without it: CLI only)")
p.add_argument("--pwsh", default=os.path.join(here, ".tools/pwsh/pwsh"))
p.add_argument("--ps-module-path", default=os.path.join(here, ".tools/modules"))
p.add_argument("--count", type=int, default=50000)
p.add_argument("--small-count", type=int, default=5000)
p.add_argument("--profile-count", type=int, default=5000)
p.add_argument("--budget", default="1/1", help="binding read budget UNITS/SECS (one unit per page)")
p.add_argument("--runs", type=int, default=3)
p.add_argument("--pwsh-sink", choices=["measure", "csv"], default="measure")
p.add_argument("--no-pwsh", action="store_true")
p.add_argument("--no-profile", action="store_true")
p.add_argument("--keep", action="store_true", help="keep the work folder")
a = p.parse_args()
if a.no_pwsh:
    a.module = None
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
work = tempfile.mkdtemp(prefix="keyroll-bench-scan-")
time_bin = shutil.which("time", path="/usr/bin")
emulators = []


class Emulator:
    """One seeded emulator and a scanner app's token (Application.Read.All, via the admin API)."""

    def __init__(self, count, budget):
        self.dir = tempfile.mkdtemp(dir=work)
        self.ca = os.path.join(self.dir, "ca.pem")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([os.environ.get("KEYROLL_EMULATOR_BIN") or os.path.join(os.path.dirname(a.keyroll), "keyroll-emulator"), "--listen", "127.0.0.1:0", "--ca-file", self.ca,
                                      "--seed-count", str(count), "--read-budget", budget],
                                     stdout=subprocess.PIPE, stderr=open(os.path.join(self.dir, "emu.err"), "w"),
                                     text=True)
        emulators.append(self)
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"the emulator did not start: {open(os.path.join(self.dir, 'emu.err')).read()}")
        self.seed_s = time.monotonic() - t0
        self.graph = json.loads(line)["graph_url"]
        with httpx.Client(verify=self.ca, base_url=self.graph, timeout=60) as c:
            app = c.post("/_emulator/applications",
                         json={"displayName": "scanner", "roles": ["Application.Read.All"]})
            app.raise_for_status()
            tok = c.post("/_emulator/tokens", json={"appId": app.json()["appId"]})
            tok.raise_for_status()
            self.token = tok.json()["access_token"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def expected_pages(count):
    # count seeded objects + the scanner in each collection, 999 a page.
    return 2 * -(-(count + 1) // 999)


def bound_s(pages, budget):
    units, secs = budget.split("/")
    return ((pages - 1) // int(units)) * float(secs)


def cli_scan(emu):
    """One `keyroll scan --output csv`; stdout read here as it comes."""
    env = dict(os.environ, KEYROLL_BENCH_TOKEN=emu.token)
    rss_file = os.path.join(emu.dir, "time.out")
    cmd = [a.keyroll, "scan", "--output", "csv", "--graph-url", emu.graph, "--login-url", emu.graph,
           "--ca-cert", emu.ca, "--access-token-env", "KEYROLL_BENCH_TOKEN"]
    if time_bin:
        cmd = [time_bin, "-f", "%M", "-o", rss_file] + cmd
    err = open(os.path.join(emu.dir, "scan.err"), "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
    hwm = [0]
    if not time_bin:  # poll the process's own peak while it lives
        def poll():
            while proc.poll() is None:
                try:
                    with open(f"/proc/{proc.pid}/status") as f:
                        for l in f:
                            if l.startswith("VmHWM"):
                                hwm[0] = max(hwm[0], int(l.split()[1]))
                except OSError:
                    pass
                time.sleep(0.05)
        threading.Thread(target=poll, daemon=True).start()
    lines, first = 0, None
    while True:
        chunk = proc.stdout.read1(1 << 16)
        if not chunk:
            break
        lines += chunk.count(b"\n")
        if first is None and lines >= 2:
            first = time.monotonic() - t0
    code = proc.wait()
    total = time.monotonic() - t0
    rss_kb = int(open(rss_file).read().split()[-1]) if time_bin else hwm[0]
    summary = open(os.path.join(emu.dir, "scan.err")).read().strip().splitlines()
    return {"s": total, "first_s": first, "rows": lines - 1, "rss_mib": rss_kb / 1024, "code": code,
            "summary": summary[-1] if summary else ""}


class Pwsh:
    """One pwsh process that imports the module once and runs one scan per request line."""
    DRIVER = r"""
param([string] $ModulePath)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$sw = [Diagnostics.Stopwatch]::StartNew()
Import-Module $ModulePath
$importMs = $sw.Elapsed.TotalMilliseconds
function Out-Line($o) { [Console]::Out.WriteLine(($o | ConvertTo-Json -Compress -Depth 4)); [Console]::Out.Flush() }
if ($env:KR_BENCH_CSHARP) { Add-Type -TypeDefinition ([IO.File]::ReadAllText($env:KR_BENCH_CSHARP)) -ReferencedAssemblies System.Text.Json, System.Memory, System.Runtime, System.Collections, System.Linq, System.Management.Automation, netstandard }
Out-Line @{ event = 'ready'; importMs = $importMs; psVersion = "$($PSVersionTable.PSVersion)" }
while ($null -ne ($line = [Console]::In.ReadLine())) {
    $req = $line | ConvertFrom-Json
    $sw.Restart()
    Connect-EntraKeyRoll -AccessToken (ConvertTo-SecureString $req.token -AsPlainText -Force) -GraphUrl $req.graph -LoginUrl $req.graph -CaCertificate $req.ca | Out-Null
    $out = @{ event = 'done'; connectMs = $sw.Elapsed.TotalMilliseconds; items = 0 }
    [Console]::Out.WriteLine('{"event":"connected"}'); [Console]::Out.Flush()
    $null = [Console]::In.ReadLine()
    $sw.Restart()
    if ($req.mode -eq 'measure') { $out.items = (Get-EntraKeyRollInventory | Measure-Object).Count }
    elseif ($req.mode -eq 'csv') { Get-EntraKeyRollInventory | Export-Csv -Path $req.csv -NoTypeInformation }
    else {
        # Where the time goes: the command's own facade calls in the module's scope, one stage per scan.
        $out.items = & (Get-Module EntraKeyRoll) {
            param($stage)
            $json = ConvertTo-KrSettingsJson -Settings ([ordered]@{ types = 'All'; owners = $false; pageSize = 999 })
            $scan = Invoke-KrFacade -On $script:KrConnection.Connection -Method 'StartScan' -ArgumentList $json
            $n = 0
            try {
                while ($true) {
                    if ($stage -eq 'raw') {
                        $text = Invoke-KrFacade -On $scan -Method 'Next'
                        if ($text.Contains('"done":true')) { break }
                        $n++
                        continue
                    }
                    if ($stage -eq 'csharp') {
                        # The suggested fix: the page's JSON turned into the same objects in compiled code.
                        $items = [KrBench.ScanPage]::Items((Invoke-KrFacade -On $scan -Method 'Next'))
                        if ($null -eq $items) { break }
                        $n += ($items | Measure-Object).Count
                        continue
                    }
                    $page = Invoke-KrFacade -AsObject -On $scan -Method 'Next'
                    if ($page.done) { break }
                    $items = @($page.items)
                    if ($stage -eq 'json') { $n += $items.Count }
                    elseif ($stage -eq 'convert') { foreach ($i in $items) { $null = ConvertTo-KrInventoryItem -Item $i; $n++ } }
                    elseif ($stage -eq 'inline') {
                        foreach ($i in $items) {
                            $target = if ($i.objectType -eq 'servicePrincipal') { 'ServicePrincipal' } else { 'Application' }
                            $planned = $i.PSObject.Properties['cert']
                            $s = $i.startDateTime; $e = $i.endDateTime
                            $null = [pscustomobject]@{
                                PSTypeName = 'EntraKeyRoll.InventoryItem'; ObjectType = $target; ObjectId = $i.objectId
                                AppId = $i.appId; ObjectDisplayName = $i.objectDisplayName
                                CredentialType = $(if ($i.credentialType -eq 'secret') { 'Secret' } else { 'Certificate' })
                                KeyId = $i.keyId; KeyDisplayName = $i.displayName; Thumbprint = $i.thumbprint; Hint = $i.hint
                                StartDateTime = $(if ($s -is [datetime]) { $s.ToUniversalTime() } elseif ($s) { ConvertFrom-KrDate $s })
                                EndDateTime = $(if ($e -is [datetime]) { $e.ToUniversalTime() } elseif ($e) { ConvertFrom-KrDate $e })
                                DaysLeft = $i.daysLeft; Status = $i.status; Signs = [bool]$i.signs
                                LastValidCertificate = [bool]$i.lastValidCertificate
                                Owners = $(if ($null -ne $i.owners) { @($i.owners) -join '; ' }); TargetType = $target
                                CertificatePath = $(if ($planned) { $i.cert }); NewCertificatePath = $(if ($planned) { $i.newCert })
                            }
                            $n++
                        }
                    }
                }
            }
            finally { $scan.Dispose() }
            $n
        } $req.mode
    }
    $out.scanMs = $sw.Elapsed.TotalMilliseconds
    Out-Line $out
}
"""

    # The suggested fix, prototyped for the profile: one page's JSON (the facade's answer) to the command's objects
    # (same property names, values and PSTypeName as ConvertTo-KrInventoryItem) in compiled code; null when done.
    CSHARP = r"""
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Text.Json;
namespace KrBench {
public static class ScanPage {
    static string Str(JsonElement o, string n) {
        JsonElement v;
        return o.TryGetProperty(n, out v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }
    static object Date(JsonElement o, string n) {
        var t = Str(o, n);
        if (string.IsNullOrEmpty(t)) return null;
        return DateTimeOffset.Parse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).UtcDateTime;
    }
    public static PSObject[] Items(string page) {
        using (var doc = JsonDocument.Parse(page)) {
            var root = doc.RootElement;
            if (root.GetProperty("done").GetBoolean()) return null;
            var list = new List<PSObject>();
            foreach (var i in root.GetProperty("items").EnumerateArray()) {
                var target = Str(i, "objectType") == "servicePrincipal" ? "ServicePrincipal" : "Application";
                JsonElement v;
                bool planned = i.TryGetProperty("cert", out v);
                object days = null;
                if (i.TryGetProperty("daysLeft", out v) && v.ValueKind == JsonValueKind.Number) days = v.GetInt64();
                string owners = "";  // what ConvertTo-KrInventoryItem gives when owners were not read
                if (i.TryGetProperty("owners", out v) && v.ValueKind == JsonValueKind.Array) {
                    var parts = new List<string>();
                    foreach (var x in v.EnumerateArray()) parts.Add(x.ToString());
                    owners = string.Join("; ", parts);
                }
                var o = new PSObject();
                o.TypeNames.Insert(0, "EntraKeyRoll.InventoryItem");
                var p = o.Properties;
                p.Add(new PSNoteProperty("ObjectType", target));
                p.Add(new PSNoteProperty("ObjectId", Str(i, "objectId")));
                p.Add(new PSNoteProperty("AppId", Str(i, "appId")));
                p.Add(new PSNoteProperty("ObjectDisplayName", Str(i, "objectDisplayName")));
                p.Add(new PSNoteProperty("CredentialType", Str(i, "credentialType") == "secret" ? "Secret" : "Certificate"));
                p.Add(new PSNoteProperty("KeyId", Str(i, "keyId")));
                p.Add(new PSNoteProperty("KeyDisplayName", Str(i, "displayName")));
                p.Add(new PSNoteProperty("Thumbprint", Str(i, "thumbprint")));
                p.Add(new PSNoteProperty("Hint", Str(i, "hint")));
                p.Add(new PSNoteProperty("StartDateTime", Date(i, "startDateTime")));
                p.Add(new PSNoteProperty("EndDateTime", Date(i, "endDateTime")));
                p.Add(new PSNoteProperty("DaysLeft", days));
                p.Add(new PSNoteProperty("Status", Str(i, "status")));
                p.Add(new PSNoteProperty("Signs", i.TryGetProperty("signs", out v) && v.ValueKind == JsonValueKind.True));
                p.Add(new PSNoteProperty("LastValidCertificate", i.TryGetProperty("lastValidCertificate", out v) && v.ValueKind == JsonValueKind.True));
                p.Add(new PSNoteProperty("Owners", owners));
                p.Add(new PSNoteProperty("TargetType", target));
                p.Add(new PSNoteProperty("CertificatePath", planned ? Str(i, "cert") : ""));
                p.Add(new PSNoteProperty("NewCertificatePath", planned ? Str(i, "newCert") : ""));
                list.Add(o);
            }
            return list.ToArray();
        }
    }
}
}
"""

    def __init__(self):
        script = os.path.join(work, "driver.ps1")
        open(script, "w").write(self.DRIVER)
        open(os.path.join(work, "page.cs"), "w").write(self.CSHARP)
        env = dict(os.environ, PSModulePath=a.ps_module_path)
        if not a.no_profile:
            env["KR_BENCH_CSHARP"] = os.path.join(work, "page.cs")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([a.pwsh, "-NoProfile", "-NonInteractive", "-File", script,
                                      "-ModulePath", a.module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(work, "pwsh.err"), "w"), text=True, env=env)
        ready = self.read()
        self.start_s = time.monotonic() - t0
        self.import_ms = ready["importMs"]
        self.version = ready["psVersion"]

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"pwsh stopped: {open(os.path.join(work, 'pwsh.err')).read()}")
        return json.loads(line)

    def scan(self, emu, mode):
        req = {"token": emu.token, "graph": emu.graph, "ca": emu.ca, "mode": mode,
               "csv": os.path.join(emu.dir, "inventory.csv")}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        assert self.read()["event"] == "connected"
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        with open(f"/proc/{self.proc.pid}/status") as f:
            before = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        out = self.read()
        with open(f"/proc/{self.proc.pid}/status") as f:
            hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
        if mode == "csv":
            with open(req["csv"], "rb") as f:
                out["items"] = sum(1 for _ in f) - 1
        return {"s": out["scanMs"] / 1000, "connect_ms": out["connectMs"], "items": out["items"],
                "rss_mib": hwm / 1024, "rss_before_mib": before / 1024}

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def once(count, budget, fn):
    emu = Emulator(count, budget)
    try:
        r = fn(emu)
        r["seed_s"] = emu.seed_s
        return r
    finally:
        emu.stop()


med = statistics.median
fmt = lambda xs, f="{:.2f}": " / ".join(f.format(x) for x in xs)
want_rows = lambda n: 3 * n  # a certificate on each object, a secret on each application; the scanner has none
ok = True
ps = None
try:
    if a.module:
        ps = Pwsh()
        print(f"pwsh {ps.version}: process start + Import-Module {ps.start_s * 1000:.0f} ms "
              f"(Import-Module alone {ps.import_ms:.0f} ms)", flush=True)
    cli, cli_b, pw = [], [], []
    pages = expected_pages(a.count)
    for r in range(1, a.runs + 1):
        x = once(a.count, "3500/10", cli_scan)
        cli.append(x)
        print(f"run {r} CLI, default budget   : {x['s']:.2f} s, first row {x['first_s']:.2f} s, {x['rows']} rows, "
              f"peak RSS {x['rss_mib']:.1f} MiB, exit {x['code']} (seed {x['seed_s']:.1f} s) [{x['summary']}]",
              flush=True)
        if ps:
            y = once(a.count, "3500/10", lambda e: ps.scan(e, a.pwsh_sink))
            pw.append(y)
            print(f"run {r} pwsh ({a.pwsh_sink:7}), default : {y['s']:.2f} s, {y['items']} items, "
                  f"pwsh peak RSS {y['rss_mib']:.0f} MiB (RSS {y['rss_before_mib']:.0f} MiB before; connect {y['connect_ms']:.0f} ms)", flush=True)
        z = once(a.count, a.budget, cli_scan)
        cli_b.append(z)
        print(f"run {r} CLI, budget {a.budget:9}: {z['s']:.2f} s, first row {z['first_s']:.2f} s, {z['rows']} rows, "
              f"peak RSS {z['rss_mib']:.1f} MiB, exit {z['code']} [{z['summary']}]", flush=True)
    small = [once(a.small_count, "3500/10", cli_scan) for _ in range(a.runs)]
    for x in small:
        print(f"CLI {a.small_count} + {a.small_count}          : {x['s']:.2f} s, first row {x['first_s']:.2f} s, "
              f"{x['rows']} rows, peak RSS {x['rss_mib']:.1f} MiB", flush=True)
    stages = {}
    if ps and not a.no_profile:
        emu = Emulator(a.profile_count, "off")  # the 150/min keyCredentials limit is not applied with "off"
        try:
            for st in ["raw", "json", "convert", "inline", "csharp", "measure"] * 2:
                stages.setdefault(st, []).append(ps.scan(emu, st)["s"])
        finally:
            emu.stop()

    bound = bound_s(pages, a.budget)
    if bound <= 0:
        sys.exit(f"--budget {a.budget} does not bind {pages} pages: give fewer units or a longer window")
    print()
    print(f"objects                   : {a.count} applications + {a.count} service principals "
          f"({want_rows(a.count)} credentials, {pages} pages of 999)")
    print(f"CLI, default budget       : median {med([x['s'] for x in cli]):.2f} s ({fmt([x['s'] for x in cli])}); "
          f"first row median {med([x['first_s'] for x in cli]):.2f} s ({fmt([x['first_s'] for x in cli])})")
    print(f"CLI, budget {a.budget:13} : median {med([x['s'] for x in cli_b]):.2f} s ({fmt([x['s'] for x in cli_b])}) "
          f"against the bound {bound:.1f} s (floor(({pages}-1)/units) x secs): "
          f"{med([x['s'] for x in cli_b]) / bound:.3f}x ({fmt([x['s'] / bound for x in cli_b], '{:.3f}')}); "
          f"first row {fmt([x['first_s'] for x in cli_b])} s")
    print(f"CLI peak RSS              : {a.count}+{a.count}: {fmt([x['rss_mib'] for x in cli + cli_b], '{:.1f}')} MiB; "
          f"{a.small_count}+{a.small_count}: {fmt([x['rss_mib'] for x in small], '{:.1f}')} MiB")
    ok &= all(x["code"] == 0 and x["rows"] == want_rows(a.count) for x in cli + cli_b)
    ok &= all(x["code"] == 0 and x["rows"] == want_rows(a.small_count) for x in small)
    ok &= med([x["s"] for x in cli_b]) / bound <= 1.2
    if ps:
        c, q = med([x["s"] for x in cli]), med([x["s"] for x in pw])
        print(f"pwsh ({a.pwsh_sink}), default    : median {q:.2f} s ({fmt([x['s'] for x in pw])}) = {q / c:.2f}x the CLI's "
              f"{c:.2f} s (per run, interleaved: {fmt([y['s'] / x['s'] for x, y in zip(cli, pw)])}x); "
              f"pwsh peak RSS {fmt([x['rss_mib'] for x in pw], '{:.0f}')} MiB (before the scan: {fmt([x['rss_before_mib'] for x in pw], '{:.0f}')}); connect {fmt([x['connect_ms'] for x in pw], '{:.0f}')} ms; "
              f"process start + Import-Module {ps.start_s * 1000:.0f} ms (Import-Module {ps.import_ms:.0f} ms)")
        ok &= all(x["items"] == want_rows(a.count) for x in pw)
        ok &= q / c <= 1.3
        if stages:
            n = want_rows(a.profile_count)
            print(f"pwsh, where the time goes ({a.profile_count}+{a.profile_count}, {n} items; two passes each, the "
                  f"better one: the machine is shared):")
            names = {"raw": "library pages as JSON text (facade only)", "json": "+ ConvertFrom-Json of each page",
                     "convert": "+ ConvertTo-KrInventoryItem per item", "inline": "the same object built inline",
                     "csharp": "pages to the same objects in C#, | Measure-Object",
                     "measure": "the command | Measure-Object"}
            base = min(stages["raw"])
            for st in ["raw", "json", "convert", "inline", "csharp", "measure"]:
                s = min(stages[st])
                print(f"  {names[st]:50}: {s:6.2f} s ({fmt(stages[st])}); "
                      f"{(s - base) / n * 1e6:6.1f} us/item over the facade")
    if not ok:
        print("FAIL: a scan failed or missed rows, or a figure is over its target (1.2x the bound, 1.3x the CLI)")
finally:
    if ps:
        ps.close()
    for e in emulators:
        e.stop()
    if a.keep:
        print(f"kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
sys.exit(0 if ok else 1)
