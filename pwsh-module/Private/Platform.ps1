function Get-KrRuntimeIdentifier {
    # The .NET runtime identifier of this process (win-x64, linux-arm64, osx-arm64, ...), naming the folder
    # runtimes/<rid>/native/ the native library is taken from.
    [CmdletBinding()]
    [OutputType([string])]
    param()
    $os = if ($PSVersionTable.PSEdition -eq 'Desktop' -or $IsWindows) { 'win' }
    elseif ($IsMacOS) { 'osx' }
    elseif ($IsLinux) { 'linux' }
    else { 'unknown' }
    $arch = try {
        [System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()
    }
    catch {
        if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'arm64' } elseif ([Environment]::Is64BitProcess) { 'x64' } else { 'x86' }
    }
    "$os-$arch"
}

function Get-KrNativeFileName {
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [string] $RuntimeIdentifier)
    switch -Wildcard ($RuntimeIdentifier) {
        'win-*' { 'keyroll.dll' }
        'osx-*' { 'libkeyroll.dylib' }
        default { 'libkeyroll.so' }
    }
}

function Resolve-KrNativePath {
    # The full path of the native library: $env:ENTRAKEYROLL_NATIVE_PATH when set (a file, or a folder holding
    # the library), else <module>/runtimes/<rid>/native/<file>.
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [string] $ModuleRoot)
    $rid = Get-KrRuntimeIdentifier
    $file = Get-KrNativeFileName -RuntimeIdentifier $rid
    $override = $env:ENTRAKEYROLL_NATIVE_PATH
    $candidate = if ($override) {
        if (Test-Path -LiteralPath $override -PathType Container) { Join-Path $override $file } else { $override }
    }
    else {
        Join-Path (Join-Path (Join-Path (Join-Path $ModuleRoot 'runtimes') $rid) 'native') $file
    }
    if (-not (Test-Path -LiteralPath $candidate -PathType Leaf)) {
        $from = if ($override) { "ENTRAKEYROLL_NATIVE_PATH ($override)" } else { "the module folder ($ModuleRoot)" }
        $exception = [System.IO.FileNotFoundException]::new(
            "EntraKeyRoll: the native library for $rid was not found at $candidate (looked in $from). " +
            "This package may not include $rid; build it with ./build.ps1 -Task Package -Target <triple>, " +
            "or set `$env:ENTRAKEYROLL_NATIVE_PATH to the library.", $candidate)
        throw [System.Management.Automation.ErrorRecord]::new(
            $exception, 'NativeLibraryNotFound', [System.Management.Automation.ErrorCategory]::ObjectNotFound, $candidate)
    }
    (Resolve-Path -LiteralPath $candidate).ProviderPath
}
