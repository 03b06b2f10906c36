//! [`Guid`]: a record id the ERP assigns (lowercase, hyphenated, 36 ASCII
//! characters), held inline. As a `String` each id cost 24 bytes plus a 36-byte
//! heap allocation, and a shipped sales order carries a dozen of them (its own,
//! its customer's, its lines', its shipment's and their lines', the index keys).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A GUID as text, inline; reads as `&str`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Guid([u8; 36]);

impl Guid {
    /// `s` as a Guid if it is 36 ASCII characters.
    pub fn parse(s: &str) -> Option<Guid> {
        let bytes: [u8; 36] = s.as_bytes().try_into().ok()?;
        bytes.is_ascii().then_some(Guid(bytes))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a Guid is ASCII")
    }
}

impl Default for Guid {
    /// The nil GUID (all zeros), as BC renders an absent id.
    fn default() -> Self {
        uuid::Uuid::nil().into()
    }
}

impl From<uuid::Uuid> for Guid {
    fn from(u: uuid::Uuid) -> Self {
        let mut buf = [0u8; 36];
        u.hyphenated().encode_lower(&mut buf);
        Guid(buf)
    }
}

impl Deref for Guid {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Guid {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::hash::Hash for Guid {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl PartialEq<str> for Guid {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Guid {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Guid {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Guid::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a 36-character GUID")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guid_reads_and_serialises_as_its_text() {
        let g = Guid::from(uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        assert_eq!(g.as_str(), "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(g, "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(serde_json::to_value(g).unwrap(), "01234567-89ab-cdef-0123-456789abcdef");
        let back: Guid = serde_json::from_str("\"01234567-89ab-cdef-0123-456789abcdef\"").unwrap();
        assert_eq!(back, g);
        assert!(serde_json::from_str::<Guid>("\"short\"").is_err());
        let mut m = std::collections::BTreeMap::new();
        m.insert(g, 1);
        assert_eq!(m.get("01234567-89ab-cdef-0123-456789abcdef"), Some(&1));
        assert_eq!(size_of::<Guid>(), 36);
        assert_eq!(Guid::default(), "00000000-0000-0000-0000-000000000000");
    }
}
