function Use-KrPlainText {
    # Runs $Action with the secret's text as its first argument, followed by -ArgumentList, and returns its result.
    # -Secret is a SecureString, or a string that was plain text already (a SecretText given as text, a Graph
    # session's token), passed on as it is. What is true of a SecureString's text: it is copied into an unmanaged
    # BSTR, which is zeroed before this returns, and into one .NET string, which cannot be wiped and lives until
    # the garbage collector takes it; it is never stored in a variable outside the action, the pipeline or the
    # verbose stream. The library wipes the copies it makes. $null or an empty secret gives '' (none).
    [CmdletBinding()]
    param(
        [AllowNull()] [object] $Secret,
        [Parameter(Mandatory)] [scriptblock] $Action,
        [object[]] $ArgumentList = @()
    )
    if ($Secret -is [string]) { return & $Action $Secret @ArgumentList }
    if ($Secret -isnot [System.Security.SecureString] -or $Secret.Length -eq 0) { return & $Action '' @ArgumentList }
    $bstr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($Secret)
    try {
        & $Action ([System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr)) @ArgumentList
    }
    finally {
        [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr)
    }
}
