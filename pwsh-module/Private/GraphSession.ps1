# Scripts that sign in with Connect-MgGraph or Connect-Entra (both Microsoft.Graph.Authentication) keep working:
# when no Connect-EntraKeyRoll connection was made and that module has a context, the cmdlets use its token.

function Get-KrGraphSessionConnection {
    # A connection with the token of Microsoft.Graph.Authentication's current session, $null when that module
    # is not loaded or not signed in, or a failure (New-KrFailure). The token is read from the Authorization header of a request the Graph SDK
    # itself sends (the SDK has no public way to hand it out), so it is always the SDK's current, refreshed token.
    # The endpoints are those of the session's environment (Get-MgEnvironment), custom ones (Add-MgEnvironment)
    # included; $env:ENTRAKEYROLL_CA_CERT names extra root certificates to trust for such an endpoint (e.g. the
    # emulator's ca_cert).
    [CmdletBinding()]
    param()
    if (-not (Get-Command -Name Get-MgContext -ErrorAction Ignore)) { return $null }
    $context = Get-MgContext
    if (-not $context) { return $null }
    $environmentName = [string](Get-KrProperty $context 'Environment')
    if (-not $environmentName) { $environmentName = 'Global' }
    $graphUrl = $null; $loginUrl = $null
    if (Get-Command -Name Get-MgEnvironment -ErrorAction Ignore) {
        $environment = Get-MgEnvironment -Name $environmentName -ErrorAction Ignore | Select-Object -First 1
        if ($environment) {
            $graphUrl = [string](Get-KrProperty $environment 'GraphEndpoint')
            $loginUrl = [string](Get-KrProperty $environment 'AzureADEndpoint')
        }
    }
    if (-not $graphUrl) { $graphUrl = 'https://graph.microsoft.com' }
    $probe = $graphUrl.TrimEnd('/') + '/v1.0/organization?$select=id'
    $response = $null
    try {
        $response = Invoke-MgGraphRequest -Method GET -Uri $probe -OutputType HttpResponseMessage -ErrorAction Stop
    }
    catch {
        # A refused request still carries the header it was sent with.
        $response = Get-KrProperty $_.Exception 'Response'
        if (-not $response) {
            return New-KrFailure ([System.Management.Automation.ErrorRecord]::new(
                    [System.InvalidOperationException]::new("the Microsoft Graph session of Connect-MgGraph / Connect-Entra could not give a token: $($_.Exception.Message). Sign in again (Connect-MgGraph), or connect with Connect-EntraKeyRoll", $_.Exception),
                    'GraphSessionToken', [System.Management.Automation.ErrorCategory]::AuthenticationError, $null))
        }
    }
    $request = Get-KrProperty $response 'RequestMessage'
    $authorization = if ($request) { $request.Headers.Authorization } else { $null }
    if (-not $authorization -or $authorization.Scheme -ne 'Bearer' -or -not $authorization.Parameter) {
        return New-KrFailure ([System.Management.Automation.ErrorRecord]::new(
                [System.InvalidOperationException]::new('the Microsoft Graph session of Connect-MgGraph / Connect-Entra sent no bearer token; sign in again, or connect with Connect-EntraKeyRoll'),
                'GraphSessionToken', [System.Management.Automation.ErrorCategory]::AuthenticationError, $null))
    }
    $caFile = $env:ENTRAKEYROLL_CA_CERT
    $settings = [ordered]@{
        graphUrl = $graphUrl.TrimEnd('/')
        loginUrl = if ($loginUrl) { $loginUrl.TrimEnd('/') } else { $null }
        caFile   = if ($caFile) { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($caFile) } else { $null }
    }
    Write-Verbose "using the Microsoft Graph session of Connect-MgGraph / Connect-Entra ($environmentName, $($settings.graphUrl))"
    $connection = Open-KrConnection -Settings $settings -AccessToken $authorization.Parameter
    if (Test-KrFailure $connection) { return $connection }
    [pscustomobject]@{ Connection = $connection; Signer = $null; Transient = $true; Source = 'Microsoft.Graph session' }
}
