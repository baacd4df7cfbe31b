// The rows of a bulk operation: each row's roll settings with its two certificates.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Keyroll
{
    /// <summary>The rows of one bulk operation (<see cref="Connection.StartBulk"/>): each row is the settings of
    /// <see cref="Connection.Roll"/> with the certificate in use now and the one to roll to. Row numbers in the
    /// operation's answers are 0-based positions in the order of <see cref="Add"/>. The identities must stay open
    /// until the operation has started.</summary>
    public sealed class BulkPlan
    {
        readonly List<string> rows = new List<string>();

        /// <summary>A file to which the operation appends one JSON line per row as it ends (the journal of keyroll roll
        /// --journal), or null for none.</summary>
        public string JournalPath { get; set; }

        /// <summary>With <see cref="JournalPath"/>: skip the rows that journal shows done.</summary>
        public bool Resume { get; set; }

        /// <summary>How many rows the plan holds.</summary>
        public int Count { get { return rows.Count; } }

        /// <summary>Adds a row. rollSettingsJson is what <see cref="Connection.Roll"/> takes: {target, displayName,
        /// removeOld, tenantId, clientId, verifyTimeoutSecs}. Returns the row's number (0-based).</summary>
        public int Add(string rollSettingsJson, SigningIdentity current, SigningIdentity next)
        {
            if (string.IsNullOrWhiteSpace(rollSettingsJson)) throw new ArgumentException("the row's roll settings are empty: give at least its target", "rollSettingsJson");
            if (current == null) throw new ArgumentNullException("current");
            if (next == null) throw new ArgumentNullException("next");
            rows.Add("{\"roll\":" + rollSettingsJson +
                ",\"current\":" + SigningIdentity.HandleOf(current).ToString(CultureInfo.InvariantCulture) +
                ",\"next\":" + SigningIdentity.HandleOf(next).ToString(CultureInfo.InvariantCulture) + "}");
            return rows.Count - 1;
        }

        /// <summary>The bulk settings the library takes: {rows, concurrency} (concurrency 0 = the library's
        /// default).</summary>
        internal string ToJson(int concurrency)
        {
            var b = new StringBuilder("{\"rows\":[");
            b.Append(string.Join(",", rows));
            b.Append(']');
            if (concurrency > 0) b.Append(",\"concurrency\":").Append(concurrency.ToString(CultureInfo.InvariantCulture));
            if (!string.IsNullOrEmpty(JournalPath)) b.Append(",\"journalPath\":").Append(JsonString(JournalPath));
            if (Resume) b.Append(",\"resume\":true");
            b.Append('}');
            return b.ToString();
        }

        /// <summary>A JSON string literal.</summary>
        static string JsonString(string s)
        {
            var b = new StringBuilder("\"");
            foreach (var c in s)
            {
                if (c == '"' || c == '\\') b.Append('\\').Append(c);
                else if (c < ' ') b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else b.Append(c);
            }
            return b.Append('"').ToString();
        }
    }
}
