function Use-KrPlainText {
    # Runs $Action with the SecureString's text and returns its result. The text exists only for the call into
    # the library (which wipes its copy); it is never written to a variable outside this scope, the pipeline or
    # the verbose stream. The unmanaged copy is zeroed before returning.
    [CmdletBinding()]
    param(
        [AllowNull()] [System.Security.SecureString] $SecureString,
        [Parameter(Mandatory)] [scriptblock] $Action
    )
    if ($null -eq $SecureString -or $SecureString.Length -eq 0) { return & $Action '' }
    $bstr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($SecureString)
    try {
        & $Action ([System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr))
    }
    finally {
        [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr)
    }
}
