function Disconnect-EntraKeyRoll {
    <#
    .SYNOPSIS
    Forgets the connection of Connect-EntraKeyRoll, its cached token and its certificate, and signs a device-code
    user out.

    .DESCRIPTION
    Releases the connection in the native library (the token cache and the signing key are wiped). Connecting
    again replaces a connection without a Disconnect; removing the module also disconnects.

    A user signed in with Connect-EntraKeyRoll -UseDeviceCode is also signed out, as Disconnect-MgGraph signs out:
    the sign-in is removed from the token cache file, so the next -UseDeviceCode asks for a new code. -KeepSignIn
    keeps it there (the next -UseDeviceCode with the same tenant, client and scopes then needs no code).

    .PARAMETER KeepSignIn
    Keep a device-code user's sign-in in the token cache; only the connection of this session is released.

    .EXAMPLE
    Disconnect-EntraKeyRoll

    .EXAMPLE
    Disconnect-EntraKeyRoll -KeepSignIn

    Releases the connection but keeps the user's cached sign-in for the next Connect-EntraKeyRoll -UseDeviceCode.

    .OUTPUTS
    None.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Low')]
    [OutputType([void])]
    param(
        [Parameter()]
        [switch] $KeepSignIn
    )
    if (-not $script:KrConnection) { return }
    $signIn = $null
    if ($script:KrConnection.PSObject.Properties['SignIn'] -and -not $KeepSignIn) { $signIn = $script:KrConnection.SignIn }
    $what = if ($signIn) { 'the connection, and the signed-in user in the token cache' } else { 'the connection' }
    if (-not $PSCmdlet.ShouldProcess($what, 'Disconnect')) { return }
    if ($signIn) {
        $answer = Invoke-KrFacade -On ([Keyroll.DeviceCodeSignIn]) -Method 'SignOut' -ArgumentList (ConvertTo-KrSettingsJson -Settings $signIn), $false -TargetObject $signIn.tenantId
        if (Test-KrFailure $answer) {
            # The connection is still released below; the cache's problem is reported, not fatal.
            $PSCmdlet.WriteError($answer.ErrorRecord)
        }
        else {
            $removed = ConvertFrom-Json -InputObject $answer
            Write-Verbose "signed out: $($removed.removed) sign-in(s) removed from $($removed.tokenCache)"
        }
    }
    Close-KrConnection -Connection $script:KrConnection
    $script:KrConnection = $null
    Write-Verbose 'disconnected'
}
