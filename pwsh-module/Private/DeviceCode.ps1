function Connect-KrDeviceCode {
    # A user's sign-in by device code, in the library's two steps (no callback into PowerShell): the start answers
    # what to show (or that the cached sign-in still works); the message goes to the host as Connect-MgGraph shows
    # it (Write-Host: the information stream, never the pipeline); the wait runs on a thread of its own while this
    # loop sleeps in short steps, so Ctrl+C stops the command and the finally block cancels the wait and releases
    # the sign-in. Returns the connection, or an EntraKeyRoll.Failure.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Settings,
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Caller
    )
    $json = ConvertTo-KrSettingsJson -Settings $Settings
    $signIn = Invoke-KrFacade -On ([Keyroll.DeviceCodeSignIn]) -Method 'Start' -ArgumentList $json -TargetObject $Settings.tenantId
    if (Test-KrFailure $signIn) { return $signIn }
    $connection = $null
    try {
        $answer = ConvertFrom-Json -InputObject $signIn.Answer
        if ($answer.pending) {
            Write-Host $answer.message
        }
        else {
            Write-Verbose "signed in from the token cache as $($answer.user)"
        }
        $signIn.BeginWait()
        while (-not $signIn.IsWaitDone) { Start-Sleep -Milliseconds 100 }
        $connection = Invoke-KrFacade -On $signIn -Method 'EndWait' -TargetObject $Settings.tenantId
        $connection
    }
    finally {
        # Ctrl+C (or an error) before the end: the wait is cancelled and the sign-in released; a connection handed
        # out is the caller's.
        $signIn.Dispose()
    }
}
