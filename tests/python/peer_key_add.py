"""The same job as `keyroll key add`, done the way a Python user would with Microsoft's own libraries: MSAL
(ConfidentialClientApplication with the app's PEM certificate and thumbprint) for the token, a proof minted
with PyJWT, and the Graph SDK (msgraph-sdk) for addKey. One process per key, like the CLI.

    python peer_key_add.py --graph-url URL --login-url URL --ca-cert CA.pem --tenant-id T --client-id APPID \
        --object-id ID --cert current.pem --new-cert new.pem

Exit 0 when the key was added; prints the new keyId.
"""

import argparse
import asyncio
import base64
import hashlib
import os
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> int:
    p = argparse.ArgumentParser()
    for a in ("graph-url", "login-url", "ca-cert", "tenant-id", "client-id", "object-id", "cert", "new-cert"):
        p.add_argument(f"--{a}", required=True)
    args = p.parse_args()

    # requests (under MSAL) lets REQUESTS_CA_BUNDLE override verify=: point it at the emulator's CA.
    os.environ["REQUESTS_CA_BUNDLE"] = args.ca_cert

    import httpx
    import jwt
    import msal
    from azure.core.credentials import AccessToken
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory
    from msgraph.generated.applications.item.add_key.add_key_post_request_body import AddKeyPostRequestBody
    from msgraph.generated.models.key_credential import KeyCredential

    pem = open(args.cert, "rb").read()
    cert_der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    key_start = pem.index(b"-----BEGIN PRIVATE KEY-----")
    key_pem = pem[key_start:].decode()
    sha1 = hashlib.sha1(cert_der).digest()
    new_der = x509.load_pem_x509_certificate(open(args.new_cert, "rb").read()).public_bytes(Encoding.DER)

    app = msal.ConfidentialClientApplication(
        args.client_id,
        authority=f"{args.login_url}/{args.tenant_id}",
        client_credential={"private_key": key_pem, "thumbprint": sha1.hex()},
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    if "access_token" not in result:
        print(f"token: {result.get('error')}: {result.get('error_description')}", file=sys.stderr)
        return 3
    token = result["access_token"]

    now = int(time.time())
    proof = jwt.encode(
        {"aud": "00000002-0000-0000-c000-000000000000", "iss": args.object_id, "nbf": now, "exp": now + 600, "iat": now},
        key_pem,
        algorithm="RS256",
        headers={"x5t": b64url(sha1), "kid": sha1.hex().upper()},
    )

    class StaticCredential:
        async def get_token(self, *scopes, **kwargs):
            return AccessToken(token, now + 3000)

        async def close(self):
            pass

    auth = AzureIdentityAuthenticationProvider(
        StaticCredential(), scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )

    async def add():
        async with httpx.AsyncClient(verify=args.ca_cert) as client:
            http = GraphClientFactory.create_with_default_middleware(client=client)
            adapter = GraphRequestAdapter(auth, http)
            adapter.base_url = f"{args.graph_url}/v1.0"
            graph = GraphServiceClient(request_adapter=adapter)
            body = AddKeyPostRequestBody(
                key_credential=KeyCredential(type="AsymmetricX509Cert", usage="Verify", key=new_der),
                password_credential=None,
                proof=proof,
            )
            return await graph.applications.by_application_id(args.object_id).add_key.post(body)

    added = asyncio.run(add())
    if added is None or added.key_id is None:
        print("addKey answered without a keyId", file=sys.stderr)
        return 1
    print(added.key_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
