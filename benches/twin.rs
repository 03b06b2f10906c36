//! Criterion benches of the Shopware twin's request handling.
//!
//! - `handle/*`: the twin's logic alone (`Twin::handle`, no network): a filtered,
//!   sorted search of 25 rows over 1,000 products, and sync batches of 10 and 100.
//! - `http/*`: one request at a time over loopback with a keep-alive client:
//!   a bare hyper handler (the baseline, measured in the same run), the twin's
//!   search, and a 100-record sync. The ratio twin / bare is the figure to quote.
//!
//! Run: `cargo bench --bench twin`.

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::Value;
use synctwin::twin::{Twin, TwinRequest};

fn request(path: &str, token: &str, body: &Value) -> TwinRequest {
    TwinRequest::local(hyper::Method::POST, path, serde_json::to_vec(body).unwrap())
        .with_bearer(Some(token))
        .with_header("content-type", "application/json")
        .with_header("accept", "application/json")
}

fn token(twin: &synctwin::twin::shopware::ShopwareTwin) -> String {
    let body = serde_json::json!({"grant_type": "client_credentials", "client_id": "SWIABENCH", "client_secret": "bench-secret"});
    let mut req = request("/api/oauth/token", "", &body);
    req.headers.remove("authorization");
    let r = twin.handle(req);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

fn handle(c: &mut Criterion) {
    let twin = common::twin(1000);
    let tok = token(&twin);
    let mut g = c.benchmark_group("handle");
    g.throughput(Throughput::Elements(1));
    let search = common::search_body();
    g.bench_function("search_25_of_1000", |b| {
        b.iter(|| twin.handle(request("/api/search/product", &tok, &search)))
    });
    for batch in [10usize, 100] {
        let mut round = 0;
        g.bench_with_input(BenchmarkId::new("sync_batch", batch), &batch, |b, &batch| {
            b.iter(|| {
                round += 1;
                twin.handle(request("/api/_action/sync", &tok, &common::sync_body(batch, round)))
            })
        });
    }
    g.finish();
}

fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let twin = common::twin(1000);
    let tok = token(&twin);
    let (bare, served) = rt.block_on(async {
        let bare = common::bare_hyper().await;
        let served = synctwin::twin::http::spawn(twin.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        (bare, served)
    });
    let client = reqwest::Client::new();
    let search = serde_json::to_vec(&common::search_body()).unwrap();
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bare_hyper_baseline", |b| {
        b.to_async(&rt).iter(|| async {
            let r = client
                .post(format!("http://{bare}/"))
                .body(search.clone())
                .send()
                .await
                .unwrap();
            r.bytes().await.unwrap()
        })
    });
    let base = served.base_url();
    g.bench_function("twin_search_25", |b| {
        b.to_async(&rt).iter(|| async {
            let r = client
                .post(format!("{base}/api/search/product"))
                .bearer_auth(&tok)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(search.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap()
        })
    });
    let mut round = 0;
    g.bench_function("twin_sync_100", |b| {
        b.to_async(&rt).iter(|| {
            round += 1;
            let body = serde_json::to_vec(&common::sync_body(100, round)).unwrap();
            let (client, base, tok) = (&client, &base, &tok);
            async move {
                let r = client
                    .post(format!("{base}/api/_action/sync"))
                    .bearer_auth(tok)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap()
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = handle, http
}
criterion_main!(benches);
