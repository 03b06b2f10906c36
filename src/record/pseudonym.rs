//! Consistent pseudonyms for the personal data in a recording.
//!
//! Every value is replaced by a fake one drawn with `fake` from a ChaCha8 RNG
//! seeded with a keyed hash: SHA-256 over the recording's secret [`Salt`], the
//! kind of value, its scope (the customer's e-mail) and the value. So the same
//! e-mail always becomes the same fake e-mail, and that customer's name, street,
//! city, zip code, phone number and company always become the same fakes, within
//! a recording and across recordings with the same salt (`--salt-file`). Without
//! the salt nobody can map a pseudonym back or test a guess; the salt never
//! enters the trace. Customer numbers are keyed by the number alone (they
//! identify the customer across e-mails).
//!
//! What matters for sync behaviour is kept:
//! - texts keep their length in characters (ERP fields cut or refuse long
//!   names, streets and cities; F7) and configurator texts keep theirs;
//! - zip codes, phone numbers, VAT ids and customer numbers keep their format
//!   (digits stay digits, letters letters; a VAT id keeps its country prefix,
//!   a phone number its `+` and two digits of country code);
//! - fake e-mails carry a keyed tag, so distinct customers stay distinct (two
//!   guests never merge into one; F5) and the address is under `example.*`.
//!
//! A pseudonym never equals its original (a draw that does is drawn again).

use std::path::Path;

use fake::faker::address::en::{BuildingNumber, CityName, StreetName};
use fake::faker::company::en::CompanyName;
use fake::faker::lorem::en::Word;
use fake::faker::name::en::{FirstName, LastName};
use fake::Fake;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::twin::shopware::checkout::{Cart, CartCustomer, CartLine};

/// Shortest salt file content accepted (bytes).
const MIN_SALT_BYTES: usize = 16;

/// The recording's secret. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt([u8; 32]);

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(***)")
    }
}

/// A salt file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SaltError {
    #[error("cannot read the salt file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("cannot create the salt file {path}: {error}")]
    Create { path: String, error: std::io::Error },
    #[error("the salt file {path} holds {len} bytes; a salt needs at least {MIN_SALT_BYTES} (remove the file and a new random one is made)")]
    TooShort { path: String, len: usize },
}

impl Salt {
    /// A random salt from the operating system's generator.
    pub fn random() -> Salt {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Salt(b)
    }

    /// A salt from any secret bytes (hashed, so any length of at least 16 works).
    pub fn from_secret(bytes: &[u8]) -> Salt {
        Salt(Sha256::digest(bytes).into())
    }

    /// Reads the salt file, or creates it with a random salt (readable by the
    /// owner only) when it does not exist. Returns the salt and whether the file is new.
    pub fn load_or_create(path: &Path) -> Result<(Salt, bool), SaltError> {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => {
                let trimmed = bytes.trim_ascii();
                if trimmed.len() < MIN_SALT_BYTES {
                    return Err(SaltError::TooShort {
                        path: name,
                        len: trimmed.len(),
                    });
                }
                Ok((Salt::from_secret(trimmed), false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut secret);
                let text = format!("{}\n", hex::encode(secret));
                write_private(path, text.as_bytes()).map_err(|error| SaltError::Create { path: name, error })?;
                Ok((Salt::from_secret(text.trim().as_bytes()), true))
            }
            Err(error) => Err(SaltError::Read { path: name, error }),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)
}

/// Turns personal data into consistent pseudonyms (see the module docs).
#[derive(Debug, Clone)]
pub struct Pseudonymiser {
    salt: Salt,
}

/// How often a draw that equals its original is repeated before giving up.
const REDRAWS: usize = 32;

impl Pseudonymiser {
    pub fn new(salt: Salt) -> Self {
        Pseudonymiser { salt }
    }

    /// The keyed hash of one value: the seed of its pseudonym.
    fn key(&self, kind: &str, scope: &str, value: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt.0);
        for part in [kind, scope, value] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }

    fn rng(&self, kind: &str, scope: &str, value: &str) -> ChaCha8Rng {
        ChaCha8Rng::from_seed(self.key(kind, scope, value))
    }

    /// Draws until the result differs from `original` (case-insensitively).
    fn distinct(original: &str, rng: &mut ChaCha8Rng, mut draw: impl FnMut(&mut ChaCha8Rng) -> String) -> String {
        let mut out = draw(rng);
        for _ in 0..REDRAWS {
            if !out.eq_ignore_ascii_case(original) {
                break;
            }
            out = draw(rng);
        }
        out
    }

    /// A fake text of exactly the original's length: words from `word`,
    /// joined by `sep` until long enough, then cut (never ending on a separator).
    fn text(
        &self,
        kind: &str,
        scope: &str,
        original: &str,
        sep: &str,
        word: impl Fn(&mut ChaCha8Rng) -> String,
    ) -> String {
        let target = original.chars().count();
        if target == 0 {
            return String::new();
        }
        let mut rng = self.rng(kind, scope, original);
        Self::distinct(original, &mut rng, |rng| {
            let mut s = word(rng);
            while s.chars().count() < target {
                s.push_str(sep);
                s.push_str(&word(rng));
            }
            let mut out: String = s.chars().take(target).collect();
            while out.ends_with([' ', '-']) {
                out.pop();
                out.push(rng.gen_range(b'a'..=b'z') as char);
            }
            out
        })
    }

    /// Digits become random digits and letters random letters (same case); the
    /// first `keep` characters and everything else (`+`, spaces, dashes) stay.
    fn format(&self, kind: &str, scope: &str, original: &str, keep: usize) -> String {
        let mut rng = self.rng(kind, scope, original);
        Self::distinct(original, &mut rng, |rng| {
            original
                .chars()
                .enumerate()
                .map(|(i, c)| match c {
                    _ if i < keep => c,
                    '0'..='9' => rng.gen_range(b'0'..=b'9') as char,
                    'a'..='z' => rng.gen_range(b'a'..=b'z') as char,
                    'A'..='Z' => rng.gen_range(b'A'..=b'Z') as char,
                    other => other,
                })
                .collect()
        })
    }

    /// The fake e-mail of an e-mail: `first.last.<tag>@example.{com,net,org}`,
    /// the tag a keyed hash (unique per customer in practice: 48 bits).
    pub fn email(&self, email: &str) -> String {
        let norm = normalise(email);
        if norm.is_empty() {
            return String::new();
        }
        let mut rng = self.rng("email", "", &norm);
        let first: String = FirstName().fake_with_rng(&mut rng);
        let last: String = LastName().fake_with_rng(&mut rng);
        let local: String = format!("{first}.{last}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect::<String>()
            .to_lowercase();
        let tag = hex::encode(&self.key("email-tag", "", &norm)[..6]);
        let domain = ["example.com", "example.net", "example.org"][rng.gen_range(0..3)];
        format!("{local}.{tag}@{domain}")
    }

    pub fn first_name(&self, email: &str, v: &str) -> String {
        self.text("first-name", &normalise(email), v, "-", |r| {
            FirstName().fake_with_rng(r)
        })
    }

    pub fn last_name(&self, email: &str, v: &str) -> String {
        self.text("last-name", &normalise(email), v, "-", |r| LastName().fake_with_rng(r))
    }

    pub fn company(&self, email: &str, v: &str) -> String {
        self.text("company", &normalise(email), v, " ", |r| CompanyName().fake_with_rng(r))
    }

    pub fn street(&self, email: &str, v: &str) -> String {
        self.text("street", &normalise(email), v, " ", |r| {
            let name: String = StreetName().fake_with_rng(r);
            let number: String = BuildingNumber().fake_with_rng(r);
            format!("{name} {number}")
        })
    }

    pub fn city(&self, email: &str, v: &str) -> String {
        self.text("city", &normalise(email), v, " ", |r| CityName().fake_with_rng(r))
    }

    pub fn zipcode(&self, email: &str, v: &str) -> String {
        self.format("zipcode", &normalise(email), v, 0)
    }

    /// Keeps a leading `+` and two digits of country code.
    pub fn phone(&self, email: &str, v: &str) -> String {
        let keep = if v.starts_with('+') { 3 } else { 0 };
        self.format("phone", &normalise(email), v, keep)
    }

    /// Keeps a leading two-letter country prefix (it decides the tax treatment).
    pub fn vat_id(&self, email: &str, v: &str) -> String {
        let prefix = v.chars().take(2).filter(char::is_ascii_alphabetic).count();
        self.format("vat-id", &normalise(email), v, if prefix == 2 { 2 } else { 0 })
    }

    /// Keyed by the number alone: one customer, one pseudonym, whatever e-mail they use.
    pub fn customer_number(&self, v: &str) -> String {
        self.format("customer-number", "", v.trim(), 0)
    }

    /// Free text a customer typed (an engraving): words of the same length.
    pub fn free_text(&self, v: &str) -> String {
        self.text("free-text", "", v, " ", |r| Word().fake_with_rng::<String, _>(r))
    }

    /// The customer with every personal field replaced; guest flag and country kept.
    pub fn customer(&self, c: &CartCustomer) -> CartCustomer {
        let e = c.email.as_str();
        CartCustomer {
            email: self.email(e),
            first_name: self.first_name(e, &c.first_name),
            last_name: self.last_name(e, &c.last_name),
            guest: c.guest,
            customer_number: c.customer_number.as_deref().map(|n| self.customer_number(n)),
            company: c.company.as_deref().map(|v| self.company(e, v)),
            street: self.street(e, &c.street),
            zipcode: self.zipcode(e, &c.zipcode),
            city: self.city(e, &c.city),
            country_iso: c.country_iso.clone(),
            vat_ids: c.vat_ids.iter().map(|v| self.vat_id(e, v)).collect(),
            phone_number: c.phone_number.as_deref().map(|v| self.phone(e, v)),
        }
    }

    /// The cart with its customer and the customer's configurator texts replaced.
    pub fn cart(&self, cart: &Cart) -> Cart {
        let mut out = cart.clone();
        out.customer = self.customer(&cart.customer);
        for line in &mut out.lines {
            if let CartLine::CustomizedProducts { options, .. } = line {
                for o in options {
                    o.value = self.free_text(&o.value);
                }
            }
        }
        out
    }
}

/// E-mail addresses compare case-insensitively and without surrounding blanks.
fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(secret: &str) -> Pseudonymiser {
        Pseudonymiser::new(Salt::from_secret(secret.as_bytes()))
    }

    fn erika() -> CartCustomer {
        CartCustomer {
            email: "Erika.Mustermann@example.de".into(),
            first_name: "Erika".into(),
            last_name: "Mustermann".into(),
            guest: true,
            customer_number: Some("10042".into()),
            company: Some("Muster GmbH".into()),
            street: "Heidestraße 17".into(),
            zipcode: "51147".into(),
            city: "Köln".into(),
            country_iso: Some("DE".into()),
            vat_ids: vec!["DE123456789".into()],
            phone_number: Some("+49 221 1234567".into()),
        }
    }

    #[test]
    fn the_same_email_gets_the_same_pseudonyms_and_another_salt_other_ones() {
        let a = p("salt-one-0123456789");
        let x = a.customer(&erika());
        assert_eq!(x, a.customer(&erika()), "consistent within a recording");
        let mut shouty = erika();
        shouty.email = "  ERIKA.MUSTERMANN@example.de ".into();
        assert_eq!(a.customer(&shouty).email, x.email, "e-mails compare case-insensitively");
        assert_eq!(
            x,
            p("salt-one-0123456789").customer(&erika()),
            "same salt, same pseudonyms"
        );
        let y = p("salt-two-0123456789").customer(&erika());
        assert_ne!(x.email, y.email);
        assert_ne!((&x.first_name, &x.street), (&y.first_name, &y.street));
        // Another customer with the same name gets another pseudonym (keyed by e-mail).
        let mut other = erika();
        other.email = "erika.m@example.org".into();
        assert_ne!(a.customer(&other).email, x.email);
    }

    #[test]
    fn nothing_personal_survives_and_what_syncs_is_kept() {
        let a = p("salt-one-0123456789");
        let c = erika();
        let x = a.customer(&c);
        let json = serde_json::to_string(&x).unwrap();
        for original in [
            "Erika",
            "Mustermann",
            "Muster GmbH",
            "Heidestraße",
            "51147",
            "Köln",
            "123456789",
            "1234567",
            "10042",
            "example.de",
        ] {
            assert!(!json.contains(original), "{original} in {json}");
        }
        // Lengths and formats.
        for (orig, fake) in [
            (&c.first_name, &x.first_name),
            (&c.last_name, &x.last_name),
            (&c.street, &x.street),
            (&c.city, &x.city),
            (c.company.as_ref().unwrap(), x.company.as_ref().unwrap()),
        ] {
            assert_eq!(orig.chars().count(), fake.chars().count(), "{orig} -> {fake}");
        }
        assert!(x.zipcode.len() == 5 && x.zipcode.chars().all(|c| c.is_ascii_digit()));
        let phone = x.phone_number.unwrap();
        assert!(
            phone.starts_with("+49 ") && phone.len() == c.phone_number.unwrap().len(),
            "{phone}"
        );
        assert!(
            x.vat_ids[0].starts_with("DE") && x.vat_ids[0].len() == 11,
            "{:?}",
            x.vat_ids
        );
        assert_eq!(x.customer_number.as_deref().map(str::len), Some(5));
        assert!(x.email.ends_with(".com") || x.email.ends_with(".net") || x.email.ends_with(".org"));
        assert!(x.email.contains("@example."));
        assert_eq!((x.guest, x.country_iso.as_deref()), (true, Some("DE")));
    }

    #[test]
    fn long_texts_keep_their_length_and_short_ones_never_equal_the_original() {
        let a = p("salt-one-0123456789");
        let long = "Team Nordlicht - Winner of the Hamburg City Relay 2026, 4 x 10 km category";
        let fake = a.free_text(long);
        assert_eq!(fake.chars().count(), long.chars().count());
        assert!(!fake.ends_with(' '));
        assert_ne!(a.free_text(long), a.free_text("J + M"));
        assert_eq!(a.free_text(""), "");
        // One-letter values can only change within a tiny space: still never the original.
        for v in ["A", "B", "Z", "7"] {
            assert_ne!(a.first_name("x@y.z", v), v);
            assert_ne!(a.zipcode("x@y.z", v), v);
        }
    }

    #[test]
    fn distinct_emails_get_distinct_pseudonyms() {
        let a = p("salt-one-0123456789");
        let fakes: std::collections::BTreeSet<String> =
            (0..2000).map(|i| a.email(&format!("guest{i}@shop.example"))).collect();
        assert_eq!(fakes.len(), 2000);
    }

    #[test]
    fn debug_output_never_shows_the_salt() {
        let p = p("salt-one-0123456789");
        assert!(!format!("{p:?}").contains("salt-one"));
        assert!(format!("{p:?}").contains("***"));
    }

    #[test]
    fn a_salt_file_is_created_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("synctwin-salt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("salt.key");
        let (first, created) = Salt::load_or_create(&path).unwrap();
        assert!(created);
        let (again, created) = Salt::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(first, again);
        assert_ne!(first, Salt::random());
        assert_eq!(format!("{first:?}"), "Salt(***)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "short\n").unwrap();
        let e = Salt::load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("at least 16") && e.contains("salt.key"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
