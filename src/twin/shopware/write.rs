//! Validating entity writes the way Shopware's DAL does, before anything is
//! written: field types, required fields on insert, write-protected fields,
//! unexpected fields, state fields that only transitions may change, and
//! foreign keys. Shared by `POST /api/_action/sync` and `PATCH /api/{entity}/{id}`.
//!
//! Errors carry Shopware's constraint codes and a pointer the caller prefixes
//! (`/<op>/<index>/<field>` for sync, `/<field>` for PATCH).

use serde_json::{Map, Value};

use super::errors::SwError;
use super::store::{Row, Store};

/// Symfony's NotBlank constraint id, used by Shopware for missing required fields.
pub const NOT_BLANK: &str = "c1051bb4-d103-4f74-8988-acbcafc7fdc3";
/// Symfony's Type constraint id.
pub const WRONG_TYPE: &str = "ba785a8c-82cb-4283-967c-3cf342181b40";
/// Symfony's Range/GreaterThanOrEqual constraint id (too low).
pub const TOO_LOW: &str = "ea4e51d1-3342-48bd-87f1-9e672cd90cad";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Int {
        min: Option<i64>,
        nullable: bool,
    },
    Bool {
        nullable: bool,
    },
    Str {
        nullable: bool,
    },
    /// A reference to a row of an entity.
    Fk {
        entity: &'static str,
        nullable: bool,
    },
    /// Shopware's price field: a list of `{currencyId, gross, net, linked}`.
    Price,
    Object,
    StrList,
    /// Computed by Shopware; writing it is an error.
    Protected,
    /// A state-machine field: only transitions change it.
    State,
    /// Accepted and stored as given (associations the twin does not model).
    Any,
}

use Rule::*;

fn rules(entity: &str) -> &'static [(&'static str, Rule)] {
    match entity {
        "product" => &[
            ("id", Str { nullable: false }),
            (
                "parentId",
                Fk {
                    entity: "product",
                    nullable: true,
                },
            ),
            ("productNumber", Str { nullable: false }),
            (
                "stock",
                Int {
                    min: None,
                    nullable: false,
                },
            ),
            ("active", Bool { nullable: true }),
            ("name", Str { nullable: true }),
            ("description", Str { nullable: true }),
            (
                "taxId",
                Fk {
                    entity: "tax",
                    nullable: true,
                },
            ),
            ("price", Price),
            ("purchasePrices", Any),
            (
                "minPurchase",
                Int {
                    min: Some(1),
                    nullable: true,
                },
            ),
            (
                "maxPurchase",
                Int {
                    min: Some(1),
                    nullable: true,
                },
            ),
            (
                "purchaseSteps",
                Int {
                    min: Some(1),
                    nullable: true,
                },
            ),
            ("isCloseout", Bool { nullable: true }),
            ("shippingFree", Bool { nullable: true }),
            ("markAsTopseller", Bool { nullable: true }),
            (
                "restockTime",
                Int {
                    min: Some(0),
                    nullable: true,
                },
            ),
            ("ean", Str { nullable: true }),
            ("manufacturerNumber", Str { nullable: true }),
            ("customFields", Object),
            ("translations", Any),
            ("visibilities", Any),
            ("categories", Any),
            ("properties", Any),
            ("options", Any),
            ("media", Any),
            ("manufacturerId", Any),
            ("deliveryTimeId", Any),
            ("weight", Any),
            ("width", Any),
            ("height", Any),
            ("length", Any),
            ("available", Protected),
            ("availableStock", Protected),
            ("sales", Protected),
            ("createdAt", Protected),
            ("updatedAt", Protected),
        ],
        "order_delivery" => &[
            ("id", Str { nullable: false }),
            ("trackingCodes", StrList),
            ("shippingDateEarliest", Str { nullable: false }),
            ("shippingDateLatest", Str { nullable: false }),
            ("customFields", Object),
            ("stateId", State),
        ],
        "order" => &[
            ("id", Str { nullable: false }),
            ("customFields", Object),
            ("customerComment", Str { nullable: true }),
            ("affiliateCode", Str { nullable: true }),
            ("campaignCode", Str { nullable: true }),
            ("stateId", State),
            ("amountTotal", Protected),
            ("amountNet", Protected),
            ("positionPrice", Protected),
            ("taxStatus", Protected),
            ("shippingTotal", Protected),
        ],
        "order_transaction" => &[
            ("id", Str { nullable: false }),
            ("customFields", Object),
            ("stateId", State),
        ],
        "customer" => &[
            ("id", Str { nullable: false }),
            ("customFields", Object),
            ("customerNumber", Str { nullable: false }),
            ("email", Str { nullable: false }),
            ("active", Bool { nullable: true }),
        ],
        _ => &[],
    }
}

/// Entities the twin accepts writes for.
pub fn writable(entity: &str) -> bool {
    !rules(entity).is_empty()
}

/// Fields an insert must carry (variants inherit tax, price and name).
fn required_on_insert(entity: &str, record: &Map<String, Value>) -> &'static [&'static str] {
    match entity {
        "product" if record.get("parentId").is_some_and(|p| !p.is_null()) => &["productNumber", "stock"],
        "product" => &["productNumber", "stock", "taxId", "price", "name"],
        _ => &[],
    }
}

/// Can this entity be created through the API in the twin? (Orders are created
/// by the storefront, not by integrations.)
pub fn insertable(entity: &str) -> bool {
    entity == "product"
}

fn err(code: &str, detail: impl Into<String>, pointer: String) -> SwError {
    SwError::new(400, code, detail).pointer(pointer)
}

/// Validates one record. `existing` is the row being updated (None: insert).
/// `base` is the pointer prefix (`/stock-updates/3`). `pending_numbers` holds
/// productNumbers inserted earlier in the same request.
pub fn validate_record(
    store: &Store,
    entity: &str,
    record: &Map<String, Value>,
    existing: Option<&Row>,
    base: &str,
    errors: &mut Vec<SwError>,
) {
    let table = rules(entity);
    for (field, value) in record {
        let ptr = format!("{base}/{field}");
        let Some((_, rule)) = table.iter().find(|(f, _)| f == field) else {
            errors.push(err(
                "FRAMEWORK__WRITE_UNEXPECTED_FIELD_ERROR",
                format!("Unexpected field: {field}"),
                ptr,
            ));
            continue;
        };
        check_rule(store, entity, field, *rule, value, existing, ptr, errors);
    }
    if existing.is_none() {
        if !insertable(entity) {
            errors.push(err(
                "FRAMEWORK__WRITE_CONSTRAINT_VIOLATION",
                format!("The twin does not create {entity} rows through the Admin API; only updates of existing ids are accepted."),
                format!("{base}/id"),
            ));
            return;
        }
        for f in required_on_insert(entity, record) {
            if record.get(*f).is_none_or(Value::is_null) {
                errors.push(
                    err(NOT_BLANK, "This value should not be blank.", format!("{base}/{f}"))
                        .param("{{ value }}", "null"),
                );
            }
        }
    }
    if entity == "product" {
        if let Some(Value::String(n)) = record.get("productNumber") {
            let own_id = record.get("id").and_then(Value::as_str);
            if let Some(holder) = store.product_by_number(n) {
                let holder = holder.as_str();
                if Some(holder) != own_id && existing.and_then(|e| e.get("id")).and_then(Value::as_str) != Some(holder)
                {
                    errors.push(
                        err(
                            "CONTENT__DUPLICATE_PRODUCT_NUMBER",
                            format!("Product with number \"{n}\" already exists."),
                            format!("{base}/productNumber"),
                        )
                        .param("number", n.clone()),
                    );
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_rule(
    store: &Store,
    entity: &str,
    field: &str,
    rule: Rule,
    value: &Value,
    existing: Option<&Row>,
    ptr: String,
    errors: &mut Vec<SwError>,
) {
    let type_err = |ty: &str| {
        err(WRONG_TYPE, format!("This value should be of type {ty}."), ptr.clone())
            .param("{{ value }}", value.to_string())
            .param("{{ type }}", ty)
    };
    match rule {
        Int { min, nullable } => match value {
            Value::Null if nullable => {}
            Value::Number(n) if n.as_i64().is_some() => {
                if let (Some(min), Some(v)) = (min, n.as_i64()) {
                    if v < min {
                        errors.push(
                            err(
                                TOO_LOW,
                                format!("This value should be greater than or equal to {min}."),
                                ptr,
                            )
                            .param("{{ compared_value }}", min),
                        );
                    }
                }
            }
            Value::Null => errors.push(err(NOT_BLANK, "This value should not be blank.", ptr)),
            _ => errors.push(type_err("int")),
        },
        Bool { nullable } => match value {
            Value::Bool(_) => {}
            Value::Null if nullable => {}
            _ => errors.push(type_err("bool")),
        },
        Str { nullable } => match value {
            Value::String(s) if !s.trim().is_empty() || nullable => {}
            Value::String(_) => errors.push(err(NOT_BLANK, "This value should not be blank.", ptr)),
            Value::Null if nullable => {}
            Value::Null => errors.push(err(NOT_BLANK, "This value should not be blank.", ptr)),
            _ => errors.push(type_err("string")),
        },
        Fk {
            entity: target,
            nullable,
        } => match value {
            Value::Null if nullable => {}
            Value::String(id) if store.contains(target, id) => {}
            Value::String(id) => errors.push(
                err(
                    "FRAMEWORK__WRITE_CONSTRAINT_VIOLATION",
                    format!("The {target} with id \"{id}\" referenced by {field} does not exist."),
                    ptr,
                )
                .param("{{ value }}", id.clone()),
            ),
            _ => errors.push(type_err("string")),
        },
        Price => {
            let ok = value.as_array().is_some_and(|items| {
                !items.is_empty()
                    && items.iter().all(|p| {
                        p.get("currencyId").is_some_and(Value::is_string)
                            && p.get("gross").is_some_and(Value::is_number)
                            && p.get("net").is_some_and(Value::is_number)
                            && p.get("linked").is_none_or(Value::is_boolean)
                    })
            });
            if !ok {
                errors.push(err(
                    WRONG_TYPE,
                    "The price must be a list of {currencyId, gross, net, linked} objects.",
                    ptr,
                ));
            }
        }
        Object => {
            if !(value.is_object() || value.is_null()) {
                errors.push(type_err("array"));
            }
        }
        StrList => {
            if !value.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                errors.push(type_err("string[]"));
            }
        }
        Protected => errors.push(
            err(
                "FRAMEWORK__WRITE_PROTECTED_FIELD",
                "This field is write-protected.",
                ptr,
            )
            .param("field", field.to_string()),
        ),
        State => {
            // Shopware refuses to change a state on an existing entity; the same value is a no-op.
            let unchanged = existing.and_then(|e| e.get(field)) == Some(value);
            if existing.is_some() && !unchanged {
                errors.push(err(
                    "FRAMEWORK__WRITE_CONSTRAINT_VIOLATION",
                    format!(
                        "Changing the state-machine-state of this entity is not allowed for scope user. Either change the state via a state-transition or use a different scope. ({entity}.{field})"
                    ),
                    ptr,
                ));
            }
        }
        Any => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn store() -> Store {
        let mut s = Store::new();
        s.put("tax", rec(json!({"id":"t19","taxRate":19.0})));
        s.put("product", rec(json!({"id":"p1","productNumber":"SW1","stock":1})));
        s.put(
            "order_delivery",
            rec(json!({"id":"d1","stateId":"s-open","trackingCodes":[]})),
        );
        s
    }

    fn codes(errors: &[SwError]) -> Vec<(String, String)> {
        errors
            .iter()
            .map(|e| (e.code.clone(), e.pointer.clone().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn insert_without_required_fields_names_each_field() {
        let s = store();
        let mut e = Vec::new();
        validate_record(
            &s,
            "product",
            &rec(json!({"id":"new","stock":3})),
            None,
            "/op/0",
            &mut e,
        );
        let got = codes(&e);
        for f in ["productNumber", "taxId", "price", "name"] {
            assert!(got.contains(&(NOT_BLANK.into(), format!("/op/0/{f}"))), "{f}: {got:?}");
        }
    }

    #[test]
    fn wrong_types_protected_and_unexpected_fields_are_refused() {
        let s = store();
        let existing = s.get("product", "p1");
        let mut e = Vec::new();
        validate_record(
            &s,
            "product",
            &rec(json!({"id":"p1","stock":"7","available":true,"colour":"red","minPurchase":0})),
            existing.as_deref(),
            "/u/1",
            &mut e,
        );
        let got = codes(&e);
        assert!(got.contains(&(WRONG_TYPE.into(), "/u/1/stock".into())));
        assert!(got.contains(&("FRAMEWORK__WRITE_PROTECTED_FIELD".into(), "/u/1/available".into())));
        assert!(got.contains(&("FRAMEWORK__WRITE_UNEXPECTED_FIELD_ERROR".into(), "/u/1/colour".into())));
        assert!(got.contains(&(TOO_LOW.into(), "/u/1/minPurchase".into())));
    }

    #[test]
    fn state_fields_cannot_be_patched_and_duplicates_are_caught() {
        let s = store();
        let mut e = Vec::new();
        validate_record(
            &s,
            "order_delivery",
            &rec(json!({"stateId":"s-shipped"})),
            s.get("order_delivery", "d1").as_deref(),
            "",
            &mut e,
        );
        assert!(e[0].detail.contains("state-transition"));
        let mut e = Vec::new();
        validate_record(
            &s,
            "product",
            &rec(
                json!({"id":"p2","productNumber":"SW1","stock":1,"taxId":"t19","name":"x","price":[{"currencyId":"c","gross":1,"net":1,"linked":true}]}),
            ),
            None,
            "/op/0",
            &mut e,
        );
        assert_eq!(
            codes(&e),
            vec![("CONTENT__DUPLICATE_PRODUCT_NUMBER".into(), "/op/0/productNumber".into())]
        );
    }
}
