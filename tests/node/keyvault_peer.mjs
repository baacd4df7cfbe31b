// Microsoft's Node Key Vault clients (@azure/keyvault-certificates, @azure/keyvault-keys) with @azure/identity
// against the emulated vault, unchanged but for the vault URL, disableChallengeResourceVerification and the CA
// (NODE_EXTRA_CA_CERTS). Run by tests/python/test_keyvault_peers.py, which starts the emulator and reads the JSON
// this prints: what the clients saw, for the test to judge.
//
// Environment: VAULT_URL, LOGIN_URL, TENANT_ID, CLIENT_ID, CLIENT_CERT_PEM (key and certificate, PEM),
// CERT_NAME (a certificate in the vault), NEW_CERT_NAME (one to create), MESSAGE (the text to sign).

import { createHash, createPublicKey, verify, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { ClientCertificateCredential } from "@azure/identity";
import { CertificateClient } from "@azure/keyvault-certificates";
import { CryptographyClient } from "@azure/keyvault-keys";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const credential = new ClientCertificateCredential(
  env("TENANT_ID"),
  env("CLIENT_ID"),
  { certificate: readFileSync(env("CLIENT_CERT_PEM"), "utf8") },
  { authorityHost: env("LOGIN_URL"), disableInstanceDiscovery: true },
);
const options = { disableChallengeResourceVerification: true };
const certificates = new CertificateClient(env("VAULT_URL"), credential, options);

const out = {};
const existing = await certificates.getCertificate(env("CERT_NAME"));
out.existing = { keyId: existing.keyId, version: existing.properties.version, cer: Buffer.from(existing.cer).toString("base64") };

const policy = { issuerName: "Self", subject: "CN=node rolled", keyType: "RSA", keySize: 2048, exportable: false, validityInMonths: 12 };
const poller = await certificates.beginCreateCertificate(env("NEW_CERT_NAME"), policy, { intervalInMs: 10 });
const created = await poller.pollUntilDone();
out.created = { keyId: created.keyId, version: created.properties.version, subject: new X509Certificate(Buffer.from(created.cer)).subject };
const versions = [];
for await (const p of certificates.listPropertiesOfCertificateVersions(env("NEW_CERT_NAME"))) versions.push(p.version);
out.versions = versions;

const message = Buffer.from(env("MESSAGE"));
const digest = createHash("sha256").update(message).digest();
const signer = new CryptographyClient(existing.keyId, credential, options);
const signed = await signer.sign("RS256", digest);
const publicKey = createPublicKey(new X509Certificate(Buffer.from(existing.cer)).publicKey.export({ type: "spki", format: "pem" }));
out.sign = {
  keyId: signed.keyID,
  verifies: verify("sha256", message, publicKey, Buffer.from(signed.result)),
  verifiesOtherMessage: verify("sha256", Buffer.concat([message, Buffer.from("x")]), publicKey, Buffer.from(signed.result)),
};
console.log(JSON.stringify(out));
