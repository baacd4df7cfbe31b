<#
.SYNOPSIS
Builds and tests the PowerShell module EntraKeyRoll: the native library, the binding assembly and the module folder.

.DESCRIPTION
A thin front for `cargo xtask package`, where the packaging logic lives (and is tested). Tasks:
  Package  build the native library for -Target (default: this machine) and the binding assembly
           (netstandard2.0 with the .NET SDK when present, else .NET Framework 4.7.2 with Mono's mcs), and lay
           out <OutputPath>/EntraKeyRoll/<version>/
  Test     run every Pester file in pwsh-module/tests against the packaged module and the emulator of
           `keyroll emulator` (needs Pester 5 and a keyroll binary: -KeyrollPath, or target/<configuration>/keyroll)
  Clean    remove <OutputPath>/EntraKeyRoll

On a machine without Rust, -XtaskPath and -Native take release builds made elsewhere (scripts/test.sh does this
with ../shared/prebuilt/<rid>/ once it has checked they were built from these sources).

.PARAMETER Task
Package, Test and/or Clean, in the order given.

.PARAMETER Target
Rust target triples to build the native library for (default: this machine).

.PARAMETER Native
rid=path pairs naming native libraries built elsewhere (e.g. linux-x64=/path/libkeyroll.so), passed to xtask's
--native instead of building them.

.PARAMETER XtaskPath
A built xtask binary to run instead of `cargo xtask`.

.PARAMETER KeyrollPath
The keyroll binary whose emulator the tests talk to (default: target/<configuration>/keyroll).

.EXAMPLE
./build.ps1

.EXAMPLE
./build.ps1 -Task Package, Test -Configuration debug

Builds a debug module and runs the Pester suite against it (Rust, the .NET SDK and Pester 5 installed).

.EXAMPLE
./build.ps1 -Task Package -Target x86_64-pc-windows-msvc, aarch64-pc-windows-msvc -Framework netstandard2.0
#>
[CmdletBinding()]
param(
    [ValidateSet('Package', 'Test', 'Clean')]
    [string[]] $Task = @('Package'),

    [string[]] $Target = @(),

    [string[]] $Native = @(),

    [ValidateSet('auto', 'net472', 'netstandard2.0')]
    [string] $Framework = 'auto',

    [ValidateSet('release', 'debug')]
    [string] $Configuration = 'release',

    [string] $OutputPath = (Join-Path $PSScriptRoot 'out'),

    [string] $XtaskPath,

    [string] $KeyrollPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

# Files of the module that the packager does not lay out yet (it copies the manifest, the script module and
# en-US/): added to the packaged folder after it ran.
$script:ExtraModuleFiles = @('EntraKeyRoll.Format.ps1xml')

function Get-PackagedModule {
    $root = Join-Path $OutputPath 'EntraKeyRoll'
    if (-not (Test-Path -LiteralPath $root)) { return $null }
    Get-ChildItem -LiteralPath $root -Directory | Sort-Object { [version]$_.Name } | Select-Object -Last 1
}

function Invoke-Package {
    $arguments = @('package', '--framework', $Framework, '--profile', $Configuration, '--out', $OutputPath)
    foreach ($t in $Target) { $arguments += @('--target', $t) }
    foreach ($n in $Native) { $arguments += @('--native', $n) }
    if ($XtaskPath) {
        Write-Host "$XtaskPath $($arguments -join ' ')"
        & $XtaskPath @arguments
    }
    else {
        Write-Host "cargo xtask $($arguments -join ' ')"
        & cargo xtask @arguments
    }
    if ($LASTEXITCODE -ne 0) { throw "packaging failed (exit $LASTEXITCODE)" }
    $module = Get-PackagedModule
    if (-not $module) { throw "the packager laid out no module under $OutputPath" }
    foreach ($file in $script:ExtraModuleFiles) {
        Copy-Item -LiteralPath (Join-Path (Join-Path $PSScriptRoot 'pwsh-module') $file) -Destination $module.FullName
    }
    Write-Host "module: $($module.FullName)"
}

function Invoke-Test {
    $module = Get-PackagedModule
    if (-not $module) { throw 'no packaged module: run ./build.ps1 -Task Package first' }
    $keyroll = $KeyrollPath
    if (-not $keyroll) {
        $name = 'keyroll'
        if ([System.IO.Path]::DirectorySeparatorChar -eq '\') { $name = 'keyroll.exe' }
        $keyroll = Join-Path (Join-Path (Join-Path $PSScriptRoot 'target') $Configuration) $name
    }
    if (-not (Test-Path -LiteralPath $keyroll -PathType Leaf)) {
        throw "the tests need the keyroll binary for its emulator, and $keyroll does not exist: build it (cargo build -p keyroll-cli$(if ($Configuration -eq 'release') { ' --release' })) or pass -KeyrollPath"
    }
    Import-Module Pester -MinimumVersion 5.0 -MaximumVersion 5.99 -ErrorAction Stop
    $env:ENTRAKEYROLL_MODULE = Join-Path $module.FullName 'EntraKeyRoll.psd1'
    $env:KEYROLL_BIN = (Resolve-Path -LiteralPath $keyroll).ProviderPath
    Write-Host "testing $env:ENTRAKEYROLL_MODULE with the emulator of $env:KEYROLL_BIN (Pester $((Get-Module Pester).Version))"
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path (Join-Path $PSScriptRoot 'pwsh-module') 'tests'
    $config.Run.Exit = $true
    $config.Output.Verbosity = 'Detailed'
    Invoke-Pester -Configuration $config
}

function Invoke-Clean {
    $dir = Join-Path $OutputPath 'EntraKeyRoll'
    if (Test-Path -LiteralPath $dir) { Remove-Item -Recurse -Force -LiteralPath $dir }
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
