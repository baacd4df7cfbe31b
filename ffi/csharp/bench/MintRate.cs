// Minting through the facade under Mono: N proofs with one open identity, on one thread — the counterpart of
// ffi/examples/mint_rate.rs. Usage: MintRate.exe <pfx-or-pem> <password> <count>; prints one JSON line.

using System;
using System.Diagnostics;
using System.Globalization;
using Keyroll;

static class MintRate
{
    static int Main(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: MintRate.exe <pfx-or-pem> <password> <count>");
            return 2;
        }
        var count = int.Parse(args[2], CultureInfo.InvariantCulture);
        const string objectId = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
        using (var identity = SigningIdentity.OpenFile(args[0], args[1]))
        {
            for (var i = 0; i < 20; i++) identity.MintProof(objectId);
            var watch = Stopwatch.StartNew();
            long total = 0;
            for (var i = 0; i < count; i++) total += identity.MintProof(objectId).Length;
            watch.Stop();
            if (total == 0) return 1;
            var secs = watch.Elapsed.TotalSeconds;
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine("{\"mints\": " + count.ToString(inv) + ", \"seconds\": " + secs.ToString("F4", inv) +
                ", \"per_second\": " + (count / secs).ToString("F1", inv) + "}");
        }
        return 0;
    }
}
