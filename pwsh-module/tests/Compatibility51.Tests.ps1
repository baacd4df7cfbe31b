# The module must keep working on Windows PowerShell 5.1, which cannot run where these tests usually run.
# This file checks that statically: every script of the module, its tests (this file included) and
# build.ps1 are parsed with PowerShell's own parser and searched for syntax, cmdlets and parameters that
# only PowerShell 6/7 have (see Compatibility51.ps1 for the rules and why each is there).
#
# It does not import the module and needs neither the build nor the emulator, so it can run anywhere,
# including on Windows PowerShell 5.1 itself with Pester 5.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Compatibility51.ps1')
    $repositoryRoot = Split-Path (Split-Path $PSScriptRoot -Parent) -Parent
    $checkedFiles = @(Get-Kr51CheckedFile -RepositoryRoot $repositoryRoot)

    # Each case feeds the checker a small script with one construct and names the Construct it must
    # report. On a PowerShell older than MinVersion the parser may not know the construct: 'ParseError'
    # cases then also accept a parse error (which is a finding too, and is what 5.1 reports), while
    # 'Skip' cases - where an older parser reads the text as something else - are skipped.
    $detectionCases = @(
        @{ Construct = 'ternary ?:'; MinVersion = '7.0'; Below = 'ParseError'; Script = '$x = $true ? 1 : 2' }
        @{ Construct = '??'; MinVersion = '7.0'; Below = 'ParseError'; Script = '$x = $null ?? 1' }
        @{ Construct = '??='; MinVersion = '7.0'; Below = 'ParseError'; Script = '$x ??= 1' }
        @{ Construct = '?.'; MinVersion = '7.1'; Below = 'ParseError'; Script = '${x}?.Length' }
        @{ Construct = '?.'; MinVersion = '7.1'; Below = 'ParseError'; Script = '${x}?.ToString()' }
        @{ Construct = '?[]'; MinVersion = '7.1'; Below = 'ParseError'; Script = '${x}?[0]' }
        @{ Construct = '&& / ||'; MinVersion = '7.0'; Below = 'ParseError'; Script = 'git status && git diff || exit 1' }
        @{ Construct = 'background &'; MinVersion = '6.0'; Below = 'ParseError'; Script = 'Get-Process &' }
        @{ Construct = 'leading pipe'; MinVersion = '7.0'; Below = 'ParseError'; Script = "Get-Process`n    | Select-Object -First 1" }
        @{ Construct = 'generic method call'; MinVersion = '7.3'; Below = 'ParseError'; Script = '[System.Linq.Enumerable]::Empty[int]()' }
        @{ Construct = 'enum : type'; MinVersion = '6.2'; Below = 'ParseError'; Script = 'enum Small : byte { One }' }
        # Before 7.3 a clean block after another named block is a parse error, and a lone one is read as a
        # call of a command named clean with a script block, which the checker recognises on any version.
        @{ Construct = 'clean block'; MinVersion = '7.3'; Below = 'ParseError'; Script = "function f {`n    process { 1 }`n    clean { 2 }`n}" }
        @{ Construct = 'clean block'; MinVersion = '5.1'; Below = 'ParseError'; Script = "function f {`n    clean { 2 }`n}" }
        @{ Construct = 'numeric literal'; MinVersion = '6.2'; Below = 'Skip'; Script = '$x = 1u' }
        @{ Construct = 'numeric literal'; MinVersion = '7.0'; Below = 'Skip'; Script = '$x = 10n' }
        @{ Construct = 'numeric literal'; MinVersion = '7.0'; Below = 'Skip'; Script = '$x = 0b1010' }
        @{ Construct = 'escape `e'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Write-Host "`e[31mred"' }
        @{ Construct = 'escape `u{}'; MinVersion = '5.1'; Below = 'ParseError'; Script = ('$s = @"' + [Environment]::NewLine + 'smile `u{1F600}' + [Environment]::NewLine + '"@') }
        @{ Construct = '-replace with a script block'; MinVersion = '5.1'; Below = 'ParseError'; Script = '''abc'' -replace ''b'', { $_.Value.ToUpper() }' }
        @{ Construct = '#requires -Version'; MinVersion = '5.1'; Below = 'ParseError'; Script = "#requires -Version 7.2`nGet-Date" }
        @{ Construct = '#requires -PSEdition'; MinVersion = '5.1'; Below = 'ParseError'; Script = "#requires -PSEdition Core`nGet-Date" }
        @{ Construct = '[semver]'; MinVersion = '5.1'; Below = 'ParseError'; Script = '$v = [semver]''1.2.3''' }
        @{ Construct = '[ValidateRange(kind)]'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'function f { param([ValidateRange(''Positive'')] [int] $n) }' }
        @{ Construct = '[ValidateSet([type])]'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'function f { param([ValidateSet([ColorNames])] [string] $c) }' }
        @{ Construct = '[ValidatePattern(ErrorMessage=...)]'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'function f { param([ValidatePattern(''^a'', ErrorMessage = ''starts with a'')] [string] $s) }' }
        @{ Construct = '[ValidateNotNullOrWhiteSpace()]'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'function f { param([ValidateNotNullOrWhiteSpace()] [string] $s) }' }
        @{ Construct = '[ArgumentCompletions()]'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'function f { param([ArgumentCompletions(''a'', ''b'')] [string] $s) }' }
        @{ Construct = 'Invoke-RestMethod -SkipCertificateCheck'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-RestMethod -Uri https://localhost -SkipCertificateCheck' }
        # Parameter names are case-insensitive and may be shortened to any unambiguous prefix.
        @{ Construct = 'Invoke-RestMethod -skipcert'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'irm https://localhost -skipcert' }
        @{ Construct = 'Invoke-WebRequest -SkipHttpErrorCheck'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-WebRequest https://localhost -SkipHttpErrorCheck' }
        @{ Construct = 'Invoke-RestMethod -StatusCodeVariable'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-RestMethod https://localhost -StatusCodeVariable code' }
        @{ Construct = 'Invoke-RestMethod -ResponseHeadersVariable'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-RestMethod https://localhost -ResponseHeadersVariable h' }
        @{ Construct = 'Invoke-RestMethod -Authentication'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-RestMethod https://localhost -Authentication Bearer -Token $t' }
        @{ Construct = 'Invoke-WebRequest -SslProtocol'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-WebRequest https://localhost -SslProtocol Tls12' }
        @{ Construct = 'Invoke-RestMethod -Form'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-RestMethod https://localhost -Method Post -Form @{ a = 1 }' }
        @{ Construct = 'Invoke-WebRequest -Resume'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-WebRequest https://localhost -OutFile f -Resume' }
        @{ Construct = 'Invoke-RestMethod -MaximumRetryCount'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Invoke-RestMethod https://localhost -MaximumRetryCount 3 -RetryIntervalSec 1' }
        @{ Construct = 'ConvertFrom-Json -AsHashtable'; MinVersion = '5.1'; Below = 'ParseError'; Script = '''{}'' | ConvertFrom-Json -AsHashtable' }
        @{ Construct = 'ConvertFrom-Json -Depth'; MinVersion = '5.1'; Below = 'ParseError'; Script = '''{}'' | ConvertFrom-Json -Depth 5' }
        @{ Construct = 'ConvertFrom-Json -NoEnumerate'; MinVersion = '5.1'; Below = 'ParseError'; Script = '''[]'' | ConvertFrom-Json -NoEnumerate' }
        @{ Construct = 'ConvertTo-Json -EnumsAsStrings'; MinVersion = '5.1'; Below = 'ParseError'; Script = '@{} | ConvertTo-Json -EnumsAsStrings' }
        @{ Construct = 'ConvertTo-Json -AsArray'; MinVersion = '5.1'; Below = 'ParseError'; Script = '1 | ConvertTo-Json -AsArray' }
        @{ Construct = 'ConvertTo-Json -EscapeHandling'; MinVersion = '5.1'; Below = 'ParseError'; Script = '1 | ConvertTo-Json -EscapeHandling EscapeNonAscii' }
        @{ Construct = 'Get-Content -AsByteStream'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Get-Content x.bin -AsByteStream' }
        @{ Construct = 'Set-Content -AsByteStream'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Set-Content x.bin -Value $b -AsByteStream' }
        @{ Construct = 'Add-Content -AsByteStream'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'ac x.bin $b -AsByteStream' }
        @{ Construct = 'Start-Process -Environment'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Start-Process x -Environment @{ A = 1 }' }
        @{ Construct = 'ForEach-Object -Parallel'; MinVersion = '5.1'; Below = 'ParseError'; Script = '1..3 | ForEach-Object -Parallel { $_ }' }
        @{ Construct = 'ForEach-Object -ThrottleLimit'; MinVersion = '5.1'; Below = 'ParseError'; Script = '1..3 | % -Parallel { $_ } -ThrottleLimit 2' }
        @{ Construct = 'Select-Object -SkipIndex'; MinVersion = '5.1'; Below = 'ParseError'; Script = '1..3 | select -SkipIndex 1' }
        @{ Construct = 'Join-Path a b c'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Join-Path $root ''a'' ''b''' }
        @{ Construct = 'Join-Path -AdditionalChildPath'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Join-Path -Path a -ChildPath b -AdditionalChildPath c' }
        @{ Construct = 'Get-Date -AsUTC'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Get-Date -AsUTC' }
        @{ Construct = 'Test-Connection -TargetName'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Test-Connection -TargetName localhost' }
        @{ Construct = 'ConvertFrom-SecureString -AsPlainText'; MinVersion = '5.1'; Below = 'ParseError'; Script = '$s | ConvertFrom-SecureString -AsPlainText' }
        @{ Construct = 'Start-Sleep -ms'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Start-Sleep -ms 100' }
        @{ Construct = 'Get-ChildItem -ProgressAction'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Get-ChildItem -ProgressAction SilentlyContinue' }
        @{ Construct = 'Get-Thing -ProgressAction'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Get-Thing -ProgressAction SilentlyContinue' }
        @{ Construct = 'Out-File -Encoding utf8NoBOM'; MinVersion = '5.1'; Below = 'ParseError'; Script = '''x'' | Out-File x.txt -Encoding utf8NoBOM' }
        @{ Construct = 'Set-Content -Encoding utf8BOM'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Set-Content x.txt ''x'' -Encoding:utf8BOM' }
        @{ Construct = 'Get-Content -Encoding 1252'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Get-Content x.txt -Encoding 1252' }
        @{ Construct = 'cmdlet Test-Json'; MinVersion = '5.1'; Below = 'ParseError'; Script = '''{}'' | Test-Json' }
        @{ Construct = 'cmdlet Get-Error'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Get-Error -Newest 1' }
        @{ Construct = 'cmdlet Join-String'; MinVersion = '5.1'; Below = 'ParseError'; Script = '1, 2 | Microsoft.PowerShell.Utility\Join-String -Separator '', ''' }
        @{ Construct = 'cmdlet Remove-Alias'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Remove-Alias x' }
        @{ Construct = 'cmdlet Get-Uptime'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'Get-Uptime' }
        @{ Construct = 'cmdlet ConvertFrom-Markdown'; MinVersion = '5.1'; Below = 'ParseError'; Script = 'ConvertFrom-Markdown -Path README.md' }
    )

    # Things that look close to the constructs above but are fine on 5.1, and must not be reported.
    $cleanCases = @(
        @{ What = 'a script using only 5.1 features'; Script = @'
using namespace System.Collections.Generic
#requires -Version 5.1
class Box { [int] $Size = 1 }
enum Color {
    Red
    Green
}
function Get-Thing {
    [CmdletBinding()]
    param(
        [ValidateSet('a', 'b')] [string] $Name = 'a',
        [ValidateRange(1, 10)] [int] $Count = 1,
        [ValidatePattern('^\w+$')] [string] $Word = 'w'
    )
    begin { $list = [List[string]]::new() }
    process {
        if ($IsWindows -or $IsLinux -or $IsMacOS) { 'core' }
        $x = if ($Name) { 1 } else { 2 }
        $v = [version]'1.2'
        $hex = 0xFF + 1kb + 5l + 1.5d
        "tab`t, newline`n, a literal `$e"
        '`e and `u{41} are plain text in single quotes'
        'abc' -replace 'b', 'B'
        Get-Process |
            Select-Object -First 1 -Skip 1 -SkipLast 1 |
            Sort-Object -Property Name -Descending
        Get-Content x.txt -Encoding UTF8 -Raw -TotalCount 1
        Invoke-RestMethod -Uri https://localhost -Method Post -Body '{}' -ContentType 'application/json' -TimeoutSec 5 -UseBasicParsing
        ConvertTo-Json -InputObject @{} -Depth 4 -Compress
        1..3 | ForEach-Object -Process { $_ } | Where-Object -FilterScript { $_ }
        Join-Path $PSScriptRoot 'child'
        Join-Path -Path $PSScriptRoot -ChildPath 'child' -Resolve
        Start-Sleep -Milliseconds 10
        Start-Sleep -m 10
        Get-ChildItem -Recurse -File -Depth 2
        & git status; if ($LASTEXITCODE -ne 0) { throw 'git' }
    }
    end { $list }
}
'@ }
        @{ What = 'a function of the file''s own named like a 7-only cmdlet'; Script = "function Join-String { `$args -join ',' }`nJoin-String 1 2" }
        @{ What = 'a pipe continued with a trailing |'; Script = "Get-Process |`n    Select-Object -First 1" }
        @{ What = 'a backtick line continuation'; Script = "Get-Process ```n    -Name pwsh" }
    )
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Compatibility51.ps1')

    # Major.minor of the running PowerShell as a [version]; 7's $PSVersionTable.PSVersion is a
    # SemanticVersion, which does not compare with [version] on 5.1.
    $runningVersion = [version]('{0}.{1}' -f $PSVersionTable.PSVersion.Major, $PSVersionTable.PSVersion.Minor)

    function Format-Kr51Findings([object[]] $Findings) {
        if (-not $Findings -or $Findings.Count -eq 0) { return '(none)' }
        ($Findings | ForEach-Object { '  ' + $_.ToString() }) -join [Environment]::NewLine
    }
}

Describe 'Windows PowerShell 5.1 compatibility checker' {
    Context 'reports each construct Windows PowerShell 5.1 lacks' {
        It 'reports <Construct> in: <Script>' -ForEach $detectionCases {
            $tooOld = $runningVersion -lt [version]$MinVersion
            if ($tooOld -and $Below -eq 'Skip') {
                Set-ItResult -Skipped -Because "PowerShell $runningVersion reads this text as something else; the check is exercised on $MinVersion+"
                return
            }
            $findings = @(Find-Kr51Incompatibility -ScriptText $Script -Label 'snippet' | Where-Object { $_.Severity -eq 'Error' })
            $hits = @($findings | Where-Object { $_.Construct -eq $Construct -or ($tooOld -and $_.Construct -eq 'parse error') })
            if ($hits.Count -eq 0) {
                throw "expected a '$Construct' finding; got:$([Environment]::NewLine)$(Format-Kr51Findings $findings)"
            }
            $hits[0].Line | Should -BeGreaterThan 0
            $hits[0].ToString() | Should -Match '^snippet:\d+:\d+: '
        }

        It 'notes, but does not fail, parameters it cannot see because they are splatted' {
            $findings = @(Find-Kr51Incompatibility -ScriptText "`$p = @{ SkipCertificateCheck = `$true }`nInvoke-RestMethod https://localhost @p")
            @($findings | Where-Object { $_.Severity -eq 'Error' }).Count | Should -Be 0
            @($findings | Where-Object { $_.Severity -eq 'Note' -and $_.Construct -eq 'splatting' }).Count | Should -Be 1
        }

        It 'reports a module manifest that requires more than 5.1 or only the Core edition' {
            $manifest = "@{`n    ModuleVersion = '1.0'`n    PowerShellVersion = '7.2'`n    CompatiblePSEditions = @('Core')`n}"
            $findings = @(Find-Kr51Incompatibility -ScriptText $manifest -Manifest)
            ($findings | ForEach-Object { $_.Construct }) | Should -Be @('PowerShellVersion', 'CompatiblePSEditions')
            @(Find-Kr51Incompatibility -ScriptText "@{ PowerShellVersion = '5.1'; CompatiblePSEditions = @('Desktop', 'Core') }" -Manifest).Count | Should -Be 0
        }

        It 'reports every finding of a file, with its line' {
            $findings = @(Find-Kr51Incompatibility -ScriptText "`$a = 1`n`$b = `$a ?? 2`n`$c = `$true ? 1 : 2" | Where-Object { $_.Severity -eq 'Error' })
            if ($runningVersion -ge [version]'7.0') {
                ($findings | ForEach-Object { '{0}@{1}' -f $_.Construct, $_.Line }) | Should -Be @('??@2', 'ternary ?:@3')
            }
            else {
                $findings.Count | Should -BeGreaterThan 0
            }
        }
    }

    Context 'accepts what Windows PowerShell 5.1 has' {
        It 'reports nothing for <What>' -ForEach $cleanCases {
            $findings = @(Find-Kr51Incompatibility -ScriptText $Script)
            if ($findings.Count -gt 0) {
                throw "expected no findings; got:$([Environment]::NewLine)$(Format-Kr51Findings $findings)"
            }
        }
    }
}

Describe 'Windows PowerShell 5.1 compatibility of the sources' {
    It '<Name> uses only what Windows PowerShell 5.1 has' -ForEach $checkedFiles {
        $findings = @(Find-Kr51Incompatibility -Path $Path -Label $Name)
        # Notes (splatting) are printed for a human to look at, they do not fail the file.
        foreach ($note in @($findings | Where-Object { $_.Severity -eq 'Note' })) {
            Write-Host "      note: $($note.ToString())"
        }
        $errors = @($findings | Where-Object { $_.Severity -ne 'Note' })
        if ($errors.Count -gt 0) {
            throw "$($errors.Count) construct(s) Windows PowerShell 5.1 cannot run:$([Environment]::NewLine)$(Format-Kr51Findings $errors)"
        }
    }
}
