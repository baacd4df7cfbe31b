//! Proof minting speed. RSA-2048 signing is the whole cost; the figure is compared with `openssl speed rsa2048`
//! by scripts/bench-proof.sh.

use criterion::{Criterion, criterion_group, criterion_main};
use keyroll_proto::cert::generate;
use keyroll_proto::inspect::{self, InspectOptions};
use keyroll_proto::proof::{self, ProofRequest};
use time::OffsetDateTime;

fn bench(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let generated = generate::self_signed_rsa("bench", now - time::Duration::hours(1), 30, 2048)
        .expect("generate");
    let identity = generated.identity().expect("identity");
    let request = ProofRequest::new(uuid::Uuid::new_v4());

    c.bench_function("mint_rs256_2048", |b| {
        b.iter(|| proof::mint(&identity, &request, now).expect("mint"))
    });

    let token = proof::mint(&identity, &request, now).expect("mint");
    let certs = [generated.certificate.clone()];
    let opts = InspectOptions {
        certificates: &certs,
        expected_object_id: Some(request.object_id),
        app_id: None,
        expected_audience: None,
        now,
        clock_skew_secs: 0,
    };
    c.bench_function("inspect_rs256_2048", |b| {
        b.iter(|| {
            let r = inspect::inspect(token.as_str(), &opts);
            assert!(r.accepted());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
