# The packaged module as a whole: its manifest, what an import loads and exports, its help, and how it fails
# when the native library cannot be loaded.
BeforeAll {
    . "$PSScriptRoot/Common.ps1"
    Import-BuiltEntraKeyRoll
}

Describe 'the packaged EntraKeyRoll module' {
    It 'has a valid manifest (Test-ModuleManifest) for Desktop and Core, with a format file and no placeholders' {
        $m = Test-ModuleManifest -Path $env:ENTRAKEYROLL_MODULE -ErrorAction Stop
        $m.Name | Should -Be 'EntraKeyRoll'
        $m.CompatiblePSEditions | Should -Contain 'Desktop'
        $m.CompatiblePSEditions | Should -Contain 'Core'
        $m.PowerShellVersion | Should -Be ([version]'5.1')
        $data = Import-PowerShellDataFile -Path $env:ENTRAKEYROLL_MODULE
        $data.FormatsToProcess | Should -Be @('EntraKeyRoll.Format.ps1xml')
        Test-Path -LiteralPath (Join-Path (Split-Path $env:ENTRAKEYROLL_MODULE) 'EntraKeyRoll.Format.ps1xml') | Should -BeTrue
        (Get-Content -LiteralPath $env:ENTRAKEYROLL_MODULE -Raw) | Should -Not -Match 'example\.invalid'
        $data.AliasesToExport.Count | Should -Be 0
    }

    It 'exports exactly the manifest''s functions, and the binding assembly carries the module version' {
        $m = Get-Module EntraKeyRoll
        @($m.ExportedFunctions.Keys | Sort-Object) | Should -Be @((Import-PowerShellDataFile $env:ENTRAKEYROLL_MODULE).FunctionsToExport | Sort-Object)
        $assembly = [Keyroll.KeyrollNative].Assembly.GetName()
        $assembly.Version | Should -Be ([version]"$($m.Version).0")
        ([Keyroll.KeyrollNative]::Info() | ConvertFrom-Json).abi | Should -Be ([Keyroll.KeyrollNative]::ExpectedAbi)
        [Keyroll.KeyrollNative]::LoadedPath | Should -BeLike "$(Split-Path $env:ENTRAKEYROLL_MODULE)*"
    }

    It 'passes the library exactly the credential variables the library names, and nothing else' {
        $names = @([Keyroll.KeyrollNative]::CredentialEnvironmentVariables())
        $names | Should -Contain 'AZURE_CLIENT_CERTIFICATE_PATH'
        $names | Should -Contain 'IDENTITY_ENDPOINT'
        $saved = @{}
        foreach ($n in 'AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET') { $saved[$n] = [Environment]::GetEnvironmentVariable($n) }
        try {
            [Environment]::SetEnvironmentVariable('AZURE_TENANT_ID', 'contoso.example')
            [Environment]::SetEnvironmentVariable('AZURE_CLIENT_SECRET', 'not-for-the-library')
            $passed = & (Get-Module EntraKeyRoll) { Get-KrEnvironment }
        }
        finally {
            foreach ($n in $saved.Keys) { [Environment]::SetEnvironmentVariable($n, $saved[$n]) }
        }
        $passed['AZURE_TENANT_ID'] | Should -Be 'contoso.example'
        $passed.Contains('AZURE_CLIENT_SECRET') | Should -BeFalse
        foreach ($k in $passed.Keys) { $names | Should -Contain $k }
    }

    It 'compiles no C# at import: a fresh process loads only the module''s own assembly' {
        $script = "Import-Module '$($env:ENTRAKEYROLL_MODULE)'; [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.IsDynamic -or -not `$_.Location } | ForEach-Object { `$_.GetName().Name }"
        $dynamic = Invoke-KrTestChildShell $script
        $LASTEXITCODE | Should -Be 0
        # PowerShell's own dynamic assemblies are fine; an Add-Type would add one named after random text.
        @($dynamic | Where-Object { $_ -match '^[a-z0-9]{8}\.[a-z0-9]{3}$|^[a-z0-9]{8}$' }).Count | Should -Be 0
    }

    It 'shows the real cause when the native library cannot be loaded' {
        $bogus = Join-Path $TestDrive 'libkeyroll.so'
        Set-Content -LiteralPath $bogus -Value 'not a library'
        $script = "`$env:ENTRAKEYROLL_NATIVE_PATH = '$bogus'; try { Import-Module '$($env:ENTRAKEYROLL_MODULE)' -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId; `$_.Exception.Message }"
        $out = (Invoke-KrTestChildShell $script) -join "`n"
        $out | Should -Match ([regex]::Escape($bogus))
        $out | Should -Not -Match 'target of an invocation'
        $out | Should -Match 'ELF|invalid|header|cannot'
    }

    It 'names the missing native library and how to get one' {
        $missing = Join-Path $TestDrive 'nowhere/libkeyroll.so'
        $script = "`$env:ENTRAKEYROLL_NATIVE_PATH = '$missing'; try { Import-Module '$($env:ENTRAKEYROLL_MODULE)' -ErrorAction Stop } catch { `$_.Exception.Message }"
        $out = (Invoke-KrTestChildShell $script) -join "`n"
        $out | Should -Match 'not found'
        $out | Should -Match 'ENTRAKEYROLL_NATIVE_PATH'
    }

    It 'has help with examples for every exported command, and the documented example for New-EntraMSApplicationKey' {
        foreach ($name in (Get-Module EntraKeyRoll).ExportedFunctions.Keys) {
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty -Because $name
            @($help.Examples.Example).Count | Should -BeGreaterThan 0 -Because $name
        }
        Get-Help New-EntraMSApplicationKey -Examples | Out-String | Should -Match 'New-EntraMSApplicationKey @params'
        Get-Help New-EntraMSApplicationKey -Examples | Out-String | Should -Match "PasswordCredential = @\{ DisplayName = 'mypassword' \}"
    }
}
