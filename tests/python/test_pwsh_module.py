"""The PowerShell module EntraKeyRoll, proven without PowerShell: every file parses with a real PowerShell grammar,
each exported function's param() block matches the contract below, and `cargo xtask package` lays out a module
whose manifest, exports, assembly and native library are right."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import pwsh_parse as pp

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "pwsh-module"
SOURCES = sorted([*MODULE.rglob("*.ps1"), *MODULE.rglob("*.psm1"), *MODULE.rglob("*.psd1"), ROOT / "build.ps1"])

# The contract of issues 6 and 10, as data. For each parameter: type, the parameter sets it is Mandatory in ("*" = all
# sets it belongs to), the sets it belongs to (None = all), pipeline flags and aliases.
P = dict
CONTRACT = {
    "New-EntraMSApplicationKey": P(
        should_process=True, confirm_impact="Medium",
        params={
            "ObjectId": P(type="string", mandatory=True, sets=["ObjectId"], by_value=True, by_property=True, aliases=["Id", "ApplicationId"]),
            "AppId": P(type="string", mandatory=True, sets=["AppId"]),
            "TargetType": P(type="string", validate_set=["Application", "ServicePrincipal", "AgentIdentityBlueprint"]),
            # Not mandatory since -BodyParameter (Add-MgApplicationKey's habit) may carry it instead; one of them is
            # demanded when the command runs, with the fix said.
            "KeyCredential": P(type="object"),
            "PasswordCredential": P(type="object"),
            "Proof": P(type="string"),
            "BodyParameter": P(type="object"),
            "Repair": P(type="switch"),
        }),
    "Remove-EntraMSApplicationKey": P(
        should_process=True, confirm_impact="Medium",
        params={
            "ObjectId": P(type="string", mandatory=True, sets=["ObjectId"], by_value=True, by_property=True, aliases=["Id", "ApplicationId"]),
            "AppId": P(type="string", mandatory=True, sets=["AppId"]),
            "TargetType": P(type="string", by_property=True, validate_set=["Application", "ServicePrincipal", "AgentIdentityBlueprint"]),
            "KeyId": P(type="string", mandatory=True, by_property=True),
            "Proof": P(type="string"),
            "Force": P(type="switch"),
            "PassThru": P(type="switch"),
        }),
    "New-EntraMSApplicationPassword": P(
        should_process=True, confirm_impact="Medium",
        params={
            "ObjectId": P(type="string", mandatory=True, sets=["ObjectId"], by_value=True, by_property=True, aliases=["Id", "ApplicationId"]),
            "AppId": P(type="string", mandatory=True, sets=["AppId"]),
            "TargetType": P(type="string", by_property=True, validate_set=["Application", "ServicePrincipal"]),
            "PasswordCredential": P(type="object"),
        }),
    "Remove-EntraMSApplicationPassword": P(
        should_process=True, confirm_impact="Medium",
        params={
            "ObjectId": P(type="string", mandatory=True, sets=["ObjectId"], by_value=True, by_property=True, aliases=["Id", "ApplicationId"]),
            "AppId": P(type="string", mandatory=True, sets=["AppId"]),
            "TargetType": P(type="string", by_property=True, validate_set=["Application", "ServicePrincipal"]),
            "KeyId": P(type="string", mandatory=True, by_property=True),
            "PassThru": P(type="switch"),
        }),
    "Get-EntraMSApplicationKey": P(
        should_process=False,
        params={
            "ObjectId": P(type="string", mandatory=True, sets=["ObjectId"], by_value=True, by_property=True, aliases=["Id", "ApplicationId"]),
            "AppId": P(type="string", mandatory=True, sets=["AppId"]),
            "TargetType": P(type="string", validate_set=["Application", "ServicePrincipal", "AgentIdentityBlueprint"]),
        }),
    "New-EntraKeyProof": P(
        should_process=False,
        params={
            "Certificate": P(type="System.Security.Cryptography.X509Certificates.X509Certificate2", mandatory=True, sets=["Certificate"]),
            "CertificatePath": P(type="string", mandatory=True, sets=["Path"]),
            "CertificatePassword": P(type="System.Security.SecureString", sets=["Path"]),
            "CertificateThumbprint": P(type="string", mandatory=True, sets=["Thumbprint"]),
            "ObjectId": P(type="string", mandatory=True, by_value=True, by_property=True, aliases=["Id"]),
            "Lifetime": P(type="int"),
        }),
    "Test-EntraKeyProof": P(
        should_process=False,
        params={
            "Proof": P(type="string", mandatory=True, by_value=True),
            "ObjectId": P(type="string", aliases=["Id"]),
            "AppId": P(type="string"),
            "Certificate": P(type="System.Security.Cryptography.X509Certificates.X509Certificate2[]", sets=["Certificate"]),
            "CertificatePath": P(type="string[]", mandatory=True, sets=["Path"]),
            "Quiet": P(type="switch"),
        }),
    "Invoke-EntraKeyRollover": P(
        should_process=True, confirm_impact="Medium",
        params={
            # No parameter sets: rows arrive from the pipeline by property name (Import-Csv plans, inventory
            # items), and a row names its object by ObjectId or AppId; strings and GUIDs piped by value land in
            # the hidden InputObject as object ids.
            "ObjectId": P(type="string", by_property=True, aliases=["Id", "ApplicationId"]),
            "AppId": P(type="string", by_property=True),
            "InputObject": P(type="object", by_value=True),
            "TargetType": P(type="string", by_property=True, validate_set=["Application", "ServicePrincipal", "AgentIdentityBlueprint"]),
            "Certificate": P(type="System.Security.Cryptography.X509Certificates.X509Certificate2"),
            "CertificatePath": P(type="string", by_property=True, aliases=["Cert"]),
            "CertificatePassword": P(type="System.Security.SecureString"),
            "NewCertificate": P(type="System.Security.Cryptography.X509Certificates.X509Certificate2"),
            "NewCertificatePath": P(type="string", by_property=True, aliases=["NewCert"]),
            "NewCertificatePassword": P(type="System.Security.SecureString"),
            "KeyVaultCertificateId": P(type="string", by_property=True),
            "NewKeyVaultCertificateId": P(type="string", by_property=True),
            "CreateInKeyVault": P(type="switch"),
            "NewCertificateSubject": P(type="string"),
            "NewCertificateKeySize": P(type="int", validate_set=[2048, 3072, 4096]),
            "NewCertificateValidityMonths": P(type="int"),
            "KeyVaultAccessToken": P(type="System.Security.SecureString"),
            "RemoveOld": P(type="switch"),
            "DisplayName": P(type="string", by_property=True),
            "TenantId": P(type="string", by_property=True),
            "ClientId": P(type="string", by_property=True),
            "VerifyTimeout": P(type="int"),
            "ThrottleLimit": P(type="int"),
            "JournalPath": P(type="string"),
            "Resume": P(type="switch"),
        }),
    "Get-EntraKeyRollInventory": P(
        should_process=False,
        params={
            "ExpiringWithin": P(type="int"),
            "Type": P(type="string", validate_set=["All", "Application", "ServicePrincipal"]),
            "CredentialType": P(type="string", validate_set=["All", "Certificate", "Secret"]),
            "IncludeOwners": P(type="switch"),
            "CertificatePathRule": P(type="string"),
            "NewCertificatePathRule": P(type="string"),
            "PageSize": P(type="int"),
        }),
    "Connect-EntraKeyRoll": P(
        should_process=False, implicit_default="Environment",
        params={
            "AccessToken": P(type="System.Security.SecureString", mandatory=True, sets=["AccessToken"]),
            "UseDeviceCode": P(type="switch", mandatory=True, sets=["DeviceCode"], aliases=["UseDeviceAuthentication", "DeviceCode", "DeviceAuth"]),
            "Scopes": P(type="string[]", mandatory=["Delegated"], sets=["Delegated", "DeviceCode"]),
            "TenantId": P(type="string", mandatory=["Certificate", "CertificatePath", "CertificateThumbprint", "KeyVault"], sets=["Certificate", "CertificatePath", "CertificateThumbprint", "KeyVault", "Delegated", "DeviceCode"], aliases=["Tenant"]),
            "ClientId": P(type="string", mandatory=["Certificate", "CertificatePath", "CertificateThumbprint", "KeyVault"], sets=["Certificate", "CertificatePath", "CertificateThumbprint", "KeyVault", "Identity", "Delegated", "DeviceCode"], aliases=["AppId"]),
            "Certificate": P(type="System.Security.Cryptography.X509Certificates.X509Certificate2", mandatory=True, sets=["Certificate"]),
            "CertificatePath": P(type="string", mandatory=True, sets=["CertificatePath"]),
            "CertificatePassword": P(type="System.Security.SecureString", sets=["CertificatePath"]),
            "CertificateThumbprint": P(type="string", mandatory=True, sets=["CertificateThumbprint"]),
            "KeyVaultCertificateId": P(type="string", mandatory=True, sets=["KeyVault"]),
            "KeyVaultAccessToken": P(type="System.Security.SecureString", sets=["KeyVault"]),
            "Identity": P(type="switch", mandatory=True, sets=["Identity"], aliases=["ManagedIdentity"]),
            "Environment": P(type="string"),
            "GraphUrl": P(type="string"),
            "LoginUrl": P(type="string"),
            "CaCertificate": P(type="string"),
            "Proxy": P(type="string"),
            "ApiVersion": P(type="string", validate_set=["v1.0", "beta"]),
        }),
    "Disconnect-EntraKeyRoll": P(should_process=True, confirm_impact="Low", params={"KeepSignIn": P(type="switch")}),
    "Enable-EntraKeyRollAlias": P(should_process=False, params={"PassThru": P(type="switch")}),
}

# Parameter names and types that must never carry a secret as plain text.
SECRET_NAMES = ("Password", "AccessToken", "Secret")


def public_functions() -> dict[str, pp.Function]:
    out = {}
    for f in sorted((MODULE / "Public").glob("*.ps1")):
        fns = pp.functions(pp.parse(f).root_node)
        assert [x.name for x in fns] == [f.stem], f"{f.name} must define exactly the function {f.stem}"
        out[f.stem] = fns[0]
    return out


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_powershell_file_parses_without_error_nodes(path: Path):
    tree = pp.parse(path)
    errors = pp.error_nodes(tree.root_node)
    where = [f"line {n.start_point[0] + 1}: {pp.text(n)[:60]!r}" for n in errors[:5]]
    assert not tree.root_node.has_error and not errors, f"{path}: {where}"


def test_exports_match_the_contract_and_the_defined_functions():
    m = pp.manifest(MODULE / "EntraKeyRoll.psd1")
    assert sorted(m["FunctionsToExport"]) == sorted(CONTRACT)
    assert sorted(public_functions()) == sorted(CONTRACT)
    aliases = sorted(a for c in CONTRACT.values() for a in c.get("aliases", []))
    assert sorted(m["AliasesToExport"]) == aliases
    assert not any("*" in n for n in [*m["FunctionsToExport"], *m["AliasesToExport"]])
    psm1 = (MODULE / "EntraKeyRoll.psm1").read_text()
    # One export list: the manifest's. The script module does not repeat it.
    assert "Export-ModuleMember" not in psm1, "EntraKeyRoll.psm1 keeps a second export list"
    for fn, c in CONTRACT.items():
        for a in c.get("aliases", []):
            assert f"Set-Alias -Name {a} -Value {fn}" in psm1


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_param_block_matches_the_contract(name: str):
    f = public_functions()[name]
    want = CONTRACT[name]
    assert f.cmdlet_binding is not None, f"{name} is not an advanced function"
    b = f.cmdlet_binding.named
    assert bool(b.get("supportsshouldprocess")) == want["should_process"], name
    if want["should_process"]:
        assert b.get("confirmimpact") == want["confirm_impact"], name
    got = {p.name: p for p in f.parameters}
    assert list(got) == list(want["params"]), f"{name}: parameters {list(got)}"
    declared_sets = {a.named["parametersetname"] for p in f.parameters for a in p.parameter_attributes() if "parametersetname" in a.named}
    default_set = b.get("defaultparametersetname")
    if declared_sets and default_set != want.get("implicit_default"):
        assert default_set in declared_sets, f"{name}: default set {default_set} not among {declared_sets}"
    for pname, spec in want["params"].items():
        p = got[pname]
        where = f"{name} -{pname}"
        assert (p.type or "object").lower() == spec["type"].lower(), f"{where}: type {p.type}"
        attrs = p.parameter_attributes()
        assert attrs, f"{where}: no [Parameter()]"
        sets = {a.named.get("parametersetname", "*"): a.named for a in attrs}
        want_sets = spec.get("sets")
        assert sorted(sets) == sorted(want_sets or ["*"]), f"{where}: sets {sorted(sets)}"
        mand = spec.get("mandatory", False)
        for s, named in sets.items():
            is_m = bool(named.get("mandatory", False))
            expect = (s in mand) if isinstance(mand, list) else mand
            assert is_m == expect, f"{where}: Mandatory in set {s} is {is_m}"
            assert bool(named.get("valuefrompipeline")) == spec.get("by_value", False), f"{where}: ValueFromPipeline"
            assert bool(named.get("valuefrompipelinebypropertyname")) == spec.get("by_property", False), f"{where}: ByPropertyName"
        assert p.aliases() == spec.get("aliases", []), f"{where}: aliases {p.aliases()}"
        if "validate_set" in spec:
            vs = [a for a in p.attributes if a.name.lower() == "validateset"]
            assert vs and vs[0].positional == spec["validate_set"], f"{where}: ValidateSet"
        if any(s in pname for s in SECRET_NAMES) and pname != "PasswordCredential":
            assert p.type == "System.Security.SecureString", f"{where}: secrets are SecureString"


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_comment_based_help_with_examples_and_every_parameter(name: str):
    f = public_functions()[name]
    h = f.help
    assert ".SYNOPSIS" in h and ".DESCRIPTION" in h and ".EXAMPLE" in h, f"{name}: help"
    for p in f.parameters:
        assert f".PARAMETER {p.name}" in h, f"{name}: no help for -{p.name}"


def test_no_csharp_compiled_and_no_secret_in_verbose():
    for path in SOURCES:
        src = path.read_text()
        # The Pester helpers compile a certificate validator for the emulator's admin API; the module compiles nothing.
        if MODULE / "tests" in path.parents:
            continue
        assert "Add-Type" not in src or "-Path" in src.split("Add-Type", 1)[1].split("\n", 1)[0], f"{path}: Add-Type"
        assert "-TypeDefinition" not in src and "-MemberDefinition" not in src and "CSharpCodeProvider" not in src, path
        for line in src.splitlines():
            if "Write-Verbose" in line or "Write-Host" in line:
                for secret in ("$plain", "$Password", "$AccessToken", "$CertificatePassword", "$Proof\"", "$json"):
                    assert secret not in line, f"{path}: verbose output may carry a secret: {line.strip()}"


def test_manifest_fields():
    m = pp.manifest(MODULE / "EntraKeyRoll.psd1")
    assert m["CompatiblePSEditions"] == ["Desktop", "Core"]
    assert m["PowerShellVersion"] == "5.1"
    assert m["DotNetFrameworkVersion"] == "4.7.2"
    assert m["RootModule"] == "EntraKeyRoll.psm1"
    assert m["RequiredAssemblies"] == ["bin/Keyroll.dll"]
    assert m["CmdletsToExport"] == [] and m["VariablesToExport"] == []


# ----------------------------------------------------------------------------------------------------------
# Packaging: `cargo xtask package` (debug profile: the suite has built it already).

def rid() -> str:
    import platform
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    system = {"linux": "linux", "darwin": "osx", "windows": "win"}[platform.system().lower()]
    return f"{system}-{machine}"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    if not (ROOT / "ffi/csharp").is_dir():
        pytest.fail("ffi/csharp (the C# facade) is missing: the module cannot be packaged")
    out = tmp_path_factory.mktemp("out")
    r = subprocess.run(["cargo", "xtask", "package", "--profile", "debug", "--framework", "net472", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-4000:]
    dest = Path(r.stdout.strip().splitlines()[-1])
    assert dest.parent.name == "EntraKeyRoll" and dest.parent.parent == out
    return dest


def test_package_layout_and_manifest(packaged: Path):
    src = pp.manifest(MODULE / "EntraKeyRoll.psd1")
    m = pp.manifest(packaged / "EntraKeyRoll.psd1")
    assert m["ModuleVersion"] == packaged.name
    for k in ("CompatiblePSEditions", "PowerShellVersion", "DotNetFrameworkVersion", "FunctionsToExport", "AliasesToExport", "RequiredAssemblies"):
        assert m[k] == src[k], k
    psm1 = packaged / "EntraKeyRoll.psm1"
    tree = pp.parse(psm1)
    assert not tree.root_node.has_error
    defined = {f.name for f in pp.functions(tree.root_node)}
    exported = set(m["FunctionsToExport"])
    assert exported <= defined
    assert {n for n in defined - exported if "-Kr" not in n} == set(), "public-looking functions not exported"
    assert "Get-ChildItem" not in psm1.read_text().split("#endregion functions")[0] if "#endregion functions" in psm1.read_text() else True
    for a in m["RequiredAssemblies"]:
        assert (packaged / a).is_file(), a
    files = sorted(str(p.relative_to(packaged)) for p in packaged.rglob("*") if p.is_file())
    assert f"runtimes/{rid()}/native/libkeyroll.so" in files, files


def test_packaged_native_library_loads(packaged: Path):
    lib = packaged / f"runtimes/{rid()}/native/libkeyroll.so"
    ldd = subprocess.run(["ldd", str(lib)], capture_output=True, text=True)
    assert "not found" not in ldd.stdout, ldd.stdout
    handle = ctypes.CDLL(str(lib))
    assert hasattr(handle, "keyroll_info") and hasattr(handle, "keyroll_proof_mint")


def test_packaged_assembly_calls_the_packaged_native_library(packaged: Path, tmp_path: Path):
    """A small Mono program loads the packaged assembly, points it at the packaged native library and calls it."""
    if not shutil.which("mcs") or not shutil.which("mono"):
        pytest.fail("mono-complete is required (scripts/setup.sh installs it)")
    program = tmp_path / "Probe.cs"
    program.write_text(
        """using System; using System.Reflection;
class Probe { static int Main(string[] a) {
  var asm = Assembly.LoadFrom(a[0]);
  var native = asm.GetType("Keyroll.KeyrollNative", true);
  native.GetMethod("Load").Invoke(null, new object[] { a[1] });
  var info = native.GetMethod("Info");
  Console.WriteLine(info != null ? info.Invoke(null, null) : "loaded");
  return 0; } }
""")
    exe = tmp_path / "Probe.exe"
    subprocess.run(["mcs", "-nologo", f"-out:{exe}", str(program)], check=True)
    lib = packaged / f"runtimes/{rid()}/native/libkeyroll.so"
    # Mono on Linux resolves DllImport("keyroll") through the loader's search path only (KeyrollNative.Load's
    # resolver is for .NET Core, LoadLibrary for Windows), so the packaged folder goes on LD_LIBRARY_PATH here.
    env = dict(os.environ, LD_LIBRARY_PATH=str(lib.parent))
    r = subprocess.run(["mono", str(exe), str(packaged / "bin/Keyroll.dll"), str(lib)], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def test_facade_suite_runs_against_the_packaged_module(packaged: Path):
    """The C# facade tests of the native library (scripts/test.d/ffi-csharp.sh) against the packaged copy."""
    if not shutil.which("mono"):
        pytest.fail("mono-complete is required (scripts/setup.sh installs it)")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, KEYROLL_PACKAGED_MODULE=str(packaged))
    r = subprocess.run(["bash", str(root / "scripts/test.d/ffi-csharp.sh")], capture_output=True, text=True, timeout=600, env=env, cwd=root)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "testing the packaged module" in r.stderr
