function Enable-EntraKeyRollAlias {
    <#
    .SYNOPSIS
    Makes Microsoft's current command names, New-EntraApplicationKey and Remove-EntraApplicationKey, run
    EntraKeyRoll's New-/Remove-EntraMSApplicationKey in this session.

    .DESCRIPTION
    EntraKeyRoll does not export these names by default: in PowerShell an alias wins over a function, so importing
    the module would silently replace Microsoft.Entra's own commands of the same names in every session that loads
    both. Scripts written for Microsoft.Entra (New-EntraApplicationKey -ApplicationId ...) can opt in with this
    command; the aliases are created in the global scope and removed again when EntraKeyRoll is removed.

    .PARAMETER PassThru
    Return the aliases.

    .EXAMPLE
    Import-Module EntraKeyRoll
    Enable-EntraKeyRollAlias
    New-EntraApplicationKey -ApplicationId $objectId -KeyCredential @{ Key = $der } -Proof $proof

    .OUTPUTS
    None, or System.Management.Automation.AliasInfo with -PassThru.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.AliasInfo])]
    param([Parameter()] [switch] $PassThru)
    foreach ($pair in $script:KrMicrosoftAliases.GetEnumerator()) {
        Set-Alias -Name $pair.Key -Value $pair.Value -Scope Global -Force
        Write-Verbose "$($pair.Key) now runs EntraKeyRoll's $($pair.Value)"
        if ($PassThru) { Get-Alias -Name $pair.Key -Scope Global }
    }
}
