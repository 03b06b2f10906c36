//! Creating sales orders: validation like Business Central, the ERP's own
//! totals, idempotency modes, reservations and the shipment schedule.
//!
//! A `POST salesOrders` with deep-inserted `salesOrderLines` is checked field
//! by field (unknown or blocked item, unknown account, unknown tax code,
//! missing or unknown customer, over-long text), then priced by
//! [`super::totals::compute`] with the profile's rounding; prices and totals
//! sent by the client are ignored. What happens to a second order with the same
//! `externalDocumentNumber` depends on [`ExternalRefMode`].

use std::borrow::Cow;

use serde_json::Value;

use super::errors::ODataError;
use super::fields::TextFields;
use super::payload::Body;
use super::profile::ExternalRefMode;
use super::state::{LineType, SalesOrder, SalesOrderLine};
use super::totals::{self, LineInput};
use super::{Ctx, Inner};
use crate::observe::{Event, SkuQty, System};

const ORDER_TYPE: &str = "Microsoft.NAV.salesOrder";
const LINE_TYPE: &str = "Microsoft.NAV.salesOrderLine";

/// Free-text header fields accepted and echoed (address, contact); each with its limit kind.
const HEADER_TEXT: &[(&str, Limit)] = &[
    ("email", Limit::Email),
    ("phoneNumber", Limit::Phone),
    ("sellToAddressLine1", Limit::Address),
    ("sellToAddressLine2", Limit::Address),
    ("sellToCity", Limit::City),
    ("sellToCountry", Limit::Code),
    ("sellToState", Limit::City),
    ("sellToPostCode", Limit::PostCode),
    ("billToName", Limit::Name),
    ("billToCustomerNumber", Limit::Code),
    ("billToAddressLine1", Limit::Address),
    ("billToAddressLine2", Limit::Address),
    ("billToCity", Limit::City),
    ("billToCountry", Limit::Code),
    ("billToState", Limit::City),
    ("billToPostCode", Limit::PostCode),
    ("shipToName", Limit::Name),
    ("shipToContact", Limit::Name),
    ("shipToAddressLine1", Limit::Address),
    ("shipToAddressLine2", Limit::Address),
    ("shipToCity", Limit::City),
    ("shipToCountry", Limit::Code),
    ("shipToState", Limit::City),
    ("shipToPostCode", Limit::PostCode),
    ("paymentTermsId", Limit::Code),
    ("shipmentMethodId", Limit::Code),
    ("salesperson", Limit::Code),
];

/// Read-only or ignored properties a client may send back (BC ignores them on POST).
const HEADER_IGNORED: &[&str] = &[
    "id",
    "number",
    "orderDate",
    "postingDate",
    "customerName",
    "pricesIncludeTax",
    "totalAmountExcludingTax",
    "totalTaxAmount",
    "totalAmountIncludingTax",
    "fullyShipped",
    "status",
    "lastModifiedDateTime",
    "requestedDeliveryDate",
    "partialShipping",
];

const LINE_KEYS: &[&str] = &[
    "lineType",
    "lineObjectNumber",
    "itemId",
    "description",
    "description2",
    "quantity",
    "unitPrice",
    "discountAmount",
    "discountPercent",
    "taxCode",
    "unitOfMeasureCode",
    "sequence",
    "itemVariantId",
    "locationId",
];

#[derive(Debug, Clone, Copy)]
enum Limit {
    Email,
    Phone,
    Address,
    City,
    PostCode,
    Name,
    Code,
}

impl Limit {
    fn max(self, ctx: &Ctx<'_>) -> usize {
        let t = &ctx.profile.text_limits;
        match self {
            Limit::Email => t.email,
            Limit::Phone => t.phone,
            Limit::Address => t.address,
            Limit::City => t.city,
            Limit::PostCode => t.postal_code,
            Limit::Name => t.customer_name,
            Limit::Code => 20,
        }
    }
}

/// The outcome of an accepted POST.
#[derive(Debug)]
pub struct Posted {
    /// 201 for a new order, 200 for an upsert that replaced one.
    pub status: u16,
    pub number: String,
    pub lines: u64,
}

/// Handles `POST salesOrders`; records the order's creation or rejection.
pub fn post(inner: &mut Inner, ctx: &Ctx<'_>, body: &Value) -> Result<Posted, ODataError> {
    let ext_guess = body
        .get("externalDocumentNumber")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    post_inner(inner, ctx, body).inspect_err(|e| {
        ctx.log.record(
            ctx.at,
            System::Erp,
            Event::ErpOrderRejected {
                external_document_number: ext_guess,
                code: e.code.clone(),
                message: e.message.clone(),
            },
        );
    })
}

fn post_inner(inner: &mut Inner, ctx: &Ctx<'_>, body: &Value) -> Result<Posted, ODataError> {
    let b = Body::new(body, ORDER_TYPE)?;
    let mut known: Vec<&str> = vec![
        "externalDocumentNumber",
        "customerId",
        "customerNumber",
        "currencyCode",
        "discountAmount",
        "salesOrderLines",
    ];
    known.extend(HEADER_TEXT.iter().map(|(k, _)| *k));
    known.extend(HEADER_IGNORED);
    b.only(&known)?;
    let limits = &ctx.profile.text_limits;
    let ext = b
        .text(
            "externalDocumentNumber",
            limits.external_document_number,
            "External Document No.",
        )?
        .unwrap_or_default();

    // Customer: by id or number; one of them is required.
    let customer_id = b.text("customerId", 36, "Sell-to Customer Id")?;
    let customer_number = b.text("customerNumber", 20, "Sell-to Customer No.")?;
    let customer = match (&customer_id, &customer_number) {
        (Some(id), _) if !id.is_empty() => {
            let number = inner
                .state
                .customer_ids
                .get(id.as_str())
                .map(str::to_string)
                .ok_or_else(|| ODataError::table_relation("Sell-to Customer Id", "Sales Header", id, "Customer"))?;
            inner.state.customers.get(&number)
        }
        (_, Some(n)) if !n.is_empty() => Some(
            inner
                .state
                .customers
                .get(n.as_str())
                .ok_or_else(|| ODataError::table_relation("Sell-to Customer No.", "Sales Header", n, "Customer"))?,
        ),
        _ => None,
    }
    .ok_or_else(|| {
        ODataError::new(
            "Application_DialogException",
            "A customerNumber or a customerID must be provided.",
        )
    })?
    .into_owned();

    let mut texts = Vec::new();
    for (k, limit) in HEADER_TEXT {
        if let Some(v) = b.text(k, limit.max(ctx), k)? {
            texts.push((*k, v));
        }
    }
    let fields = TextFields::from_pairs(texts).expect("every header text field is in fields::NAMES");
    let currency = b.text("currencyCode", 10, "Currency Code")?.unwrap_or_default();
    if !currency.is_empty() && currency != ctx.profile.api.currency_code {
        return Err(ODataError::table_relation(
            "Currency Code",
            "Sales Header",
            &currency,
            "Currency",
        ));
    }
    let header_discount = b.cents("discountAmount")?.unwrap_or(0);
    if header_discount.abs() > totals::MAX_AMOUNT_CENTS {
        return Err(ODataError::new(
            "Application_FieldValidationException",
            "The invoice discount amount is too large.",
        ));
    }

    let raw_lines = b.array("salesOrderLines")?.map(Vec::as_slice).unwrap_or_default();
    let mut lines = Vec::with_capacity(raw_lines.len());
    for (i, raw) in raw_lines.iter().enumerate() {
        lines.push(parse_line(inner, ctx, raw, i)?);
    }

    let inputs: Vec<LineInput> = lines
        .iter()
        .map(|l| LineInput {
            amount: l.amount_excluding_tax,
            rate_bp: l.tax_bp,
        })
        .collect();
    let doc = totals::compute(
        &inputs,
        header_discount,
        customer.prices_include_tax,
        ctx.profile.orders.rounding,
        ctx.profile.orders.rounding_mode,
    )
    .map_err(|e| ODataError::new("Application_FieldValidationException", e.to_string()))?;
    for (l, t) in lines.iter_mut().zip(&doc.lines) {
        l.amount_excluding_tax = t.amount_excluding_tax;
        l.invoice_discount_allocation = t.invoice_discount_allocation;
        l.net_amount = t.net_amount;
        l.tax = t.tax;
        l.amount_including_tax = t.amount_including_tax;
    }

    // Idempotency by external document number.
    let existing = if ext.is_empty() {
        None
    } else {
        inner.state.ext_index.first(&ext).map(str::to_string)
    };
    let mode = ctx.profile.orders.external_document_number;
    let replace = match (mode, &existing) {
        (ExternalRefMode::Unique, Some(_)) => {
            return Err(ODataError::new(
                "Internal_EntityWithSameKeyExists",
                format!(
                    "The record in table Sales Header already exists. Identification fields and values: External Document No.='{ext}'"
                ),
            ))
        }
        (ExternalRefMode::Upsert, Some(number)) => {
            let o = inner.state.orders.get(number);
            if o.is_some_and(|o| o.anything_shipped()) {
                return Err(ODataError::new(
                    "Application_DialogException",
                    format!("Sales order {number} has been shipped and cannot be changed."),
                ));
            }
            Some(number.clone())
        }
        _ => None,
    };

    let line_count = lines.len() as u64;
    let (status, number) = match replace {
        Some(number) => {
            let Some(old) = inner.state.orders.get(&number).map(Cow::into_owned) else {
                return Err(ODataError::record_not_found("Sales Header", &number));
            };
            release(inner, &old);
            let order = SalesOrder {
                customer_id: customer.id,
                customer_number: customer.number.clone(),
                customer_name: customer.display_name.clone(),
                fields,
                prices_include_tax: customer.prices_include_tax,
                discount_amount: header_discount,
                lines,
                total_excluding_tax: doc.total_excluding_tax,
                total_tax: doc.total_tax,
                total_including_tax: doc.total_including_tax,
                last_modified: ctx.at,
                ..old
            };
            reserve(inner, &order);
            ctx.log.record(
                ctx.at,
                System::Erp,
                Event::ErpOrderUpdated {
                    number: order.number.clone(),
                    external_document_number: ext.clone(),
                    lines: sku_qty(&order),
                    total_including_tax: order.total_including_tax as f64 / 100.0,
                },
            );
            inner.state.insert_order(order);
            (200, number)
        }
        None => {
            let order = SalesOrder {
                id: inner.ids.guid(),
                number: inner.ids.order_number(),
                external_document_number: ext.clone(),
                customer_id: customer.id,
                customer_number: customer.number.clone(),
                customer_name: customer.display_name.clone(),
                fields,
                currency_code: ctx.profile.api.currency_code.clone(),
                prices_include_tax: customer.prices_include_tax,
                discount_amount: header_discount,
                lines,
                total_excluding_tax: doc.total_excluding_tax,
                total_tax: doc.total_tax,
                total_including_tax: doc.total_including_tax,
                created: ctx.at,
                last_modified: ctx.at,
            };
            reserve(inner, &order);
            inner.fulfilment.schedule(&order, ctx.at);
            ctx.log.record(
                ctx.at,
                System::Erp,
                Event::ErpOrderCreated {
                    number: order.number.clone(),
                    external_document_number: ext.clone(),
                    customer_number: order.customer_number.clone(),
                    lines: sku_qty(&order),
                    total_including_tax: order.total_including_tax as f64 / 100.0,
                },
            );
            let number = order.number.clone();
            inner.state.insert_order(order);
            (201, number)
        }
    };
    Ok(Posted {
        status,
        number,
        lines: line_count,
    })
}

fn sku_qty(o: &SalesOrder) -> Vec<SkuQty> {
    o.lines
        .iter()
        .filter(|l| l.line_type == LineType::Item)
        .map(|l| SkuQty {
            sku: l.line_object_number.clone(),
            qty: l.quantity,
        })
        .collect()
}

/// Adds an order's outstanding item quantities to the items' reservations.
pub(super) fn reserve(inner: &mut Inner, o: &SalesOrder) {
    for l in &o.lines {
        if let Some(item) = inner.state.items.get_mut(&l.line_object_number) {
            if l.line_type == LineType::Item && item.item_type == super::state::ItemType::Inventory {
                item.reserved += l.outstanding();
            }
        }
    }
}

/// Takes an order's outstanding item quantities off the reservations.
pub(super) fn release(inner: &mut Inner, o: &SalesOrder) {
    for l in &o.lines {
        if let Some(item) = inner.state.items.get_mut(&l.line_object_number) {
            if l.line_type == LineType::Item && item.item_type == super::state::ItemType::Inventory {
                item.reserved -= l.outstanding();
            }
        }
    }
}

fn parse_line(inner: &mut Inner, ctx: &Ctx<'_>, raw: &Value, index: usize) -> Result<SalesOrderLine, ODataError> {
    let b = Body::new(raw, LINE_TYPE)?;
    b.only(LINE_KEYS)?;
    let limits = &ctx.profile.text_limits;
    let line_type = match b.text("lineType", 20, "Type")?.as_deref() {
        None | Some("Item") => LineType::Item,
        Some("Account") => LineType::Account,
        Some("Comment") => LineType::Comment,
        Some(other) => {
            return Err(ODataError::new(
                "Application_FieldValidationException",
                format!("lineType '{other}' is not supported by the twin; use Item, Account or Comment."),
            ))
        }
    };
    let description = b.text("description", limits.line_description, "Description")?;
    let description2 = b
        .text("description2", limits.line_description2, "Description 2")?
        .unwrap_or_default();
    let sequence = 10_000 * (index as u32 + 1);
    if line_type == LineType::Comment {
        return Ok(SalesOrderLine {
            id: inner.ids.guid(),
            sequence,
            line_type,
            line_object_number: String::new(),
            item_id: None,
            description: description.unwrap_or_default(),
            description2,
            quantity: 0,
            shipped_quantity: 0,
            unit_price_e5: 0,
            discount_amount: 0,
            tax_code: String::new(),
            tax_bp: 0,
            amount_excluding_tax: 0,
            invoice_discount_allocation: 0,
            net_amount: 0,
            tax: 0,
            amount_including_tax: 0,
        });
    }
    let object = b.text("lineObjectNumber", 20, "No.")?.filter(|s| !s.is_empty());
    let item_id = b.text("itemId", 36, "Item Id")?.filter(|s| !s.is_empty());
    let (number, item_id, default_name, default_tax, default_price) = match line_type {
        LineType::Item => {
            let number = match (&object, &item_id) {
                (Some(n), _) => n.clone(),
                (None, Some(id)) => inner
                    .state
                    .item_ids
                    .get(id.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| ODataError::table_relation("Item Id", "Sales Line", id, "Item"))?,
                (None, None) => {
                    return Err(ODataError::new(
                        "Application_DialogException",
                        format!(
                            "Line {}: an Item line needs a lineObjectNumber or an itemId.",
                            index + 1
                        ),
                    ))
                }
            };
            let item = inner
                .state
                .items
                .get(&number)
                .ok_or_else(|| ODataError::table_relation("No.", "Sales Line", &number, "Item"))?;
            if item.blocked {
                return Err(ODataError::new(
                    "Internal_InvalidTableRelation",
                    format!(
                        "Blocked must be equal to 'No' in Item: No.={number}. Current value is 'Yes'. The field No. of table Sales Line contains a value ({number}) that cannot be found in the related table (Item)."
                    ),
                ));
            }
            (
                number,
                Some(item.id),
                item.display_name.clone(),
                item.tax_code.clone(),
                item.unit_price_e5,
            )
        }
        _ => {
            let number = object.ok_or_else(|| {
                ODataError::new(
                    "Application_DialogException",
                    format!("Line {}: an Account line needs a lineObjectNumber.", index + 1),
                )
            })?;
            let acct = inner
                .state
                .accounts
                .get(&number)
                .ok_or_else(|| ODataError::table_relation("No.", "Sales Line", &number, "G/L Account"))?;
            (number, None, acct.name.clone(), acct.tax_code.clone(), 0)
        }
    };
    let quantity = match b.number("quantity")? {
        None => 0,
        Some(q) if q >= 0.0 && q.fract() == 0.0 => q as i64,
        Some(q) => {
            return Err(ODataError::new(
                "Application_FieldValidationException",
                format!("Quantity must be a whole number of at least 0 in the twin, got {q}."),
            ))
        }
    };
    if quantity > 1_000_000_000 {
        return Err(ODataError::new(
            "Application_FieldValidationException",
            format!("Line {}: quantity {quantity} is too large.", index + 1),
        ));
    }
    let unit_price_e5 = b.price_e5("unitPrice")?.unwrap_or(default_price);
    let tax_code = b.text("taxCode", 20, "Tax Group Code")?.unwrap_or(default_tax);
    let tax_bp = *ctx
        .tax_rates
        .get(&tax_code)
        .ok_or_else(|| ODataError::table_relation("Tax Group Code", "Sales Line", &tax_code, "Tax Group"))?;
    let mode = ctx.profile.orders.rounding_mode;
    let gross = totals::line_amount(quantity, unit_price_e5, 0, mode);
    if gross.abs() > totals::MAX_AMOUNT_CENTS {
        return Err(ODataError::new(
            "Application_FieldValidationException",
            format!("Line {}: the line amount is too large.", index + 1),
        ));
    }
    let discount_amount = match (b.cents("discountAmount")?, b.number("discountPercent")?) {
        (Some(d), _) => d,
        (None, Some(p)) if (0.0..=100.0).contains(&p) => {
            let bp = (p * 100.0).round() as i128;
            totals::round_div(i128::from(gross) * bp, 10_000, mode) as i64
        }
        (None, Some(p)) => {
            return Err(ODataError::new(
                "Application_FieldValidationException",
                format!("discountPercent must be between 0 and 100, got {p}."),
            ))
        }
        (None, None) => 0,
    };
    if discount_amount < 0 || (gross >= 0 && discount_amount > gross) || (gross < 0 && discount_amount != 0) {
        return Err(ODataError::new(
            "Application_FieldValidationException",
            format!(
                "Line {}: discountAmount must be between 0 and the line amount.",
                index + 1
            ),
        ));
    }
    Ok(SalesOrderLine {
        id: inner.ids.guid(),
        sequence,
        line_type,
        line_object_number: number,
        item_id,
        description: description.unwrap_or(default_name),
        description2,
        quantity,
        shipped_quantity: 0,
        unit_price_e5,
        discount_amount,
        tax_code,
        tax_bp,
        amount_excluding_tax: gross - discount_amount,
        invoice_discount_allocation: 0,
        net_amount: 0,
        tax: 0,
        amount_including_tax: 0,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_header_text_field_has_a_packed_name() {
        for (name, _) in super::HEADER_TEXT {
            assert!(
                super::super::fields::NAMES.contains(name),
                "{name} missing from fields::NAMES"
            );
        }
    }
}
