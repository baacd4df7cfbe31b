// One credential of an inventory scan, as .NET hosts use it: typed properties, dates as UTC DateTime.

using System;
using System.Globalization;
using System.Runtime.Serialization;

namespace Keyroll
{
    /// <summary>One certificate or client secret of an application or service principal, as an inventory scan
    /// reports it (<see cref="ScanOperation.NextPage"/>). Built from the library's JSON in compiled code, so a host
    /// streaming a large tenant does no per-item conversion of its own. The plan columns (ObjectId, TargetType,
    /// CertificatePath, NewCertificatePath) carry the parameter names of Invoke-EntraKeyRollover.</summary>
    [DataContract]
    public sealed class InventoryItem
    {
        // Set by DataContractJsonSerializer (CS0649 does not see it).
#pragma warning disable 0649
        [DataMember(Name = "objectType")] string objectType;
        [DataMember(Name = "objectId")] string objectId;
        [DataMember(Name = "appId")] string appId;
        [DataMember(Name = "objectDisplayName")] string objectDisplayName;
        [DataMember(Name = "credentialType")] string credentialType;
        [DataMember(Name = "keyId")] string keyId;
        [DataMember(Name = "displayName")] string displayName;
        [DataMember(Name = "thumbprint")] string thumbprint;
        [DataMember(Name = "hint")] string hint;
        [DataMember(Name = "startDateTime")] string startDateTime;
        [DataMember(Name = "endDateTime")] string endDateTime;
        [DataMember(Name = "daysLeft")] long? daysLeft;
        [DataMember(Name = "status")] string status;
        [DataMember(Name = "signs")] bool signs;
        [DataMember(Name = "lastValidCertificate")] bool lastValidCertificate;
        [DataMember(Name = "owners")] string[] owners;
        [DataMember(Name = "cert")] string cert;
        [DataMember(Name = "newCert")] string newCert;
#pragma warning restore 0649

        /// <summary>Application or ServicePrincipal.</summary>
        public string ObjectType { get { return objectType == "servicePrincipal" ? "ServicePrincipal" : "Application"; } }
        /// <summary>The object id.</summary>
        public string ObjectId { get { return objectId; } }
        /// <summary>The application's client id.</summary>
        public string AppId { get { return appId; } }
        /// <summary>The object's display name.</summary>
        public string ObjectDisplayName { get { return objectDisplayName; } }
        /// <summary>Certificate or Secret.</summary>
        public string CredentialType { get { return credentialType == "secret" ? "Secret" : "Certificate"; } }
        /// <summary>The credential's id.</summary>
        public Guid? KeyId { get { Guid g; return keyId != null && Guid.TryParse(keyId, out g) ? g : (Guid?)null; } }
        /// <summary>The credential's display name.</summary>
        public string KeyDisplayName { get { return displayName; } }
        /// <summary>A certificate's SHA-1 thumbprint.</summary>
        public string Thumbprint { get { return thumbprint; } }
        /// <summary>A secret's first characters, as Graph shows them.</summary>
        public string Hint { get { return hint; } }
        /// <summary>Start (UTC).</summary>
        public DateTime? StartDateTime { get { return Date(startDateTime); } }
        /// <summary>End (UTC).</summary>
        public DateTime? EndDateTime { get { return Date(endDateTime); } }
        /// <summary>Whole days until the end (negative when past).</summary>
        public long? DaysLeft { get { return daysLeft; } }
        /// <summary>valid, expired or not yet valid.</summary>
        public string Status { get { return status; } }
        /// <summary>Whether this is the certificate the connection signs in with.</summary>
        public bool Signs { get { return signs; } }
        /// <summary>Whether, once this certificate ends, the object holds no valid certificate.</summary>
        public bool LastValidCertificate { get { return lastValidCertificate; } }
        /// <summary>The owners, when they were read.</summary>
        public string Owners { get { return owners == null ? null : string.Join("; ", owners); } }
        /// <summary>The roll target type (as ObjectType).</summary>
        public string TargetType { get { return ObjectType; } }
        /// <summary>A certificate's current file, from the naming rule (empty without one; null for a secret).</summary>
        public string CertificatePath { get { return cert; } }
        /// <summary>A certificate's new file, from the naming rule (empty without one; null for a secret).</summary>
        public string NewCertificatePath { get { return newCert; } }

        static DateTime? Date(string text)
        {
            DateTime d;
            if (string.IsNullOrEmpty(text)) return null;
            if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out d)) return d;
            return null;
        }
    }

    /// <summary>One page of an inventory scan (<see cref="ScanOperation.NextPage"/>).</summary>
    [DataContract]
    public sealed class InventoryPage
    {
#pragma warning disable 0649
        [DataMember(Name = "done")] bool done;
        [DataMember(Name = "collection")] string collection;
        [DataMember(Name = "read")] long read;
        [DataMember(Name = "total")] long? total;
        [DataMember(Name = "items")] InventoryItem[] items;
        [DataMember(Name = "summary")] InventorySummary summary;
#pragma warning restore 0649

        /// <summary>Whether every collection was read (then Items is empty and Summary is set).</summary>
        public bool Done { get { return done; } }
        /// <summary>applications or servicePrincipals.</summary>
        public string Collection { get { return collection; } }
        /// <summary>Objects of this collection read so far.</summary>
        public long Read { get { return read; } }
        /// <summary>The collection's total, when Graph counted it.</summary>
        public long? Total { get { return total; } }
        /// <summary>The credentials of this page that the scan reports.</summary>
        public InventoryItem[] Items { get { return items ?? new InventoryItem[0]; } }
        /// <summary>What the scan read, once done.</summary>
        public InventorySummary Summary { get { return summary; } }
    }

    /// <summary>What an inventory scan read.</summary>
    [DataContract]
    public sealed class InventorySummary
    {
#pragma warning disable 0649
        [DataMember(Name = "objects")] long objects;
        [DataMember(Name = "credentials")] long credentials;
        [DataMember(Name = "reported")] long reported;
        [DataMember(Name = "pages")] long pages;
#pragma warning restore 0649

        /// <summary>Objects read.</summary>
        public long Objects { get { return objects; } }
        /// <summary>Credentials seen.</summary>
        public long Credentials { get { return credentials; } }
        /// <summary>Credentials reported.</summary>
        public long Reported { get { return reported; } }
        /// <summary>Pages read.</summary>
        public long Pages { get { return pages; } }
    }
}
