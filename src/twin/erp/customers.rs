//! Creating customers (`POST customers`).
//!
//! Business Central does not enforce unique e-mails, so two POSTs with the same
//! e-mail create two customers; finding an existing one (`$filter=email eq '…'`)
//! is the integration's job, as is giving every guest their own customer (F5).
//! A client-chosen `number` that exists already is a 409.

use serde_json::Value;

use super::errors::ODataError;
use super::fields::TextFields;
use super::payload::Body;
use super::state::Customer;
use super::{Ctx, Inner};
use crate::observe::{Event, System};

const CUSTOMER_TYPE: &str = "Microsoft.NAV.customer";

/// Free-text fields stored and echoed as sent, with their limit.
fn address_fields(ctx: &Ctx<'_>) -> [(&'static str, usize); 6] {
    let t = &ctx.profile.text_limits;
    [
        ("addressLine1", t.address),
        ("addressLine2", t.address),
        ("city", t.city),
        ("state", t.city),
        ("country", 10),
        ("postalCode", t.postal_code),
    ]
}

/// Handles `POST customers`; returns the new customer's number.
pub fn post(inner: &mut Inner, ctx: &Ctx<'_>, body: &Value) -> Result<String, ODataError> {
    let b = Body::new(body, CUSTOMER_TYPE)?;
    b.only(&[
        "number",
        "displayName",
        "type",
        "email",
        "phoneNumber",
        "pricesIncludeTax",
        "addressLine1",
        "addressLine2",
        "city",
        "state",
        "country",
        "postalCode",
        "currencyCode",
        "website",
        "id",
        "lastModifiedDateTime",
        "blocked",
        "taxLiable",
    ])?;
    let t = &ctx.profile.text_limits;
    let display_name = b.text("displayName", t.customer_name, "Name")?.unwrap_or_default();
    let email = b.text("email", t.email, "E-Mail")?.filter(|e| !e.is_empty());
    let phone = b.text("phoneNumber", t.phone, "Phone No.")?.filter(|e| !e.is_empty());
    match b.text("type", 10, "Contact Type")?.as_deref() {
        None | Some("Person") | Some("Company") => {}
        Some(other) => {
            return Err(ODataError::new(
                "Application_FieldValidationException",
                format!("type must be Person or Company, got '{other}'."),
            ))
        }
    }
    let mut texts = Vec::new();
    for (k, max) in address_fields(ctx) {
        if let Some(v) = b.text(k, max, k)? {
            texts.push((k, v));
        }
    }
    let fields = TextFields::from_pairs(texts).expect("every address field is in fields::NAMES");
    let prices_include_tax = b
        .boolean("pricesIncludeTax")?
        .unwrap_or(ctx.profile.orders.prices_include_tax);
    let number = match b.text("number", 20, "No.")?.filter(|n| !n.is_empty()) {
        Some(n) if inner.state.customers.contains_key(&n) => {
            return Err(ODataError::new(
                "Internal_EntityWithSameKeyExists",
                format!("The record in table Customer already exists. Identification fields and values: No.='{n}'"),
            ))
        }
        Some(n) => n,
        None => loop {
            let n = inner.ids.customer_number();
            if !inner.state.customers.contains_key(&n) {
                break n;
            }
        },
    };
    let c = Customer {
        id: inner.ids.guid(),
        number: number.clone(),
        display_name,
        email: email.clone(),
        phone,
        fields,
        prices_include_tax,
        last_modified: ctx.at,
    };
    inner.state.insert_customer(c);
    ctx.log.record(
        ctx.at,
        System::Erp,
        Event::ErpCustomerCreated {
            number: number.clone(),
            email,
        },
    );
    Ok(number)
}
