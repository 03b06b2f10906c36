//! Long-run memory of the standalone (hyper) Shopware twin.
//!
//! Sends 200,000 requests (searches, sync batches, transitions-free mix) over
//! loopback with 4 keep-alive connections and prints resident memory after
//! 10,000 and after 200,000 requests. The requirement: the second within 50 MB
//! of the first (the twin keeps no per-request state). Exits 1 if not.
//!
//! Run: `cargo bench --bench twin_memory` (REQUESTS=N to change the total).

mod common;

use std::time::Instant;

fn main() {
    let total: usize = std::env::var("REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let twin = common::standalone_twin(2000);
        let served = synctwin::twin::http::spawn(twin.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = served.base_url();
        let client = reqwest::Client::new();
        let r = client
            .post(format!("{base}/api/oauth/token"))
            .json(&serde_json::json!({"grant_type": "client_credentials", "client_id": "SWIABENCH", "client_secret": "bench-secret"}))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        let tok = v["access_token"].as_str().unwrap().to_string();
        let search = serde_json::to_vec(&common::search_body()).unwrap();
        let started = Instant::now();
        let mut after_10k = 0;
        let conns = 4;
        let mut sent = 0usize;
        while sent < total {
            let chunk = 2_000.min(total - sent);
            let mut tasks = Vec::new();
            for c in 0..conns {
                let (client, base, tok, search) = (client.clone(), base.clone(), tok.clone(), search.clone());
                let n = chunk / conns + usize::from(c < chunk % conns);
                let offset = sent + c * 10_000_000;
                tasks.push(tokio::spawn(async move {
                    for i in 0..n {
                        let (path, body) = if i % 4 == 0 {
                            ("/api/_action/sync", serde_json::to_vec(&common::sync_body(20, offset + i)).unwrap())
                        } else {
                            ("/api/search/product", search.clone())
                        };
                        let r = client
                            .post(format!("{base}{path}"))
                            .bearer_auth(&tok)
                            .header("content-type", "application/json")
                            .header("accept", "application/json")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        assert!(r.status().is_success(), "{}", r.status());
                        r.bytes().await.unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            sent += chunk;
            if after_10k == 0 && sent >= 10_000 {
                after_10k = common::rss_kib();
                println!("after {sent:>7} requests: RSS {:.1} MiB", after_10k as f64 / 1024.0);
            }
        }
        let end = common::rss_kib();
        let secs = started.elapsed().as_secs_f64();
        println!("after {sent:>7} requests: RSS {:.1} MiB", end as f64 / 1024.0);
        println!("growth {:.1} MiB over {} requests; {:.0} requests/s; observations held: {} (dropped: {})", (end as f64 - after_10k as f64) / 1024.0, sent - 10_000, sent as f64 / secs, twin.observations().len(), twin.observations().dropped());
        let stats = twin.stats().snapshot();
        let answered: u64 = stats.values().map(|r| r.total()).sum();
        println!("requests counted by the twin: {answered}");
        served.shutdown().await;
        if end.saturating_sub(after_10k) > 50 * 1024 {
            eprintln!("FAIL: resident memory grew by more than 50 MB");
            std::process::exit(1);
        }
    });
}
