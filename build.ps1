<#
.SYNOPSIS
Builds and tests the PowerShell module EntraKeyRoll: the native library, the binding assembly and the module folder.

.DESCRIPTION
A thin front for `cargo xtask package`, where the packaging logic lives (and is tested). Tasks:
  Package  build the native library for -Target (default: this machine) and the binding assembly
           (netstandard2.0 with the .NET SDK when present, else .NET Framework 4.7.2 with Mono's mcs), and lay
           out <OutputPath>/EntraKeyRoll/<version>/
  Publish  publish the packaged module to the folder repository <OutputPath>/repository with PSResourceGet
           (Publish-PSResource; PowerShell 7.4+), leaving EntraKeyRoll.<version>.nupkg there: the package a
           gallery or Install-PSResource takes
  Test     run every Pester file in pwsh-module/tests against the packaged module and the emulator
           `keyroll-emulator` (needs Pester 5 and that binary: -EmulatorPath, or
           target/<configuration>/keyroll-emulator)
  Release  `cargo xtask release --out <OutputPath>/release`: the whole release folder (module folder and .nupkg,
           the keyroll and keyroll-emulator archives with completions and man page, the bill of materials,
           SHA256SUMS); on Linux the natives are linked against glibc 2.17 with cargo zigbuild
  Clean    remove <OutputPath>/EntraKeyRoll

On a machine without Rust, -XtaskPath and -Native take release builds made elsewhere (scripts/test.sh does this
with ../shared/prebuilt/<rid>/ once it has checked they were built from these sources).

.PARAMETER Task
Package, Publish, Test, Release and/or Clean, in the order given.

.PARAMETER Target
Rust target triples to build the native library for (default: this machine).

.PARAMETER Native
rid=path pairs naming native libraries built elsewhere (e.g. linux-x64=/path/libkeyroll.so), passed to xtask's
--native instead of building them.

.PARAMETER XtaskPath
A built xtask binary to run instead of `cargo xtask`.

.PARAMETER EmulatorPath
The keyroll-emulator binary the tests talk to (default: target/<configuration>/keyroll-emulator).

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
    [ValidateSet('Package', 'Publish', 'Test', 'Release', 'Clean')]
    [string[]] $Task = @('Package'),

    [string[]] $Target = @(),

    [string[]] $Native = @(),

    [ValidateSet('auto', 'net472', 'netstandard2.0')]
    [string] $Framework = 'auto',

    [ValidateSet('release', 'debug')]
    [string] $Configuration = 'release',

    [string] $OutputPath = (Join-Path $PSScriptRoot 'out'),

    [string] $XtaskPath,

    [string] $EmulatorPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

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
    Write-Host "module: $($module.FullName)"
}

function Invoke-Publish {
    # A folder repository registered for this call only (under a unique name, removed afterwards), so that the
    # .nupkg is made by the same PSResourceGet that installs it.
    $module = Get-PackagedModule
    if (-not $module) { throw 'no packaged module: run ./build.ps1 -Task Package first' }
    if (-not (Get-Command Publish-PSResource -ErrorAction Ignore)) {
        throw 'Publish needs PSResourceGet (Publish-PSResource), which ships with PowerShell 7.4 and later; on Windows PowerShell 5.1 install Microsoft.PowerShell.PSResourceGet first'
    }
    $repository = Join-Path $OutputPath 'repository'
    $null = New-Item -ItemType Directory -Force -Path $repository
    $nupkg = Join-Path $repository "EntraKeyRoll.$($module.Name).nupkg"
    if (Test-Path -LiteralPath $nupkg) { Remove-Item -LiteralPath $nupkg -Force }
    if (-not [Environment]::GetFolderPath('LocalApplicationData')) {
        # .NET answers '' for a profile folder that does not exist yet, and PSResourceGet would then keep its
        # repository list in the current folder: make the folder it means (XDG_DATA_HOME, else ~/.local/share).
        $data = if ($env:XDG_DATA_HOME) { $env:XDG_DATA_HOME } else { Join-Path $HOME '.local/share' }
        $null = New-Item -ItemType Directory -Force -Path $data
    }
    $name = 'EntraKeyRollBuild' + [guid]::NewGuid().ToString('n').Substring(0, 8)
    Register-PSResourceRepository -Name $name -Uri $repository -Trusted
    try {
        Publish-PSResource -Path $module.FullName -Repository $name
    }
    finally {
        Unregister-PSResourceRepository -Name $name
    }
    if (-not (Test-Path -LiteralPath $nupkg)) { throw "Publish-PSResource made no $nupkg" }
    Write-Host "package: $nupkg"
}

function Invoke-Test {
    $module = Get-PackagedModule
    if (-not $module) { throw 'no packaged module: run ./build.ps1 -Task Package first' }
    $emulator = $EmulatorPath
    if (-not $emulator) {
        $name = 'keyroll-emulator'
        if ([System.IO.Path]::DirectorySeparatorChar -eq '\') { $name = 'keyroll-emulator.exe' }
        $emulator = Join-Path (Join-Path (Join-Path $PSScriptRoot 'target') $Configuration) $name
    }
    if (-not (Test-Path -LiteralPath $emulator -PathType Leaf)) {
        throw "the tests need the emulator binary, and $emulator does not exist: build it (cargo build -p keyroll-emulator$(if ($Configuration -eq 'release') { ' --release' })) or pass -EmulatorPath"
    }
    Import-Module Pester -MinimumVersion 5.0 -MaximumVersion 5.99 -ErrorAction Stop
    $env:ENTRAKEYROLL_MODULE = Join-Path $module.FullName 'EntraKeyRoll.psd1'
    $env:KEYROLL_EMULATOR_BIN = (Resolve-Path -LiteralPath $emulator).ProviderPath
    Write-Host "testing $env:ENTRAKEYROLL_MODULE with the emulator $env:KEYROLL_EMULATOR_BIN (Pester $((Get-Module Pester).Version))"
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path (Join-Path $PSScriptRoot 'pwsh-module') 'tests'
    $config.Run.Exit = $true
    $config.Output.Verbosity = 'Detailed'
    Invoke-Pester -Configuration $config
}

function Invoke-Release {
    $arguments = @('release', '--out', (Join-Path $OutputPath 'release'))
    if ($XtaskPath) {
        Write-Host "$XtaskPath $($arguments -join ' ')"
        & $XtaskPath @arguments
    }
    else {
        Write-Host "cargo xtask $($arguments -join ' ')"
        & cargo xtask @arguments
    }
    if ($LASTEXITCODE -ne 0) { throw "the release failed (exit $LASTEXITCODE)" }
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
            'Publish' { Invoke-Publish }
            'Test' { Invoke-Test }
            'Release' { Invoke-Release }
            'Clean' { Invoke-Clean }
        }
    }
}
finally {
    Pop-Location
}
