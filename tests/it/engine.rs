//! The engine's adapters against the twins: tokens cached and renewed on the
//! scenario clock, failures classified for the retry logic.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use synctwin::clock::SharedClock;
use synctwin::engine::backoff::Outcome;
use synctwin::engine::http::shopware::ShopwareClient;
use synctwin::twin::shopware::ShopwareProfile;

use crate::helpers::{fixture_twin, serve, Transport};

fn client(base: &str, clock: SharedClock, secret: &str) -> ShopwareClient {
    ShopwareClient::new(base, "SWIATESTCLIENT", secret, clock, Duration::from_secs(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_per_lifetime_renewed_before_expiry() {
    let (twin, clock) = fixture_twin(ShopwareProfile::default_profile());
    let s = serve(twin.clone(), Transport::Hyper).await;
    let shared: SharedClock = Arc::new(clock.clone());
    let c = client(&format!("{}/api", s.base), shared, "test-secret");
    for _ in 0..20 {
        c.search("product", &json!({"limit": 1})).await.unwrap();
    }
    assert_eq!(c.tokens_fetched(), 1, "the token is cached");
    // 9 scenario minutes later the token has a minute left: renewed before it fails.
    clock.advance(Duration::from_secs(541));
    c.search("product", &json!({"limit": 1})).await.unwrap();
    assert_eq!(c.tokens_fetched(), 2);
    let stats = twin.stats().snapshot();
    assert_eq!(stats["POST /api/oauth/token"].total(), 2);
    assert!(
        !stats["POST /api/search/product"].by_status.contains_key(&401),
        "no request ever failed auth"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_classified_with_their_waits() {
    let (twin, _) = fixture_twin(
        ShopwareProfile::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/shopware/saas.toml"))
            .unwrap(),
    );
    let s = serve(twin.clone(), Transport::Hyper).await;
    let clock: SharedClock = twin.clock().clone();
    // A wrong secret: 401, not retryable.
    let bad = client(&s.base, clock.clone(), "wrong");
    let e = bad.search("product", &json!({})).await.unwrap_err();
    assert_eq!(e.outcome(), Outcome::Status(401));
    // A validation error: 400 with the pointer in the body.
    let good = client(&s.base, clock.clone(), "test-secret");
    let e = good.search("product", &json!({"limit": 501})).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(e.to_string().contains("FRAMEWORK__QUERY_LIMIT_EXCEEDED"), "{e}");
    // The SaaS token limit (10/min per IP, the bad client's attempts count): 429 with Retry-After.
    let mut throttled = None;
    for _ in 0..12 {
        let fresh = client(&s.base, clock.clone(), "test-secret");
        if let Err(e) = fresh.search("product", &json!({"limit": 1})).await {
            throttled = Some(e);
            break;
        }
    }
    let e = throttled.expect("a client fetching a token per call trips the SaaS token limit");
    assert_eq!(e.outcome(), Outcome::Status(429));
    assert!(
        e.retry_after()
            .is_some_and(|w| w > Duration::ZERO && w <= Duration::from_secs(60)),
        "{e:?}"
    );
    // Nothing listens here: no answer, retryable.
    let gone = client("http://127.0.0.1:9", clock, "x");
    assert_eq!(
        gone.search("product", &json!({})).await.unwrap_err().outcome(),
        Outcome::NoAnswer
    );
}
