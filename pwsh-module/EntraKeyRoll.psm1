# EntraKeyRoll: advanced functions over the keyroll binding assembly (bin/Keyroll.dll, loaded through the
# manifest's RequiredAssemblies) and the native library keyroll. Nothing is compiled at import: the import loads
# one managed assembly and one native library, found per OS and architecture below, and checks that the two come
# from the same build (the library's ABI).

Set-StrictMode -Version 3.0

#region functions
# In the source tree the function files are dot-sourced; `cargo xtask package` replaces this region with their
# text so that the packaged module is one script file.
foreach ($file in @(Get-ChildItem -Path "$PSScriptRoot/Private/*.ps1", "$PSScriptRoot/Public/*.ps1" -ErrorAction Ignore)) {
    . $file.FullName
}
#endregion functions

# The connection made by Connect-EntraKeyRoll, and the certificate it authenticates with (which also mints
# proofs when -Proof is omitted).
$script:KrConnection = $null

# Microsoft's current names for New-/Remove-EntraMSApplicationKey, made aliases only by Enable-EntraKeyRollAlias.
$script:KrMicrosoftAliases = [ordered]@{
    'New-EntraApplicationKey'    = 'New-EntraMSApplicationKey'
    'Remove-EntraApplicationKey' = 'Remove-EntraMSApplicationKey'
}

$script:KrNativePath = Resolve-KrNativePath -ModuleRoot $PSScriptRoot
Write-Verbose "EntraKeyRoll: native library $script:KrNativePath"
Initialize-KrNative -Path $script:KrNativePath

$ExecutionContext.SessionState.Module.OnRemove = {
    if ($script:KrConnection) {
        Close-KrConnection -Connection $script:KrConnection
        $script:KrConnection = $null
    }
    foreach ($pair in $script:KrMicrosoftAliases.GetEnumerator()) {
        $alias = Get-Alias -Name $pair.Key -Scope Global -ErrorAction Ignore
        if ($alias -and $alias.Definition -eq $pair.Value) { Remove-Item -LiteralPath "Alias:$($pair.Key)" -Force -ErrorAction Ignore }
    }
}

# What is exported is the manifest's FunctionsToExport, the one export list: a script module that names no
# exports itself offers all its functions, and the manifest keeps the public ones.
