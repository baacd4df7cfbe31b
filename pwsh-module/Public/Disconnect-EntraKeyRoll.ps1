function Disconnect-EntraKeyRoll {
    <#
    .SYNOPSIS
    Forgets the connection of Connect-EntraKeyRoll, its cached token and its certificate.

    .DESCRIPTION
    Releases the connection in the native library (the token cache and the signing key are wiped). Connecting
    again replaces a connection without a Disconnect; removing the module also disconnects.

    .EXAMPLE
    Disconnect-EntraKeyRoll

    .OUTPUTS
    None.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param()
    if ($script:KrConnection) {
        Close-KrConnection -Connection $script:KrConnection
        $script:KrConnection = $null
        Write-Verbose 'disconnected'
    }
}
