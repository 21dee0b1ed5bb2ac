//! The CPU cost of each step a webhook request takes before storage, in-process on one thread.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use shopbip::platforms::signature::sign_base64;

use crate::support::body;
/// µs per call of `f` over `iterations` calls (after a warm-up tenth).
fn per_call(iterations: usize, mut f: impl FnMut(usize)) -> f64 {
    for i in 0..iterations / 10 {
        f(i);
    }
    let started = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    started.elapsed().as_secs_f64() * 1e6 / iterations as f64
}

pub fn run(iterations: usize) -> anyhow::Result<()> {
    use shopbip::platforms::woocommerce::{SIGNATURE, TOPIC, WooCommerce};
    use shopbip::platforms::{Headers, Parsed, WebhookPlatform};
    let secret = "bench-secret";
    let secrets = [SecretString::from(secret)];
    let b = body(1_000_000);
    let headers = Headers::new([
        (TOPIC.to_owned(), "order.updated".to_owned()),
        (SIGNATURE.to_owned(), sign_base64(secret, &b)),
    ]);
    let tolerance = Duration::from_secs(300);
    let verify = per_call(iterations, |_| {
        let v = WooCommerce.verify(&headers, &b, &secrets, tolerance);
        assert!(v.is_ok());
    });
    let parse = per_call(iterations, |_| {
        let p = WooCommerce.parse(&headers, &b);
        assert!(matches!(p, Ok(Parsed::Event(_))));
    });
    let Ok(Parsed::Event(event)) = WooCommerce.parse(&headers, &b) else {
        anyhow::bail!("the bench body does not parse into an event");
    };
    let mut json_len = 0;
    let serialise = per_call(iterations, |_| {
        json_len = serde_json::to_string(&event.order).map_or(0, |j| j.len());
    });
    println!(
        "body_bytes={} verify={verify:.2}us parse={parse:.2}us serialise_order={serialise:.2}us order_json_bytes={json_len} iterations={iterations}",
        b.len()
    );
    Ok(())
}
