<#
Static check that PowerShell source stays runnable on Windows PowerShell 5.1.

Used by Compatibility51.Tests.ps1. The module has to load on Windows PowerShell 5.1, which cannot be run on
the Linux build machines, so instead of running the code there this file parses each script with
PowerShell's own parser and looks for syntax, cmdlets and parameters that only PowerShell 6/7 have.

This file is itself checked by the same rules, so it uses only 5.1 syntax and APIs: the AST node types that
5.1 lacks (TernaryExpressionAst, PipelineChainAst, ...) are recognised by type *name* and optional AST
properties are read through PSObject.Properties, because naming a missing type or reading a missing property
(under Set-StrictMode) would itself fail on 5.1.

What static analysis cannot know is reported as a note, not a failure: parameters passed by splatting, and
values only known at run time.
#>

function New-Kr51Finding {
    # One finding; Severity 'Error' fails the file's test, 'Note' is only printed.
    param(
        [string] $File,
        [object] $Extent,
        [string] $Construct,
        [string] $Message,
        [string] $Severity = 'Error',
        [int] $Line = 0
    )
    $column = 0
    if ($Extent) {
        if ($Line -eq 0) { $Line = $Extent.StartLineNumber }
        $column = $Extent.StartColumnNumber
    }
    $finding = [pscustomobject]@{
        File      = $File
        Line      = $Line
        Column    = $column
        Construct = $Construct
        Message   = $Message
        Severity  = $Severity
    }
    # Shown as-is in failure messages: file:line:column: construct: why.
    $finding | Add-Member -MemberType ScriptMethod -Name ToString -Force -Value {
        '{0}:{1}:{2}: {3}: {4}' -f $this.File, $this.Line, $this.Column, $this.Construct, $this.Message
    }
    $finding
}

function Get-Kr51Member {
    # Reads a property that only newer PowerShell versions define, without failing (or tripping
    # Set-StrictMode) where it does not exist.
    param([object] $InputObject, [string] $Name)
    $p = $InputObject.PSObject.Properties[$Name]
    if ($p) { $p.Value } else { $null }
}

function New-Kr51CommandSpec {
    # Parameters of one cmdlet: $Old are its names and aliases in Windows PowerShell 5.1 (from the 5.1
    # reference documentation); $New are names and aliases only PowerShell 6/7 have ('alias=Name' for an
    # alias, so the message can say what it stands for). Both are space-separated.
    param([string] $Old, [string] $New)
    $oldSet = @{}
    foreach ($n in ($Old -split '\s+')) { if ($n) { $oldSet[$n.ToLowerInvariant()] = $true } }
    $newSet = @{}
    foreach ($n in ($New -split '\s+')) {
        if (-not $n) { continue }
        $parts = $n -split '=', 2
        if ($parts.Count -eq 2) {
            $newSet[$parts[0].ToLowerInvariant()] = "-$($parts[0]) (an alias of -$($parts[1]) only since PowerShell 6/7)"
        }
        else {
            $newSet[$n.ToLowerInvariant()] = "-$n"
        }
    }
    # Every cmdlet has the common parameters; -ProgressAction became one only in PowerShell 7.4.
    foreach ($n in 'Verbose vb Debug db ErrorAction ea WarningAction wa InformationAction infa ErrorVariable ev WarningVariable wv InformationVariable iv OutVariable ov OutBuffer ob PipelineVariable pv WhatIf wi Confirm cf' -split ' ') {
        $oldSet[$n.ToLowerInvariant()] = $true
    }
    $newSet['progressaction'] = '-ProgressAction (a common parameter only since PowerShell 7.4)'
    $newSet['proga'] = '-proga (an alias of the common parameter -ProgressAction, PowerShell 7.4+)'
    # PowerShell 7 gave -LiteralPath the alias -LP; 5.1 knows only -PSPath.
    if ($oldSet.ContainsKey('literalpath') -and -not $newSet.ContainsKey('lp')) {
        $newSet['lp'] = '-LP (an alias of -LiteralPath only since PowerShell 7)'
    }
    @{ Old = $oldSet; New = $newSet }
}

function Get-Kr51Rules {
    # The data the checker works from. Keep each list to what can be justified: cmdlets that Windows
    # PowerShell 5.1 does not ship, and parameters that the 5.1 reference lacks but PowerShell 7 has.
    $web51 = 'Method UseBasicParsing Uri WebSession SessionVariable SV Credential UseDefaultCredentials CertificateThumbprint Certificate UserAgent DisableKeepAlive TimeoutSec Headers MaximumRedirection Proxy ProxyCredential ProxyUseDefaultCredentials Body ContentType TransferEncoding InFile OutFile PassThru'
    $webNew = 'SkipCertificateCheck SkipHttpErrorCheck SkipHeaderValidation Authentication Token AllowUnencryptedAuthentication SslProtocol Form Resume MaximumRetryCount RetryIntervalSec CustomMethod CM=CustomMethod NoProxy PreserveAuthorizationOnRedirect HttpVersion ConnectionTimeoutSeconds OperationTimeoutSeconds AllowInsecureRedirect PreserveHttpMethodOnRedirect UnixSocket'
    $content51 = 'Path LiteralPath PSPath Filter Include Exclude Force Credential UseTransaction usetx Encoding Stream'
    $csvNew = 'IncludeTypeInformation ITI=IncludeTypeInformation QuoteFields QF=QuoteFields UseQuotes UQ=UseQuotes NoHeader'
    $commands = @{
        'Invoke-RestMethod'         = New-Kr51CommandSpec $web51 "$webNew StatusCodeVariable ResponseHeadersVariable RHV=ResponseHeadersVariable FollowRelLink FL=FollowRelLink MaximumFollowRelLink ML=MaximumFollowRelLink"
        'Invoke-WebRequest'         = New-Kr51CommandSpec $web51 $webNew
        'ConvertFrom-Json'          = New-Kr51CommandSpec 'InputObject' 'AsHashtable Depth NoEnumerate DateKind'
        'ConvertTo-Json'            = New-Kr51CommandSpec 'InputObject Depth Compress' 'EnumsAsStrings AsArray EscapeHandling'
        'Get-Content'               = New-Kr51CommandSpec "$content51 ReadCount TotalCount First Head Tail Last Delimiter Wait Raw" 'AsByteStream'
        'Set-Content'               = New-Kr51CommandSpec "$content51 Value PassThru NoNewline" 'AsByteStream'
        'Add-Content'               = New-Kr51CommandSpec "$content51 Value PassThru NoNewline" 'AsByteStream'
        'Out-File'                  = New-Kr51CommandSpec 'FilePath Path LiteralPath PSPath Encoding Append Force NoClobber NoOverwrite Width NoNewline InputObject' ''
        'Tee-Object'                = New-Kr51CommandSpec 'InputObject FilePath LiteralPath PSPath Append Variable' 'Encoding Path=FilePath'
        'Select-Object'             = New-Kr51CommandSpec 'InputObject Property ExcludeProperty ExpandProperty Unique Last First Skip SkipLast Wait Index' 'SkipIndex CaseInsensitive'
        'Sort-Object'               = New-Kr51CommandSpec 'Descending Unique InputObject Property Culture CaseSensitive' 'Stable Top Bottom'
        'Get-Unique'                = New-Kr51CommandSpec 'InputObject AsString OnType' 'CaseInsensitive'
        'Out-String'                = New-Kr51CommandSpec 'Stream Width InputObject' 'NoNewline'
        'Get-Date'                  = New-Kr51CommandSpec 'Date LastWriteTime Year Month Day Hour Minute Second Millisecond DisplayHint UFormat Format' 'AsUTC UnixTimeSeconds UnixTime=UnixTimeSeconds'
        'Export-Csv'                = New-Kr51CommandSpec 'InputObject Path LiteralPath PSPath Force NoClobber NoOverwrite Encoding Append Delimiter UseCulture NoTypeInformation NTI' $csvNew
        'ConvertTo-Csv'             = New-Kr51CommandSpec 'InputObject Delimiter UseCulture NoTypeInformation NTI' $csvNew
        'Select-String'             = New-Kr51CommandSpec 'InputObject Pattern Path LiteralPath PSPath SimpleMatch CaseSensitive Quiet List Include Exclude NotMatch AllMatches Encoding Context' 'Raw NoEmphasis Culture'
        'Format-Hex'                = New-Kr51CommandSpec 'Path LiteralPath PSPath InputObject Encoding Raw' 'Count Offset'
        'Import-PowerShellDataFile' = New-Kr51CommandSpec 'Path LiteralPath PSPath' 'SkipLimitCheck'
        'Measure-Object'            = New-Kr51CommandSpec 'InputObject Property Sum Average Maximum Minimum Line Word Character IgnoreWhiteSpace' 'StandardDeviation AllStats'
        'Get-Random'                = New-Kr51CommandSpec 'SetSeed Maximum Minimum InputObject Count' 'Shuffle'
        'Start-Sleep'               = New-Kr51CommandSpec 'Seconds Milliseconds' 'Duration ts=Duration ms=Milliseconds'
        'New-Guid'                  = New-Kr51CommandSpec '' 'Empty InputObject'
        'Split-Path'                = New-Kr51CommandSpec 'Path LiteralPath PSPath Parent Leaf Qualifier NoQualifier IsAbsolute Resolve Credential UseTransaction usetx' 'LeafBase Extension'
        'Join-Path'                 = New-Kr51CommandSpec 'Path PSPath ChildPath Resolve Credential UseTransaction usetx' 'AdditionalChildPath'
        'Resolve-Path'              = New-Kr51CommandSpec 'Path LiteralPath PSPath Relative Credential UseTransaction usetx' 'RelativeBasePath Force'
        'Get-ChildItem'             = New-Kr51CommandSpec 'Path LiteralPath PSPath Filter Include Exclude Recurse s r Depth Force Name UseTransaction usetx Attributes Directory ad d File af Hidden ah h ReadOnly ar System as' 'FollowSymlink'
        'Start-Process'             = New-Kr51CommandSpec 'FilePath PSPath Path ArgumentList Args Credential RunAs WorkingDirectory LoadUserProfile Lup NoNewWindow nnw PassThru RedirectStandardError RSE RedirectStandardInput RSI RedirectStandardOutput RSO Verb WindowStyle Wait UseNewEnvironment' 'Environment'
        'Wait-Process'              = New-Kr51CommandSpec 'Name ProcessName Id PID ProcessId InputObject Timeout TimeoutSec' 'Any PassThru'
        'Test-Connection'           = New-Kr51CommandSpec 'AsJob DcomAuthentication Authentication WsmanAuthentication Protocol BufferSize Size Bytes BS ComputerName CN IPAddress __SERVER Server Destination Count Credential Source FCN SRC Impersonation ThrottleLimit TimeToLive TTL Delay Quiet' 'TargetName Ping Repeat Continuous=Repeat IPv4 IPv6 ResolveDestination MaxHops Hops=MaxHops DontFragment TimeoutSeconds MtuSize MtuSizeDetect=MtuSize Traceroute TcpPort Detailed'
        'ConvertFrom-SecureString'  = New-Kr51CommandSpec 'SecureString SecureKey Key' 'AsPlainText'
        'Get-PfxCertificate'        = New-Kr51CommandSpec 'FilePath LiteralPath PSPath' 'Password NoPromptForPassword'
        'ForEach-Object'            = New-Kr51CommandSpec 'InputObject Begin Process End RemainingScripts MemberName ArgumentList Args' 'Parallel ThrottleLimit TimeoutSeconds AsJob UseNewRunspace'
        'Where-Object'              = New-Kr51CommandSpec 'InputObject FilterScript Property Value EQ IEQ CEQ NE INE CNE GT IGT CGT LT ILT CLT GE IGE CGE LE ILE CLE Like ILike CLike NotLike INotLike CNotLike Match IMatch CMatch NotMatch INotMatch CNotMatch Contains IContains CContains NotContains INotContains CNotContains In IIn CIn NotIn INotIn CNotIn Is IsNot' 'Not'
        'Import-Module'             = New-Kr51CommandSpec 'Global Prefix Name FullyQualifiedName Assembly Function Cmdlet Variable Alias Force PassThru AsCustomObject MinimumVersion Version MaximumVersion RequiredVersion ModuleInfo ArgumentList Args DisableNameChecking NoClobber NoOverwrite Scope PSSession CimSession CimResourceUri CimNamespace' 'SkipEditionCheck UseWindowsPowerShell UseWinPS=UseWindowsPowerShell'
        'Get-Module'                = New-Kr51CommandSpec 'Name FullyQualifiedName All ListAvailable PSEdition Refresh PSSession CimSession CimResourceUri CimNamespace' 'SkipEditionCheck'
        'Start-Job'                 = New-Kr51CommandSpec 'DefinitionName DefinitionPath Type Name ScriptBlock Command Credential FilePath LiteralPath PSPath Authentication InitializationScript RunAs32 PSVersion InputObject ArgumentList Args' 'WorkingDirectory'
        'Invoke-Command'            = New-Kr51CommandSpec 'Session ComputerName Cn Credential Port UseSSL ConfigurationName ApplicationName ThrottleLimit ConnectionUri URI CU AsJob InDisconnectedSession Disconnected SessionName HideComputerName HCN JobName ScriptBlock Command NoNewScope FilePath PSPath AllowRedirection SessionOption Authentication EnableNetworkAccess RunAsAdministrator InputObject ArgumentList Args VMId VMGuid VMName ContainerId CertificateThumbprint RemoteDebug' 'HostName UserName KeyFilePath IdentityFilePath=KeyFilePath Subsystem SSHTransport SSHConnection Options ConnectingTimeout'
        'Get-Command'               = New-Kr51CommandSpec 'Name Verb Noun Module PSSnapin FullyQualifiedModule CommandType Type TotalCount Syntax ShowCommandInfo ArgumentList Args All ListImported ParameterName ParameterType' 'UseFuzzyMatching FuzzyMinimumDistance UseAbbreviationExpansion'
    }
    # Cmdlets that PowerShell 6/7 ship and Windows PowerShell 5.1 does not.
    $absent = @{
        'Test-Json'                   = 'PowerShell 6.1+'
        'Join-String'                 = 'PowerShell 6.2+'
        'Get-Error'                   = 'PowerShell 7.0+'
        'Remove-Alias'                = 'PowerShell 6.0+'
        'Get-Uptime'                  = 'PowerShell 6.0+'
        'Remove-Service'              = 'PowerShell 6.0+'
        'ConvertFrom-Markdown'        = 'PowerShell 6.1+'
        'Show-Markdown'               = 'PowerShell 6.1+'
        'Get-MarkdownOption'          = 'PowerShell 6.1+'
        'Set-MarkdownOption'          = 'PowerShell 6.1+'
        'Get-ExperimentalFeature'     = 'PowerShell 6.2+'
        'Enable-ExperimentalFeature'  = 'PowerShell 6.2+'
        'Disable-ExperimentalFeature' = 'PowerShell 6.2+'
        'Get-PSSubsystem'             = 'PowerShell 7.3+'
        'Enable-PSSubsystem'          = 'PowerShell 7.3+'
        'Disable-PSSubsystem'         = 'PowerShell 7.3+'
        'Switch-Process'              = 'PowerShell 7.3+'
        'Get-SecureRandom'            = 'PowerShell 7.4+'
        'ConvertTo-CliXml'            = 'PowerShell 7.5+'
        'ConvertFrom-CliXml'          = 'PowerShell 7.5+'
        'Start-ThreadJob'             = 'PowerShell 7 (on 5.1 only with the ThreadJob module installed)'
    }
    # Aliases that Windows PowerShell 5.1 defines for the cmdlets above (including curl, wget, ls, cat,
    # sort, tee and sc, which 5.1 has and PowerShell 7 on Linux/macOS does not).
    $aliases = @{
        'irm' = 'Invoke-RestMethod'; 'iwr' = 'Invoke-WebRequest'; 'curl' = 'Invoke-WebRequest'; 'wget' = 'Invoke-WebRequest'
        '%' = 'ForEach-Object'; 'foreach' = 'ForEach-Object'; '?' = 'Where-Object'; 'where' = 'Where-Object'
        'select' = 'Select-Object'; 'sort' = 'Sort-Object'; 'gu' = 'Get-Unique'; 'measure' = 'Measure-Object'; 'tee' = 'Tee-Object'
        'gc' = 'Get-Content'; 'cat' = 'Get-Content'; 'type' = 'Get-Content'; 'sc' = 'Set-Content'; 'ac' = 'Add-Content'
        'start' = 'Start-Process'; 'saps' = 'Start-Process'; 'sls' = 'Select-String'; 'epcsv' = 'Export-Csv'; 'ipcsv' = 'Import-Csv'
        'sleep' = 'Start-Sleep'; 'gci' = 'Get-ChildItem'; 'ls' = 'Get-ChildItem'; 'dir' = 'Get-ChildItem'; 'rvpa' = 'Resolve-Path'
        'ipmo' = 'Import-Module'; 'gmo' = 'Get-Module'; 'sajb' = 'Start-Job'; 'icm' = 'Invoke-Command'; 'gcm' = 'Get-Command'
        'fhx' = 'Format-Hex'
    }
    # Cmdlets whose -Encoding takes a name in 5.1; the union of the names any of them accept there.
    # PowerShell 6.2+ also takes utf8BOM, utf8NoBOM, ansi, code page numbers and names, and Encoding objects.
    $encodingCommands = 'Get-Content Set-Content Add-Content Out-File Export-Csv Import-Csv Export-Clixml Select-String Format-Hex' -split ' '
    $encodings51 = 'Unknown String Unicode Byte BigEndianUnicode BigEndianUTF32 UTF8 UTF7 UTF32 Ascii Default Oem' -split ' '
    # What to do instead on 5.1, where there is a well-known answer.
    $hints = @{
        'skipcertificatecheck' = 'on 5.1 trust the certificate (or set [System.Net.ServicePointManager]::ServerCertificateValidationCallback) instead'
        'asbytestream'         = 'on 5.1 use -Encoding Byte'
        'ashashtable'          = 'on 5.1 convert the PSCustomObject yourself'
        'parallel'             = 'on 5.1 use runspaces or Start-Job'
        'skiphttperrorcheck'   = 'on 5.1 catch the WebException and read its Response'
    }
    @{
        Commands         = $commands
        Absent           = $absent
        Aliases          = $aliases
        EncodingCommands = $encodingCommands
        Encodings51      = $encodings51
        Hints            = $hints
    }
}

function Resolve-Kr51CommandName {
    # The cmdlet a command name stands for in 5.1: module-qualified names lose their module, aliases are
    # expanded; names keep their own casing when they are not known.
    param([string] $Name, [hashtable] $Rules)
    if (-not $Name) { return $null }
    $n = $Name
    $slash = $n.LastIndexOf('\')
    if ($slash -ge 0) { $n = $n.Substring($slash + 1) }
    if ($Rules.Aliases.ContainsKey($n)) { return $Rules.Aliases[$n] }
    foreach ($k in $Rules.Commands.Keys) { if ($k -eq $n) { return $k } }
    foreach ($k in $Rules.Absent.Keys) { if ($k -eq $n) { return $k } }
    foreach ($k in $Rules.EncodingCommands) { if ($k -eq $n) { return $k } }
    $n
}

function Test-Kr51Parameter {
    # Decides what a written parameter name binds to on 5.1, the way PowerShell does: case-insensitively,
    # an exact name or alias first, then any unambiguous prefix. Returns $null when it binds to (or could
    # be) a 5.1 parameter, or is unknown - a typo is not a 5.1 issue; otherwise the 6/7-only parameters
    # it can only mean, and whether it named one exactly.
    param([string] $Written, [hashtable] $Spec)
    $w = $Written.ToLowerInvariant()
    if ($Spec.Old.ContainsKey($w)) { return $null }
    if ($Spec.New.ContainsKey($w)) { return @{ Exact = $true; Meant = @($Spec.New[$w]); Names = @($w) } }
    foreach ($k in $Spec.Old.Keys) { if ($k.StartsWith($w)) { return $null } }
    $keys = @($Spec.New.Keys | Where-Object { $_.StartsWith($w) } | Sort-Object)
    if ($keys.Count -eq 0) { return $null }
    @{ Exact = $false; Meant = @($keys | ForEach-Object { $Spec.New[$_] }); Names = $keys }
}

function Get-Kr51ParameterArgument {
    # The argument given to the parameter at $Index of the command: -Name:value, or the element after it.
    param([object] $CommandAst, [int] $Index)
    $elements = $CommandAst.CommandElements
    $p = $elements[$Index]
    if ($p.Argument) { return $p.Argument }
    if ($Index + 1 -lt $elements.Count -and $elements[$Index + 1] -isnot [System.Management.Automation.Language.CommandParameterAst]) {
        return $elements[$Index + 1]
    }
    $null
}

function Get-Kr51TypeNameList {
    # All type names inside a (possibly generic or array) type name, e.g. [List[semver]] -> List, semver.
    param([object] $TypeName)
    if (-not $TypeName) { return }
    $TypeName.FullName
    $inner = Get-Kr51Member $TypeName 'TypeName'
    if ($inner) { Get-Kr51TypeNameList $inner }
    $element = Get-Kr51Member $TypeName 'ElementType'
    if ($element) { Get-Kr51TypeNameList $element }
    $generic = Get-Kr51Member $TypeName 'GenericArguments'
    foreach ($g in @($generic)) { if ($g) { Get-Kr51TypeNameList $g } }
}

function Find-Kr51CommandIncompatibility {
    # Checks one command invocation: cmdlets 5.1 lacks, parameters it lacks, -Encoding values it lacks,
    # Join-Path with several child paths, and notes splatting into a checked cmdlet.
    param([object] $CommandAst, [string] $File, [hashtable] $Rules, [hashtable] $LocalFunctions)
    $raw = $CommandAst.GetCommandName()
    if (-not $raw) { return }
    # A number with a 6.2+ type suffix or a binary literal is, to the 5.1 parser, a command name.
    if ($raw -match '^[+-]?(?:0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)(?:y|uy|s|us|u|ul|n)(?:kb|mb|gb|tb|pb)?$' -or $raw -match '^[+-]?0[bB][01]+$') {
        New-Kr51Finding $File $CommandAst.Extent 'numeric literal' "'$raw' is a number only in PowerShell 6.2+ (type suffix) or 7 (binary literal); 5.1 runs it as a command"
        return
    }
    # Functions the file defines itself shadow built-in names.
    if ($LocalFunctions.ContainsKey($raw)) { return }
    $name = Resolve-Kr51CommandName $raw $Rules
    $elements = $CommandAst.CommandElements

    if ($Rules.Absent.ContainsKey($name)) {
        New-Kr51Finding $File $CommandAst.Extent "cmdlet $name" "$name does not exist in Windows PowerShell 5.1 ($($Rules.Absent[$name]))"
    }

    # A clean block is, to the 5.1 parser, a command called 'clean' taking a script block.
    if ($raw -eq 'clean' -and $elements.Count -eq 2 -and $elements[1] -is [System.Management.Automation.Language.ScriptBlockExpressionAst]) {
        New-Kr51Finding $File $CommandAst.Extent 'clean block' 'the clean { } block is PowerShell 7.3+; 5.1 runs it as a command named clean'
    }

    $spec = $null
    if ($Rules.Commands.ContainsKey($name)) { $spec = $Rules.Commands[$name] }
    $checksEncoding = $Rules.EncodingCommands -contains $name

    for ($i = 1; $i -lt $elements.Count; $i++) {
        $e = $elements[$i]
        if ($e -is [System.Management.Automation.Language.VariableExpressionAst] -and $e.Splatted -and ($spec -or $checksEncoding)) {
            New-Kr51Finding $File $e.Extent 'splatting' "parameters splatted into $name from @$($e.VariablePath.UserPath) cannot be checked statically" 'Note'
            continue
        }
        if ($e -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
        $written = $e.ParameterName
        if (-not $written) { continue }

        if ($spec) {
            $meant = Test-Kr51Parameter $written $spec
            if ($meant) {
                $hints = @($meant.Names | Where-Object { $Rules.Hints.ContainsKey($_) } | ForEach-Object { $Rules.Hints[$_] })
                if ($meant.Exact -and $meant.Meant[0] -like '*(*') {
                    # Aliases and -ProgressAction carry their own note on where they come from.
                    $what = "$($meant.Meant[0]): $name in Windows PowerShell 5.1 has no such parameter"
                }
                elseif ($meant.Exact) {
                    $what = "$($meant.Meant[0]): $name in Windows PowerShell 5.1 has no such parameter (added in PowerShell 6/7)"
                }
                else {
                    $what = "-$written can only mean $($meant.Meant -join ' or ') of $name, which Windows PowerShell 5.1 does not have"
                }
                if ($hints.Count -gt 0) { $what = "$what; $($hints -join '; ')" }
                New-Kr51Finding $File $e.Extent "$name -$written" $what
            }
        }
        elseif ($name -like '*-*') {
            # Any cmdlet or advanced function: -ProgressAction is a common parameter only from 7.4 on.
            $w = $written.ToLowerInvariant()
            if ($w -eq 'progressaction' -or $w -eq 'proga') {
                New-Kr51Finding $File $e.Extent "$name -$written" '-ProgressAction is a common parameter only since PowerShell 7.4'
            }
        }

        if ($checksEncoding) {
            $w = $written.ToLowerInvariant()
            if ($w.Length -ge 2 -and 'encoding'.StartsWith($w)) {
                $value = Get-Kr51ParameterArgument $CommandAst $i
                if ($value -is [System.Management.Automation.Language.StringConstantExpressionAst]) {
                    if ($Rules.Encodings51 -notcontains $value.Value) {
                        New-Kr51Finding $File $value.Extent "$name -Encoding $($value.Value)" "Windows PowerShell 5.1 has no encoding named '$($value.Value)' (it knows $($Rules.Encodings51 -join ', '))"
                    }
                }
                elseif ($value -is [System.Management.Automation.Language.ConstantExpressionAst]) {
                    New-Kr51Finding $File $value.Extent "$name -Encoding $($value.Value)" 'code page numbers for -Encoding are PowerShell 6.2+; 5.1 takes only encoding names'
                }
                elseif ($value -is [System.Management.Automation.Language.MemberExpressionAst] -and $value.Expression -is [System.Management.Automation.Language.TypeExpressionAst] -and $value.Expression.TypeName.FullName -match '(^|\.)Text\.(\w*Encoding)$|^Encoding$') {
                    New-Kr51Finding $File $value.Extent "$name -Encoding $($value.Extent.Text)" 'Encoding objects for -Encoding are PowerShell 6.2+; 5.1 takes only encoding names'
                }
            }
        }
    }

    if ($name -eq 'Join-Path') {
        # 5.1's Join-Path takes one -Path and one [string] -ChildPath; more child paths need 6.0+.
        $switches = 'resolve usetransaction usetx verbose vb debug db' -split ' '
        $positional = 0
        for ($i = 1; $i -lt $elements.Count; $i++) {
            $e = $elements[$i]
            if ($e -is [System.Management.Automation.Language.CommandParameterAst]) {
                $w = $e.ParameterName.ToLowerInvariant()
                $value = Get-Kr51ParameterArgument $CommandAst $i
                if ('childpath'.StartsWith($w) -and $w.Length -ge 2 -and $value -is [System.Management.Automation.Language.ArrayLiteralAst]) {
                    New-Kr51Finding $File $value.Extent 'Join-Path -ChildPath a, b' '5.1 Join-Path -ChildPath takes a single string; several child paths need PowerShell 6.0+'
                }
                $isSwitch = $false
                foreach ($s in $switches) { if ($s.StartsWith($w)) { $isSwitch = $true } }
                if (-not $e.Argument -and -not $isSwitch) { $i++ }
                continue
            }
            $positional++
            if ($positional -eq 2 -and $e -is [System.Management.Automation.Language.ArrayLiteralAst]) {
                New-Kr51Finding $File $e.Extent 'Join-Path -ChildPath a, b' '5.1 Join-Path -ChildPath takes a single string; several child paths need PowerShell 6.0+'
            }
            if ($positional -eq 3) {
                New-Kr51Finding $File $e.Extent 'Join-Path a b c' 'Join-Path with more than one child path needs PowerShell 6.0+ (-AdditionalChildPath); 5.1 takes one'
            }
        }
    }
}

function Find-Kr51AttributeIncompatibility {
    # Parameter and class attributes, and their arguments, that only PowerShell 6/7 have. 5.1 parses them
    # (attributes are plain syntax) and fails only when the function is defined or called.
    param([object] $Attribute, [string] $File)
    $full = $Attribute.TypeName.FullName
    $short = ($full -split '\.')[-1]
    if ($short -match '^(.+)Attribute$') { $short = $Matches[1] }
    $short = $short.ToLowerInvariant()
    $added = @{
        'validatenotnullorwhitespace' = 'PowerShell 7.4+'
        'argumentcompletions'         = 'PowerShell 6.0+'
        'experimental'                = 'PowerShell 6.1+'
        'norunspaceaffinity'          = 'PowerShell 7.4+'
    }
    if ($added.ContainsKey($short)) {
        New-Kr51Finding $File $Attribute.Extent "[$full()]" "the $full attribute does not exist in Windows PowerShell 5.1 ($($added[$short]))"
    }
    if ($short -eq 'validaterange' -and $Attribute.PositionalArguments.Count -eq 1) {
        New-Kr51Finding $File $Attribute.Extent '[ValidateRange(kind)]' 'ValidateRange with a ValidateRangeKind (Positive, NonNegative, ...) is PowerShell 6.1+; 5.1 needs a minimum and a maximum'
    }
    if ($short -eq 'validateset') {
        foreach ($a in $Attribute.PositionalArguments) {
            if ($a -is [System.Management.Automation.Language.TypeExpressionAst]) {
                New-Kr51Finding $File $a.Extent '[ValidateSet([type])]' 'ValidateSet with a values-generator class is PowerShell 6.0+'
            }
        }
    }
    if ($short -like 'validate*') {
        foreach ($n in $Attribute.NamedArguments) {
            if ($n.ArgumentName -eq 'ErrorMessage') {
                New-Kr51Finding $File $n.Extent "[$full(ErrorMessage=...)]" 'the ErrorMessage argument of validation attributes is PowerShell 6.0+'
            }
        }
    }
}

function Find-Kr51TokenIncompatibility {
    # What only the token stream shows: escape sequences 5.1 does not know (it keeps the letter), numeric
    # literal suffixes, and a pipe that starts a line.
    param([object[]] $Tokens, [string] $File)
    $previous = $null
    foreach ($t in $Tokens) {
        $kind = $t.Kind.ToString()
        if ($kind -eq 'StringExpandable' -or $kind -eq 'HereStringExpandable' -or $kind -eq 'Generic') {
            Find-Kr51EscapeIncompatibility $t $File
        }
        if ($kind -eq 'Number') {
            if ($t.Text -match '^[+-]?0[bB][01]+') {
                New-Kr51Finding $File $t.Extent 'numeric literal' "binary literal $($t.Text) is not understood by Windows PowerShell 5.1"
            }
            elseif ($t.Text -match '^[+-]?(?:0[xX][0-9a-fA-F]+|\d+)(y|uy|s|us|u|ul|n)(?:kb|mb|gb|tb|pb)?$') {
                New-Kr51Finding $File $t.Extent 'numeric literal' "the type suffix '$($Matches[1])' in $($t.Text) is PowerShell 6.2+ (n: 7.0+); 5.1 reads the token as a string or command name"
            }
        }
        if ($kind -eq 'Pipe' -and $previous -and $previous.Kind.ToString() -eq 'NewLine') {
            New-Kr51Finding $File $t.Extent 'leading pipe' 'a pipeline continued by a | at the start of the next line is PowerShell 7.0+; on 5.1 end the previous line with |'
        }
        if ($kind -ne 'Comment') { $previous = $t }
    }
}

function Find-Kr51EscapeIncompatibility {
    # `e (ESC) and `u{...} (a code point) came with PowerShell 6.0; 5.1 drops the backtick and keeps the
    # letter, so the text silently changes. Code nested in the string ($(...)) is checked as its own tokens.
    param([object] $Token, [string] $File)
    $text = $Token.Text.ToCharArray()
    $start = $Token.Extent.StartOffset
    $nested = Get-Kr51Member $Token 'NestedTokens'
    foreach ($n in @($nested)) {
        if (-not $n) { continue }
        for ($k = $n.Extent.StartOffset - $start; $k -lt $n.Extent.EndOffset - $start -and $k -lt $text.Length; $k++) {
            if ($k -ge 0) { $text[$k] = ' ' }
        }
        $nestedKind = $n.Kind.ToString()
        if ($nestedKind -eq 'StringExpandable' -or $nestedKind -eq 'HereStringExpandable' -or $nestedKind -eq 'Generic') {
            Find-Kr51EscapeIncompatibility $n $File
        }
    }
    $line = $Token.Extent.StartLineNumber
    $i = 0
    while ($i -lt $text.Length) {
        $c = $text[$i]
        if ($c -eq "`n") { $line++ }
        if ($c -eq '`' -and $i + 1 -lt $text.Length) {
            $next = $text[$i + 1]
            # Escape letters are case-sensitive: only lower-case e and u are the new ones.
            if ($next -ceq 'e') {
                New-Kr51Finding $File $Token.Extent 'escape `e' 'the `e (ESC) escape is PowerShell 6.0+; 5.1 turns it into a plain e (use [char]27)' -Line $line
            }
            elseif ($next -ceq 'u' -and $i + 2 -lt $text.Length -and $text[$i + 2] -eq '{') {
                New-Kr51Finding $File $Token.Extent 'escape `u{}' 'the `u{...} escape is PowerShell 6.0+; 5.1 turns it into plain text (use [char] or [char]::ConvertFromUtf32)' -Line $line
            }
            if ($next -eq "`n") { $line++ }
            $i += 2
            continue
        }
        $i++
    }
}

function Find-Kr51ManifestIncompatibility {
    # A module manifest that declares it needs more than 5.1, or only the Core edition.
    param([object] $Ast, [string] $File)
    $table = $Ast.Find({ $args[0] -is [System.Management.Automation.Language.HashtableAst] }, $true)
    if (-not $table) { return }
    foreach ($pair in $table.KeyValuePairs) {
        $key = $pair.Item1
        if ($key -isnot [System.Management.Automation.Language.StringConstantExpressionAst]) { continue }
        $strings = @($pair.Item2.FindAll({ $args[0] -is [System.Management.Automation.Language.StringConstantExpressionAst] }, $true) | ForEach-Object { $_.Value })
        if ($key.Value -eq 'PowerShellVersion' -and $strings.Count -gt 0) {
            $v = $null
            if ([version]::TryParse($strings[0], [ref]$v) -and $v -gt [version]'5.1') {
                New-Kr51Finding $File $pair.Item2.Extent 'PowerShellVersion' "the manifest requires PowerShell $v, so Windows PowerShell 5.1 refuses to import it"
            }
        }
        if ($key.Value -eq 'CompatiblePSEditions' -and $strings.Count -gt 0 -and $strings -notcontains 'Desktop') {
            New-Kr51Finding $File $pair.Item2.Extent 'CompatiblePSEditions' "the manifest lists only $($strings -join ', '), so Windows PowerShell 5.1 (Desktop) refuses to import it"
        }
    }
}

function Find-Kr51Incompatibility {
    <#
    .SYNOPSIS
    Lists what in a script keeps it from running on Windows PowerShell 5.1.
    .DESCRIPTION
    Parses the script with the running PowerShell's parser and returns findings (File, Line, Column,
    Construct, Message, Severity). Severity 'Error' is something 5.1 cannot parse or run; 'Note' is
    something that cannot be decided statically. On 5.1 itself, syntax 5.1 lacks shows up as parse errors.
    .PARAMETER Manifest
    Also check the file as a module manifest; implied for .psd1 files.
    #>
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Path')]
        [string] $Path,

        [Parameter(Mandatory = $true, ParameterSetName = 'Text')]
        [string] $ScriptText,

        [string] $Label = '<script>',

        [switch] $Manifest
    )
    $rules = Get-Kr51Rules
    $tokens = $null
    $errors = $null
    $isManifest = [bool]$Manifest
    if ($PSCmdlet.ParameterSetName -eq 'Path') {
        $full = (Resolve-Path -LiteralPath $Path).ProviderPath
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($full, [ref]$tokens, [ref]$errors)
        if ($Label -eq '<script>') { $Label = $Path }
        if ($full -match '\.psd1$') { $isManifest = $true }
    }
    else {
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($ScriptText, [ref]$tokens, [ref]$errors)
    }

    # On 5.1 this is where syntax it lacks appears; on 7 a plain syntax error.
    foreach ($e in @($errors)) {
        if ($e) { New-Kr51Finding $Label $e.Extent 'parse error' "$($e.Message) ($($e.ErrorId))" }
    }

    $localFunctions = @{}
    foreach ($f in $ast.FindAll({ $args[0] -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) {
        $localFunctions[$f.Name] = $true
    }

    foreach ($node in $ast.FindAll({ $true }, $true)) {
        switch ($node.GetType().Name) {
            'TernaryExpressionAst' {
                New-Kr51Finding $Label $node.Extent 'ternary ?:' 'the ternary operator a ? b : c is PowerShell 7.0+; use if/else'
            }
            'BinaryExpressionAst' {
                $op = $node.Operator.ToString()
                if ($op -eq 'QuestionQuestion') {
                    New-Kr51Finding $Label $node.Extent '??' 'the null-coalescing operator ?? is PowerShell 7.0+'
                }
                if (($op -eq 'Ireplace' -or $op -eq 'Creplace' -or $op -eq 'Replace') -and $node.Right -is [System.Management.Automation.Language.ArrayLiteralAst] -and $node.Right.Elements.Count -ge 2 -and $node.Right.Elements[1] -is [System.Management.Automation.Language.ScriptBlockExpressionAst]) {
                    New-Kr51Finding $Label $node.Extent '-replace with a script block' 'a script block as -replace substitution is PowerShell 6.1+; 5.1 substitutes the block''s text'
                }
            }
            'AssignmentStatementAst' {
                if ($node.Operator.ToString() -eq 'QuestionQuestionEquals') {
                    New-Kr51Finding $Label $node.Extent '??=' 'the null-coalescing assignment ??= is PowerShell 7.0+'
                }
            }
            { $_ -eq 'MemberExpressionAst' -or $_ -eq 'InvokeMemberExpressionAst' } {
                if (Get-Kr51Member $node 'NullConditional') {
                    New-Kr51Finding $Label $node.Extent '?.' 'null-conditional member access ?. is PowerShell 7.0+ (7.1 without experimental features)'
                }
                $generic = Get-Kr51Member $node 'GenericTypeArguments'
                if ($generic -and @($generic).Count -gt 0) {
                    New-Kr51Finding $Label $node.Extent 'generic method call' 'calling a method with explicit type arguments, .Method[T](), is PowerShell 7.3+'
                }
            }
            'IndexExpressionAst' {
                if (Get-Kr51Member $node 'NullConditional') {
                    New-Kr51Finding $Label $node.Extent '?[]' 'null-conditional indexing ?[] is PowerShell 7.0+ (7.1 without experimental features)'
                }
            }
            'PipelineChainAst' {
                # a && b || c nests; report the chain once.
                if ($node.Parent.GetType().Name -ne 'PipelineChainAst') {
                    New-Kr51Finding $Label $node.Extent '&& / ||' 'pipeline chain operators && and || are PowerShell 7.0+; test $? or $LASTEXITCODE instead'
                }
                if (Get-Kr51Member $node 'Background') {
                    New-Kr51Finding $Label $node.Extent 'background &' 'the background operator & is PowerShell 6.0+; use Start-Job'
                }
            }
            'PipelineAst' {
                if (Get-Kr51Member $node 'Background') {
                    New-Kr51Finding $Label $node.Extent 'background &' 'the background operator & is PowerShell 6.0+; use Start-Job'
                }
            }
            'ScriptBlockAst' {
                $clean = Get-Kr51Member $node 'CleanBlock'
                if ($clean) {
                    New-Kr51Finding $Label $clean.Extent 'clean block' 'the clean { } block is PowerShell 7.3+'
                }
                $req = $node.ScriptRequirements
                if ($req) {
                    $line = 1
                    foreach ($t in $tokens) { if ($t.Kind.ToString() -eq 'Comment' -and $t.Text -match '^#requires') { $line = $t.Extent.StartLineNumber; break } }
                    if ($req.RequiredPSVersion -and $req.RequiredPSVersion -gt [version]'5.1') {
                        New-Kr51Finding $Label $null '#requires -Version' "#requires -Version $($req.RequiredPSVersion) keeps Windows PowerShell 5.1 from running the script" -Line $line
                    }
                    $editions = @(Get-Kr51Member $req 'RequiredPSEditions')
                    if (@($editions | Where-Object { $_ }).Count -gt 0 -and $editions -notcontains 'Desktop') {
                        New-Kr51Finding $Label $null '#requires -PSEdition' "#requires -PSEdition $($editions -join ', ') keeps Windows PowerShell 5.1 (Desktop) from running the script" -Line $line
                    }
                }
            }
            'TypeDefinitionAst' {
                if ($node.IsEnum -and $node.BaseTypes.Count -gt 0) {
                    New-Kr51Finding $Label $node.Extent 'enum : type' 'an enum with an underlying type (enum E : byte) is PowerShell 6.2+'
                }
            }
            'AttributeAst' {
                Find-Kr51AttributeIncompatibility $node $Label
            }
            { $_ -eq 'TypeExpressionAst' -or $_ -eq 'TypeConstraintAst' } {
                foreach ($n in @(Get-Kr51TypeNameList $node.TypeName)) {
                    if ($n -eq 'semver' -or $n -match '(^|\.)SemanticVersion$') {
                        New-Kr51Finding $Label $node.Extent '[semver]' 'the [semver] type (System.Management.Automation.SemanticVersion) is PowerShell 6.0+'
                    }
                }
            }
            'CommandAst' {
                Find-Kr51CommandIncompatibility $node $Label $rules $localFunctions
            }
        }
    }

    Find-Kr51TokenIncompatibility $tokens $Label
    if ($isManifest) { Find-Kr51ManifestIncompatibility $ast $Label }
}

function Get-Kr51CheckedFile {
    # The files the compatibility test covers: every script, module and data file of the PowerShell module
    # (its tests included) and the build script at the repository root.
    param([string] $RepositoryRoot)
    $moduleDir = Join-Path $RepositoryRoot 'pwsh-module'
    $files = @(Get-ChildItem -LiteralPath $moduleDir -Recurse -File |
            Where-Object { @('.ps1', '.psm1', '.psd1') -contains $_.Extension.ToLowerInvariant() })
    $build = Join-Path $RepositoryRoot 'build.ps1'
    if (Test-Path -LiteralPath $build) { $files += Get-Item -LiteralPath $build }
    $root = $RepositoryRoot.TrimEnd('\', '/')
    foreach ($f in ($files | Sort-Object FullName)) {
        # A path relative to the repository, with / on every platform, as the test's name.
        $relative = $f.FullName
        if ($relative.StartsWith($root, [System.StringComparison]::OrdinalIgnoreCase)) {
            $relative = $relative.Substring($root.Length).TrimStart('\', '/')
        }
        @{ Path = $f.FullName; Name = $relative.Replace('\', '/') }
    }
}
