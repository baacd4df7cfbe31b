<#
.SYNOPSIS
Builds the PowerShell module EntraKeyRoll: the native library, the binding assembly and the module folder.

.DESCRIPTION
A thin front for `cargo xtask package`, where the packaging logic lives (and is tested). Tasks:
  Package  build the native library for -Target (default: this machine) and the binding assembly
           (netstandard2.0 with the .NET SDK when present, else .NET Framework 4.7.2 with Mono's mcs), and lay
           out out/EntraKeyRoll/<version>/
  Test     run the Pester tests in pwsh-module/tests against the packaged module (needs Pester 5 and keyroll)
  Clean    remove out/EntraKeyRoll

.EXAMPLE
./build.ps1

.EXAMPLE
./build.ps1 -Task Package -Target x86_64-pc-windows-msvc, aarch64-pc-windows-msvc -Framework netstandard2.0

.EXAMPLE
./build.ps1 -Task Package, Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Package', 'Test', 'Clean')]
    [string[]] $Task = @('Package'),

    [string[]] $Target = @(),

    [ValidateSet('auto', 'net472', 'netstandard2.0')]
    [string] $Framework = 'auto',

    [ValidateSet('release', 'debug')]
    [string] $Configuration = 'release',

    [string] $OutputPath = (Join-Path $PSScriptRoot 'out')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

function Invoke-Package {
    $arguments = @('xtask', 'package', '--framework', $Framework, '--profile', $Configuration, '--out', $OutputPath)
    foreach ($t in $Target) { $arguments += @('--target', $t) }
    Write-Host "cargo $($arguments -join ' ')"
    & cargo @arguments
    if ($LASTEXITCODE -ne 0) { throw "cargo xtask package failed (exit $LASTEXITCODE)" }
}

function Invoke-Test {
    $module = Get-ChildItem -Path (Join-Path $OutputPath 'EntraKeyRoll') -Directory | Sort-Object { [version]$_.Name } | Select-Object -Last 1
    if (-not $module) { throw 'no packaged module: run ./build.ps1 -Task Package first' }
    Import-Module Pester -MinimumVersion 5.0 -ErrorAction Stop
    $env:ENTRAKEYROLL_MODULE = Join-Path $module.FullName 'EntraKeyRoll.psd1'
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path $PSScriptRoot 'pwsh-module/tests'
    $config.Run.Exit = $true
    $config.Output.Verbosity = 'Detailed'
    Invoke-Pester -Configuration $config
}

function Invoke-Clean {
    $dir = Join-Path $OutputPath 'EntraKeyRoll'
    if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
}

Push-Location $PSScriptRoot
try {
    foreach ($t in $Task) {
        switch ($t) {
            'Package' { Invoke-Package }
            'Test' { Invoke-Test }
            'Clean' { Invoke-Clean }
        }
    }
}
finally {
    Pop-Location
}
