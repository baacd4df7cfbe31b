# EntraKeyRoll: advanced functions over the keyroll binding assembly (bin/Keyroll.dll, loaded through the
# manifest's RequiredAssemblies) and the native library keyroll. Nothing is compiled at import: the import loads
# one managed assembly and one native library, found per OS and architecture below.

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

$script:KrNativePath = Resolve-KrNativePath -ModuleRoot $PSScriptRoot
Write-Verbose "EntraKeyRoll: native library $script:KrNativePath"
Initialize-KrNative -Path $script:KrNativePath

Set-Alias -Name New-EntraApplicationKey -Value New-EntraMSApplicationKey
Set-Alias -Name Remove-EntraApplicationKey -Value Remove-EntraMSApplicationKey

$ExecutionContext.SessionState.Module.OnRemove = {
    if ($script:KrConnection) {
        Close-KrConnection -Connection $script:KrConnection
        $script:KrConnection = $null
    }
}

Export-ModuleMember -Function @(
    'Connect-EntraKeyRoll'
    'Disconnect-EntraKeyRoll'
    'Get-EntraMSApplicationKey'
    'Invoke-EntraKeyRollover'
    'New-EntraKeyProof'
    'New-EntraMSApplicationKey'
    'Remove-EntraMSApplicationKey'
    'Test-EntraKeyProof'
) -Alias @('New-EntraApplicationKey', 'Remove-EntraApplicationKey')
