function Use-KrPlainText {
    # Runs $Action with the SecureString's text as its first argument, followed by -ArgumentList, and returns its
    # result. What is true of the text: it is copied out of the SecureString into an unmanaged BSTR, which is
    # zeroed before this returns, and into one .NET string, which cannot be wiped and lives until the garbage
    # collector takes it; it is never stored in a variable outside the action, the pipeline or the verbose stream.
    # The library wipes the copies it makes. A $null or empty SecureString gives '' (no password).
    [CmdletBinding()]
    param(
        [AllowNull()] [System.Security.SecureString] $SecureString,
        [Parameter(Mandatory)] [scriptblock] $Action,
        [object[]] $ArgumentList = @()
    )
    if ($null -eq $SecureString -or $SecureString.Length -eq 0) { return & $Action '' @ArgumentList }
    $bstr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($SecureString)
    try {
        & $Action ([System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr)) @ArgumentList
    }
    finally {
        [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr)
    }
}
