@{
    RootModule             = 'EntraKeyRoll.psm1'
    ModuleVersion          = '0.1.0'
    GUID                   = '3f0e8c52-6a1d-4c7b-9d2e-5b8a4f61c0d7'
    Author                 = 'keyroll contributors'
    CompanyName            = 'keyroll'
    Copyright              = '(c) keyroll contributors. MIT OR Apache-2.0.'
    Description            = 'Add, remove, list and roll the certificates of Microsoft Entra applications and service principals through Graph addKey/removeKey, minting and checking the proof of possession locally. A small native library; no C# compiled at import.'
    CompatiblePSEditions   = @('Desktop', 'Core')
    PowerShellVersion      = '5.1'
    DotNetFrameworkVersion = '4.7.2'
    # The binding assembly (generated bindings and facade). The native library it calls is found per OS and
    # architecture by EntraKeyRoll.psm1 under runtimes/<rid>/native/, or at $env:ENTRAKEYROLL_NATIVE_PATH.
    RequiredAssemblies     = @('bin/Keyroll.dll')
    FunctionsToExport      = @(
        'Connect-EntraKeyRoll'
        'Disconnect-EntraKeyRoll'
        'Enable-EntraKeyRollAlias'
        'Get-EntraKeyRollInventory'
        'Get-EntraMSApplicationKey'
        'Invoke-EntraKeyRollover'
        'New-EntraKeyProof'
        'New-EntraMSApplicationKey'
        'New-EntraMSApplicationPassword'
        'Remove-EntraMSApplicationKey'
        'Remove-EntraMSApplicationPassword'
        'Test-EntraKeyProof'
    )
    CmdletsToExport        = @()
    VariablesToExport      = @()
    # None by default: an alias wins over a function, so exporting Microsoft's names would silently replace
    # Microsoft.Entra's commands. Enable-EntraKeyRollAlias opts in.
    AliasesToExport        = @()
    FormatsToProcess       = @('EntraKeyRoll.Format.ps1xml')
    PrivateData            = @{
        PSData = @{
            Tags         = @('Entra', 'AzureAD', 'Graph', 'Certificate', 'KeyCredential', 'addKey', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            ReleaseNotes = 'New-EntraMSApplicationKey as documented (the example runs as written), the Microsoft Graph session of Connect-MgGraph / Connect-Entra used when no Connect-EntraKeyRoll connection exists, Microsoft''s names opt-in (Enable-EntraKeyRollAlias).'
        }
    }
}
