//! Free-text fields of an ERP record (a sales order's addresses and contact, a
//! customer's address) as sent, packed: one string holding every value and an
//! 8-byte entry per field (name, end of its value). A `BTreeMap<String, String>`
//! of the same fields took about 2 KB per sales order (tree nodes plus two heap
//! strings per field); this takes the values' bytes plus 8 per field.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Every field name a record may carry: sales order headers
/// (`orders::HEADER_TEXT`) and customers (`customers::address_fields`); a test
/// keeps them in step.
pub(crate) const NAMES: &[&str] = &[
    "email",
    "phoneNumber",
    "sellToAddressLine1",
    "sellToAddressLine2",
    "sellToCity",
    "sellToCountry",
    "sellToState",
    "sellToPostCode",
    "billToName",
    "billToCustomerNumber",
    "billToAddressLine1",
    "billToAddressLine2",
    "billToCity",
    "billToCountry",
    "billToState",
    "billToPostCode",
    "shipToName",
    "shipToContact",
    "shipToAddressLine1",
    "shipToAddressLine2",
    "shipToCity",
    "shipToCountry",
    "shipToState",
    "shipToPostCode",
    "paymentTermsId",
    "shipmentMethodId",
    "salesperson",
    "addressLine1",
    "addressLine2",
    "city",
    "state",
    "country",
    "postalCode",
];

/// Named text values, iterated in name order (as the `BTreeMap` they replace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextFields {
    text: Box<str>,
    /// (index into [`NAMES`], end of the value in `text`), by name.
    entries: Box<[(u8, u32)]>,
}

impl TextFields {
    /// The fields from `(name, value)` pairs; `None` if a name is not in
    /// [`NAMES`]. A repeated name keeps its last value.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Option<Self> {
        let mut named: Vec<(&'static str, u8, String)> = Vec::new();
        for (name, value) in pairs {
            let i = NAMES.iter().position(|n| *n == name)?;
            named.retain(|(n, _, _)| *n != name);
            named.push((NAMES[i], i as u8, value));
        }
        named.sort_by_key(|(n, _, _)| *n);
        let mut text = String::with_capacity(named.iter().map(|(_, _, v)| v.len()).sum());
        let mut entries = Vec::with_capacity(named.len());
        for (_, i, v) in named {
            text.push_str(&v);
            entries.push((i, u32::try_from(text.len()).ok()?));
        }
        Some(TextFields {
            text: text.into_boxed_str(),
            entries: entries.into_boxed_slice(),
        })
    }

    /// `(name, value)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        let mut start = 0usize;
        self.entries.iter().map(move |&(i, end)| {
            let v = &self.text[start..end as usize];
            start = end as usize;
            (NAMES[i as usize], v)
        })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Serialize for TextFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for TextFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(d)?;
        let unknown = map.keys().find(|k| !NAMES.contains(&k.as_str())).cloned();
        TextFields::from_pairs(map.iter().map(|(k, v)| (k.as_str(), v.clone()))).ok_or_else(|| {
            D::Error::custom(format!(
                "unknown text field '{}' (known: {})",
                unknown.unwrap_or_default(),
                NAMES.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_iterate_by_name_and_round_trip_through_json() {
        let f = TextFields::from_pairs([
            ("sellToCity", "Köln".to_string()),
            ("email", "a@example.com".to_string()),
            ("shipToName", String::new()),
            ("email", "b@example.com".to_string()),
        ])
        .unwrap();
        let got: Vec<(&str, &str)> = f.iter().collect();
        assert_eq!(
            got,
            vec![("email", "b@example.com"), ("sellToCity", "Köln"), ("shipToName", "")]
        );
        assert_eq!(f.get("sellToCity"), Some("Köln"));
        assert_eq!(f.get("city"), None);
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["sellToCity"], "Köln");
        let back: TextFields = serde_json::from_value(json).unwrap();
        assert_eq!(back, f);
        let err = serde_json::from_value::<TextFields>(serde_json::json!({"nope": "x"})).unwrap_err();
        assert!(err.to_string().contains("'nope'"), "{err}");
        assert!(TextFields::from_pairs([("nope", String::new())]).is_none());
        assert!(TextFields::default().is_empty());
    }
}
