BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
}
AfterAll {
    foreach ($name in 'New-EntraApplicationKey', 'Remove-EntraApplicationKey') { Remove-Item -LiteralPath "Alias:$name" -Force -ErrorAction Ignore }
}

Describe 'Enable-EntraKeyRollAlias' {
    It 'exports none of Microsoft''s names by default' {
        (Get-Module EntraKeyRoll).ExportedAliases.Count | Should -Be 0
        Get-Alias -Name New-EntraApplicationKey -ErrorAction Ignore | Should -BeNullOrEmpty
        Get-Alias -Name Remove-EntraApplicationKey -ErrorAction Ignore | Should -BeNullOrEmpty
    }

    It 'makes New-/Remove-EntraApplicationKey run EntraKeyRoll''s commands when asked' {
        $aliases = @(Enable-EntraKeyRollAlias -PassThru)
        $aliases.Count | Should -Be 2
        (Get-Command New-EntraApplicationKey).ResolvedCommand.Name | Should -Be 'New-EntraMSApplicationKey'
        (Get-Command Remove-EntraApplicationKey).ResolvedCommand.Name | Should -Be 'Remove-EntraMSApplicationKey'
        (Get-Command New-EntraApplicationKey).ResolvedCommand.Module.Name | Should -Be 'EntraKeyRoll'
    }

    It 'removes the aliases again with the module' {
        Enable-EntraKeyRollAlias
        Remove-Module EntraKeyRoll -Force
        try {
            Get-Alias -Name New-EntraApplicationKey -ErrorAction Ignore | Should -BeNullOrEmpty
        }
        finally { Import-BuiltEntraKeyRoll }
    }
}
