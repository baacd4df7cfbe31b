//! Core's in-process minting rate, the yardstick for the cost of the boundary: mints N proofs with one parsed
//! key, on one thread, exactly as `keyroll_proof_mint` does underneath.
//!
//! `cargo run --release -p keyroll-ffi --example mint_rate -- <pfx-or-pem> <password> <count>` prints
//! `{"mints": N, "seconds": S, "per_second": R}`.

use std::time::Instant;

use keyroll_host as api;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, password, count] = args.as_slice() else {
        eprintln!("usage: mint_rate <pfx-or-pem> <password> <count>");
        std::process::exit(2);
    };
    let count: u32 = count.parse().expect("count is a number");
    let identity = api::open_identity_file(path, password).expect("the identity opens");
    // As keyroll_proof_mint does: the host's minting is async (a key may be held elsewhere), run to its end on
    // the library's runtime; a key in this process signs without waiting.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let object_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    // Warm up as the C# side does.
    for _ in 0..20 {
        runtime
            .block_on(api::mint_proof(
                &identity,
                object_id,
                0,
                "",
                time::OffsetDateTime::now_utc(),
            ))
            .unwrap();
    }
    let started = Instant::now();
    let mut total = 0usize;
    for _ in 0..count {
        let proof = runtime
            .block_on(api::mint_proof(
                &identity,
                object_id,
                0,
                "",
                time::OffsetDateTime::now_utc(),
            ))
            .unwrap();
        total += proof.as_str().len();
    }
    let secs = started.elapsed().as_secs_f64();
    assert!(total > 0);
    println!(
        "{{\"mints\": {count}, \"seconds\": {secs:.4}, \"per_second\": {:.1}}}",
        f64::from(count) / secs
    );
}
