//! The engine's ERP client for the Business Central API v2.0 shape: one cached
//! OAuth token (or, to show F10, one per request), the company's API base discovered once, OData paging followed
//! through `@odata.nextLink`, customers found by e-mail or created, orders
//! looked up by external document number. Failures are classified like the
//! Shopware client's.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::{CallError, TokenStrategy};
use crate::clock::{SharedClock, SimTime};
use crate::engine::mapping::{CustomerRef, LineKind, OrderDraft};
use crate::engine::ports::{ErpApi, ErpItem, Shipment};

/// Renew this long before the token's expiry (scenario time).
const RENEW_MARGIN: Duration = Duration::from_secs(120);

#[derive(Debug, Default)]
struct Session {
    token: Option<(String, SimTime)>,
    /// `/api/v2.0/companies({id})`
    company_base: Option<String>,
}

/// A Business Central-shaped API client.
#[derive(Debug, Clone)]
pub struct ErpClient {
    http: reqwest::Client,
    root: String,
    client_id: String,
    client_secret: String,
    clock: SharedClock,
    session: Arc<Mutex<Session>>,
    /// e-mail -> customer number, so each guest is looked up once.
    customers: Arc<Mutex<std::collections::HashMap<String, String>>>,
    /// Client-side pacing (requests per scenario second), if configured.
    pacer: Option<Arc<crate::engine::pacing::Pacer>>,
    tokens: TokenStrategy,
}

/// OData string literal: quotes doubled.
/// The Business Central `salesOrders` body of a draft, lines deep-inserted:
/// item lines with number, quantity, unit price and tax code; comment lines as text.
pub fn sales_order_body(d: &OrderDraft, customer_number: &str) -> Value {
    let lines: Vec<Value> = d
        .lines
        .iter()
        .map(|l| match l.kind {
            LineKind::Comment => json!({"lineType": "Comment", "description": l.description}),
            LineKind::Item => json!({
                "lineType": "Item",
                "lineObjectNumber": l.number,
                "description": l.description,
                "quantity": l.quantity,
                "unitPrice": l.unit_price,
                "taxCode": l.tax_code,
            }),
        })
        .collect();
    json!({"externalDocumentNumber": d.external_document_number, "customerNumber": customer_number, "salesOrderLines": lines})
}

fn odata_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Minimal percent-encoding for a query value.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'\'' | b'(' | b')' | b':' => {
                out.push(b as char)
            }
            b' ' => out.push_str("%20"),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl ErpClient {
    /// `root` is the ERP's base URL (`http://127.0.0.1:9000`).
    pub fn new(root: &str, client_id: &str, client_secret: &str, clock: SharedClock, timeout: Duration) -> Self {
        ErpClient {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("a TLS-free reqwest client always builds"),
            root: root.trim_end_matches('/').to_string(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            clock,
            session: Arc::new(Mutex::new(Session::default())),
            customers: Arc::new(Mutex::new(Default::default())),
            pacer: None,
            tokens: TokenStrategy::Cached,
        }
    }

    /// Reuses one token (the default) or fetches one per request (F10, naive).
    pub fn with_token_strategy(mut self, tokens: TokenStrategy) -> Self {
        self.tokens = tokens;
        self
    }

    /// Paces requests to at most `per_second` (scenario time).
    pub fn with_rate_limit(mut self, per_second: Option<f64>) -> Self {
        self.pacer = per_second.map(|r| Arc::new(crate::engine::pacing::Pacer::new(r)));
        self
    }

    async fn token(&self) -> Result<String, CallError> {
        let mut s = self.session.lock().await;
        let now = self.clock.now();
        if let Some((t, exp)) = s.token.as_ref().filter(|_| self.tokens == TokenStrategy::Cached) {
            if now.plus(RENEW_MARGIN) < *exp {
                return Ok(t.clone());
            }
        }
        let endpoint = "POST /oauth/token";
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            enc(&self.client_id),
            enc(&self.client_secret)
        );
        let resp = self
            .http
            .post(format!("{}/oauth/token", self.root))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| super::no_answer(endpoint, &e))?;
        let v = super::read(endpoint, resp, super::Dialect::OData).await?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| super::protocol(endpoint, "no access_token"))?
            .to_string();
        let ttl = v["expires_in"].as_u64().unwrap_or(3599);
        s.token = Some((token.clone(), now.plus(Duration::from_secs(ttl))));
        Ok(token)
    }

    async fn company_base(&self) -> Result<String, CallError> {
        if let Some(b) = self.session.lock().await.company_base.clone() {
            return Ok(b);
        }
        let v = self
            .call(reqwest::Method::GET, &format!("{}/api/v2.0/companies", self.root), None)
            .await?;
        let id = v
            .pointer("/value/0/id")
            .and_then(Value::as_str)
            .ok_or_else(|| super::protocol("GET companies", "no company"))?;
        let base = format!("{}/api/v2.0/companies({id})", self.root);
        self.session.lock().await.company_base = Some(base.clone());
        Ok(base)
    }

    /// One request with the cached token; a 401 renews the token once.
    async fn call(&self, method: reqwest::Method, url: &str, body: Option<&Value>) -> Result<Value, CallError> {
        self.call_raw(method, url, body).await.map(|b| super::json_of(&b))
    }

    /// `METHOD /path` of a URL below the API root, for errors.
    fn endpoint(&self, method: &reqwest::Method, url: &str) -> String {
        format!(
            "{method} {}",
            url.split('?').next().unwrap_or(url).trim_start_matches(&self.root)
        )
    }

    /// As [`Self::call`], with a successful answer's body as it came.
    async fn call_raw(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<bytes::Bytes, CallError> {
        let endpoint = self.endpoint(&method, url);
        for attempt in 0..2 {
            let token = self.token().await?;
            super::pace(&self.pacer, &self.clock).await;
            let mut req = self.http.request(method.clone(), url).bearer_auth(&token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|e| super::no_answer(&endpoint, &e))?;
            match super::read_raw(&endpoint, resp, super::Dialect::OData).await {
                Err(CallError::Status { status: 401, .. }) if attempt == 0 => self.session.lock().await.token = None,
                other => return other,
            }
        }
        unreachable!("the second attempt returns")
    }

    /// Every row of a collection, following `@odata.nextLink`.
    async fn collect(&self, first_url: String) -> Result<Vec<Value>, CallError> {
        self.collect_as(first_url, |row| row).await
    }

    /// Every row of a collection as `row` makes it, page by page and row by
    /// row: a page of 20,000 items is about 6 MB as text and 40 MB as JSON
    /// values, so one page's text and one row's values are held at a time.
    async fn collect_as<T>(&self, first_url: String, row: impl Fn(Value) -> T) -> Result<Vec<T>, CallError> {
        /// An OData collection page, its rows left as text.
        #[derive(serde::Deserialize)]
        struct Page<'a> {
            #[serde(borrow, default)]
            value: Vec<&'a serde_json::value::RawValue>,
            #[serde(rename = "@odata.nextLink", default)]
            next_link: Option<String>,
        }
        let mut out = Vec::new();
        let mut url = Some(first_url);
        while let Some(u) = url {
            let bytes = self.call_raw(reqwest::Method::GET, &u, None).await?;
            let unexpected = |e: serde_json::Error| {
                super::protocol(
                    &self.endpoint(&reqwest::Method::GET, &u),
                    &format!("not an OData collection page: {e}"),
                )
            };
            let page: Page<'_> = serde_json::from_slice(&bytes).map_err(unexpected)?;
            for raw in page.value {
                out.push(row(serde_json::from_str(raw.get()).map_err(unexpected)?));
            }
            url = page.next_link;
        }
        Ok(out)
    }

    /// Every item of the item master as the API returns it (all pages): what
    /// `synctwin audit` checks productNumbers against.
    pub async fn item_rows(&self) -> Result<Vec<Value>, CallError> {
        let base = self.company_base().await?;
        self.collect(format!("{base}/items")).await
    }

    async fn customer_number(&self, r: &CustomerRef, prices_include_tax: bool) -> Result<String, CallError> {
        let (email, name) = match r {
            CustomerRef::Number(n) => return Ok(n.clone()),
            CustomerRef::FindOrCreate { email, name, .. } => (email, name),
        };
        if let Some(n) = self.customers.lock().await.get(email) {
            return Ok(n.clone());
        }
        let base = self.company_base().await?;
        let found = self
            .call(
                reqwest::Method::GET,
                &format!(
                    "{base}/customers?$filter={}",
                    enc(&format!("email eq {}", odata_str(email)))
                ),
                None,
            )
            .await?;
        let number = match found.pointer("/value/0/number").and_then(Value::as_str) {
            Some(n) => n.to_string(),
            None => {
                let body = json!({"displayName": name.chars().take(100).collect::<String>(), "email": email, "pricesIncludeTax": prices_include_tax});
                let created = self
                    .call(reqwest::Method::POST, &format!("{base}/customers"), Some(&body))
                    .await?;
                created["number"]
                    .as_str()
                    .ok_or_else(|| super::protocol("POST customers", "no number"))?
                    .to_string()
            }
        };
        self.customers.lock().await.insert(email.clone(), number.clone());
        Ok(number)
    }
}

impl ErpApi for ErpClient {
    async fn find_order(&self, ext: &str) -> Result<Option<String>, CallError> {
        let base = self.company_base().await?;
        let filter = enc(&format!("externalDocumentNumber eq {}", odata_str(ext)));
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("{base}/salesOrders?$filter={filter}&$top=1"),
                None,
            )
            .await?;
        Ok(v.pointer("/value/0/number").and_then(Value::as_str).map(str::to_string))
    }

    async fn create_order(&self, d: &OrderDraft) -> Result<String, CallError> {
        let base = self.company_base().await?;
        let customer = self.customer_number(&d.customer, d.prices_include_tax).await?;
        let body = sales_order_body(d, &customer);
        let v = self
            .call(reqwest::Method::POST, &format!("{base}/salesOrders"), Some(&body))
            .await?;
        v["number"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| super::protocol("POST salesOrders", "no number in the answer"))
    }

    async fn items_since(&self, since: Option<&str>) -> Result<Vec<ErpItem>, CallError> {
        let base = self.company_base().await?;
        let url = match since {
            Some(s) => format!("{base}/items?$filter={}", enc(&format!("lastModifiedDateTime gt {s}"))),
            None => format!("{base}/items"),
        };
        self.collect_as(url, |i| ErpItem {
            number: i["number"].as_str().unwrap_or_default().to_string(),
            inventory: i["type"].as_str() == Some("Inventory") && !i["blocked"].as_bool().unwrap_or(false),
            on_hand: i["inventory"].as_f64().unwrap_or(0.0) as i64,
            available: i["available"].as_f64().unwrap_or(0.0) as i64,
            modified: i["lastModifiedDateTime"].as_str().unwrap_or_default().to_string(),
        })
        .await
    }

    async fn shipments_since(&self, since: Option<&str>) -> Result<Vec<Shipment>, CallError> {
        let base = self.company_base().await?;
        // `ge`, not `gt`: shipments posted in the same instant as the watermark
        // are read again and deduplicated by number.
        let url = match since {
            Some(s) => format!(
                "{base}/salesShipments?$expand=salesShipmentLines&$filter={}",
                enc(&format!("lastModifiedDateTime ge {s}"))
            ),
            None => format!("{base}/salesShipments?$expand=salesShipmentLines"),
        };
        self.collect_as(url, |s| Shipment {
            number: s["number"].as_str().unwrap_or_default().to_string(),
            external_document_number: s["externalDocumentNumber"].as_str().unwrap_or_default().to_string(),
            tracking_number: s["packageTrackingNumber"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            lines: s["salesShipmentLines"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .map(|l| {
                            (
                                l["lineObjectNumber"].as_str().unwrap_or_default().to_string(),
                                l["quantity"].as_f64().unwrap_or(0.0) as i64,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            posted: s["lastModifiedDateTime"].as_str().unwrap_or_default().to_string(),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ERP on wiremock whose item list comes in two pages, then breaks.
    async fn paged_erp() -> (wiremock::MockServer, ErpClient) {
        use wiremock::matchers::{method, path, query_param};
        use wiremock::{Mock, ResponseTemplate};
        let server = wiremock::MockServer::start().await;
        let ok = |v: Value| ResponseTemplate::new(200).set_body_json(v);
        Mock::given(path("/oauth/token"))
            .respond_with(ok(serde_json::json!({"access_token": "t", "expires_in": 3599})))
            .mount(&server)
            .await;
        Mock::given(path("/api/v2.0/companies"))
            .respond_with(ok(serde_json::json!({"value": [{"id": "c1"}]})))
            .mount(&server)
            .await;
        let item = |n: &str, available: i64| {
            serde_json::json!({"number": n, "type": "Inventory", "blocked": false, "inventory": available + 1,
                "available": available, "lastModifiedDateTime": "2026-11-27T10:00:00Z", "unitPrice": 9.5})
        };
        let next = format!("{}/api/v2.0/companies(c1)/items?$skip=2", server.uri());
        Mock::given(method("GET"))
            .and(path("/api/v2.0/companies(c1)/items"))
            .and(query_param("$skip", "2"))
            .respond_with(ok(serde_json::json!({"value": [item("SW3", 0)]})))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2.0/companies(c1)/items"))
            .respond_with(ok(serde_json::json!({
                "@odata.context": "x", "value": [item("SW1", 4), item("SW2 \"quoted\"", 7)], "@odata.nextLink": next
            })))
            .with_priority(2)
            .mount(&server)
            .await;
        let clock: SharedClock = Arc::new(crate::clock::ScaledClock::start(crate::clock::Speed::REAL_TIME));
        let client = ErpClient::new(&server.uri(), "id", "secret", clock, Duration::from_secs(5));
        (server, client)
    }

    #[tokio::test]
    async fn item_pages_are_read_row_by_row_and_a_page_that_is_not_odata_is_named() {
        let (server, client) = paged_erp().await;
        let items = client.items_since(None).await.expect("two good pages");
        let got: Vec<(&str, i64, i64, bool)> = items
            .iter()
            .map(|i| (i.number.as_str(), i.on_hand, i.available, i.inventory))
            .collect();
        assert_eq!(
            got,
            vec![("SW1", 5, 4, true), ("SW2 \"quoted\"", 8, 7, true), ("SW3", 1, 0, true)]
        );
        // A page that is not an OData collection is a protocol error that
        // names the endpoint, not an empty list.
        server.reset().await;
        use wiremock::matchers::path;
        wiremock::Mock::given(path("/api/v2.0/companies(c1)/items"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
            .mount(&server)
            .await;
        match client.items_since(None).await {
            Err(CallError::Protocol { endpoint, reason }) => {
                assert_eq!(endpoint, "GET /api/v2.0/companies(c1)/items");
                assert!(reason.starts_with("not an OData collection page"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn odata_literals_escape_quotes_and_queries_are_encoded() {
        assert_eq!(odata_str("O'Brien"), "'O''Brien'");
        assert_eq!(enc("email eq 'a+b@x.de'"), "email%20eq%20'a%2Bb%40x.de'");
    }
}
