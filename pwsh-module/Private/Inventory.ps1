# Inventory: the scan's errors in the module's words (its items are typed in the binding assembly).

function Get-KrScanError {
    # A scan refused before its first page (settings): the library names its settings (certRule, newCertRule);
    # this says the parameters.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object] $Failure, [switch] $Rule)
    $record = $Failure.ErrorRecord
    $message = $record.Exception.Message -replace '\bnewCertRule\b', '-NewCertificatePathRule' -replace '\bcertRule\b', '-CertificatePathRule'
    if ($message -eq $record.Exception.Message) { return $record }
    $e = [System.ArgumentException]::new($message, $record.Exception)
    [System.Management.Automation.ErrorRecord]::new($e, 'InventoryRule', [System.Management.Automation.ErrorCategory]::InvalidArgument, 'inventory')
}
