//! The Shopware twin's data: entity tables of JSON rows, foreign-key indexes and
//! the association map, a small stand-in for Shopware's DAL.
//!
//! Rows are kept packed (see [`super::packed`]) and decoded on each read, so
//! reads hand out owned rows (`Arc<Row>`), not references into the store;
//! packed rows of every table but products rest in the store's row file.
//!
//! Rows are stored as the Admin API shows them (camelCase JSON objects), so
//! search filters with dot paths, `includes` and sync upserts of any field work
//! the same way for every entity. Rows are kept in a `BTreeMap` by id: Shopware
//! ids are random, so id order is as arbitrary as Shopware's "no default sort"
//! while staying deterministic for one seed.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use super::fk::FkSet;
use super::packed::{Codec, Key, Packed, RowFile, DICT_ROWS};
use super::rows::RowMap;
use super::sorted::SortedMap;

pub use super::packed::Row;

/// Entities the twin knows, by their snake_case DAL name.
pub const ENTITIES: &[&str] = &[
    "product",
    "tax",
    "currency",
    "customer",
    "order",
    "order_line_item",
    "order_delivery",
    "order_transaction",
    "order_customer",
    "order_address",
    "state_machine_state",
];

/// How an association finds its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssocKind {
    /// To-many: rows of `to` whose `fk` equals this row's id.
    Many { fk: &'static str },
    /// Many-to-one: the row of `to` whose id is this row's `fk`.
    One { fk: &'static str },
    /// One-to-one from the other side: the row of `to` whose `fk` is this row's id.
    OneRev { fk: &'static str },
}

/// An association of an entity (`order.lineItems`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assoc {
    pub from: &'static str,
    pub name: &'static str,
    pub to: &'static str,
    pub kind: AssocKind,
}

impl Assoc {
    pub fn is_many(&self) -> bool {
        matches!(self.kind, AssocKind::Many { .. })
    }
}

use AssocKind::{Many, One, OneRev};

/// The associations the twin resolves in filters, sorts and `associations`.
pub const ASSOCIATIONS: &[Assoc] = &[
    Assoc {
        from: "order",
        name: "lineItems",
        to: "order_line_item",
        kind: Many { fk: "orderId" },
    },
    Assoc {
        from: "order",
        name: "deliveries",
        to: "order_delivery",
        kind: Many { fk: "orderId" },
    },
    Assoc {
        from: "order",
        name: "transactions",
        to: "order_transaction",
        kind: Many { fk: "orderId" },
    },
    Assoc {
        from: "order",
        name: "addresses",
        to: "order_address",
        kind: Many { fk: "orderId" },
    },
    Assoc {
        from: "order",
        name: "orderCustomer",
        to: "order_customer",
        kind: OneRev { fk: "orderId" },
    },
    Assoc {
        from: "order",
        name: "billingAddress",
        to: "order_address",
        kind: One { fk: "billingAddressId" },
    },
    Assoc {
        from: "order",
        name: "stateMachineState",
        to: "state_machine_state",
        kind: One { fk: "stateId" },
    },
    Assoc {
        from: "order",
        name: "currency",
        to: "currency",
        kind: One { fk: "currencyId" },
    },
    Assoc {
        from: "order_line_item",
        name: "order",
        to: "order",
        kind: One { fk: "orderId" },
    },
    Assoc {
        from: "order_line_item",
        name: "product",
        to: "product",
        kind: One { fk: "productId" },
    },
    Assoc {
        from: "order_line_item",
        name: "parent",
        to: "order_line_item",
        kind: One { fk: "parentId" },
    },
    Assoc {
        from: "order_line_item",
        name: "children",
        to: "order_line_item",
        kind: Many { fk: "parentId" },
    },
    Assoc {
        from: "order_delivery",
        name: "order",
        to: "order",
        kind: One { fk: "orderId" },
    },
    Assoc {
        from: "order_delivery",
        name: "stateMachineState",
        to: "state_machine_state",
        kind: One { fk: "stateId" },
    },
    Assoc {
        from: "order_delivery",
        name: "shippingOrderAddress",
        to: "order_address",
        kind: One {
            fk: "shippingOrderAddressId",
        },
    },
    Assoc {
        from: "order_transaction",
        name: "order",
        to: "order",
        kind: One { fk: "orderId" },
    },
    Assoc {
        from: "order_transaction",
        name: "stateMachineState",
        to: "state_machine_state",
        kind: One { fk: "stateId" },
    },
    Assoc {
        from: "order_customer",
        name: "order",
        to: "order",
        kind: One { fk: "orderId" },
    },
    Assoc {
        from: "order_customer",
        name: "customer",
        to: "customer",
        kind: One { fk: "customerId" },
    },
    Assoc {
        from: "order_address",
        name: "order",
        to: "order",
        kind: One { fk: "orderId" },
    },
    Assoc {
        from: "product",
        name: "parent",
        to: "product",
        kind: One { fk: "parentId" },
    },
    Assoc {
        from: "product",
        name: "children",
        to: "product",
        kind: Many { fk: "parentId" },
    },
    Assoc {
        from: "product",
        name: "tax",
        to: "tax",
        kind: One { fk: "taxId" },
    },
];

/// The association `name` of `entity`, if there is one.
pub fn association(entity: &str, name: &str) -> Option<&'static Assoc> {
    ASSOCIATIONS.iter().find(|a| a.from == entity && a.name == name)
}

/// Foreign keys indexed for to-many and reverse one-to-one lookups.
fn indexed_fks(entity: &str) -> impl Iterator<Item = &'static str> + '_ {
    ASSOCIATIONS.iter().filter_map(move |a| match a.kind {
        Many { fk } | OneRev { fk } if a.to == entity => Some(fk),
        _ => None,
    })
}

/// Converts a kebab-case URL segment (`order-delivery`) to the DAL name.
pub fn entity_from_url(segment: &str) -> Option<&'static str> {
    let snake = segment.replace('-', "_");
    ENTITIES.iter().copied().find(|e| *e == snake)
}

/// The URL form (`order-delivery`) of a DAL name.
pub fn url_name(entity: &str) -> String {
    entity.replace('_', "-")
}

#[derive(Debug, Default)]
struct Table {
    rows: RowMap,
    /// fk field -> (fk value, id)
    fk: BTreeMap<&'static str, FkSet>,
    codec: Codec,
    /// Rows written most recently, oldest first: they stay decoded until
    /// [`FRESH_ROWS`] newer writes push them out (a key may appear twice).
    fresh: VecDeque<Key>,
    /// Packed rows read most recently, decoded, newest last: a checkout reads
    /// each of its products several times (stock shown, price, stock write).
    read_cache: std::sync::Mutex<VecDeque<(Key, Arc<Row>)>>,
}

/// Packed rows a table keeps decoded after a read.
const READ_CACHE_ROWS: usize = 64;

/// Recently written rows a table keeps decoded: a stock write reads and
/// rewrites its product, and the export reads orders soon after checkout.
const FRESH_ROWS: usize = 256;

impl Table {
    fn get(&self, id: &str) -> Option<Arc<Row>> {
        let key = Key::new(id);
        let packed = self.rows.get(&key)?;
        if let Packed::Plain(row) = packed {
            return Some(Arc::clone(row));
        }
        let mut cache = self.read_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, row)) = cache.iter().find(|(k, _)| *k == key) {
            return Some(Arc::clone(row));
        }
        let row = self.codec.unpack(packed);
        if cache.len() >= READ_CACHE_ROWS {
            cache.pop_front();
        }
        cache.push_back((key, Arc::clone(&row)));
        Some(row)
    }

    /// Drops a row's decoded copy (it is being rewritten or removed).
    fn uncache(&mut self, key: &Key) -> Option<Arc<Row>> {
        let cache = self.read_cache.get_mut().unwrap_or_else(|p| p.into_inner());
        let at = cache.iter().position(|(k, _)| k == key)?;
        cache.remove(at).map(|(_, row)| row)
    }

    /// Stores a row decoded, as the newest fresh one, and packs the row that
    /// falls out of the fresh window. The table builds its dictionary from its
    /// first [`DICT_ROWS`] rows; smaller tables are never packed.
    fn insert(&mut self, key: Key, row: Row) {
        self.uncache(&key);
        self.rows.insert(key.clone(), Packed::Plain(Arc::new(row)));
        self.fresh.push_back(key);
        if !self.codec.packing() && self.rows.len() >= DICT_ROWS {
            let samples: Vec<Arc<Row>> = self.rows.values().map(|p| self.codec.unpack(p)).collect();
            self.codec.train(samples.iter().map(Arc::as_ref));
        }
        while self.fresh.len() > FRESH_ROWS {
            let Some(old) = self.fresh.pop_front() else { break };
            if !self.codec.packing() {
                continue;
            }
            if let Some(p @ Packed::Plain(_)) = self.rows.get_mut(&old) {
                let Packed::Plain(r) = std::mem::replace(p, Packed::empty()) else {
                    unreachable!("matched as plain")
                };
                *p = self.codec.pack(Arc::unwrap_or_clone(r));
            }
        }
    }

    fn remove(&mut self, id: &str) -> Option<Row> {
        let key = Key::new(id);
        let p = self.rows.remove(&key)?;
        let row = match self.uncache(&key) {
            Some(decoded) => decoded,
            None => self.codec.unpack(&p),
        };
        Some(Arc::unwrap_or_clone(row))
    }
}

/// All tables, and the indexes on unique fields, creation times and e-mails
/// (sorted vectors: a peak day writes 100k orders, each indexed once).
#[derive(Debug, Default)]
pub struct Store {
    tables: BTreeMap<&'static str, Table>,
    /// `product.productNumber` -> id (unique in Shopware).
    product_numbers: SortedMap<Box<str>, Key>,
    /// `order.orderNumber` -> id (unique per sales channel; one channel here).
    order_numbers: SortedMap<Box<str>, Key>,
    /// `order.createdAt` as an instant (unix ns) with the id, so the export's
    /// `createdAt >= watermark` search reads the newest orders, not the table.
    order_created: SortedMap<(i128, Key), ()>,
    /// `customer.email` with the id (guests reuse emails, so not unique).
    customer_emails: SortedMap<(Box<str>, Key), ()>,
    /// Products whose `available` is `false`: the stale-closeout check asks
    /// for them, and they are a few percent of a catalogue.
    unavailable_products: BTreeSet<Key>,
    /// Where packed rows rest (see [`Store::new`]).
    file: Option<Arc<RowFile>>,
}

/// Tables whose packed rows stay in memory: every checkout and stock write
/// rewrites product rows, and a row file only grows.
const IN_MEMORY: &[&str] = &["product"];

/// Unique fields with an index: (entity, field).
pub const UNIQUE_FIELDS: &[(&str, &str)] = &[("product", "productNumber"), ("order", "orderNumber")];

/// The instant of a stored timestamp, for the `createdAt` index.
fn instant(v: Option<&Value>) -> Option<i128> {
    v.and_then(Value::as_str)
        .and_then(crate::twin::shopware::search::parse_date)
        .map(|d| d.unix_timestamp_nanos())
}

impl Store {
    /// An empty store. Packed rows of every table but products go to a row
    /// file of the store's own (see [`RowFile`]) when the system's temporary
    /// directory takes one, and stay in memory otherwise.
    pub fn new() -> Self {
        let mut s = Store::default();
        let file = RowFile::create().ok().map(Arc::new);
        for e in ENTITIES {
            let mut t = Table::default();
            for fk in indexed_fks(e) {
                t.fk.insert(fk, FkSet::default());
            }
            if let Some(f) = file.as_ref().filter(|_| !IN_MEMORY.contains(e)) {
                t.codec.file_rows_in(Arc::clone(f));
            }
            s.tables.insert(e, t);
        }
        s.file = file;
        s
    }

    /// Takes `entity`'s table out of the store, as a store of its own with
    /// that one table (its rows, foreign keys and packed rows' file) and no
    /// other index: a reader that is done with the store frees each table
    /// once read. The table is gone from this store; asking it for that
    /// entity again is a bug.
    pub fn split_off(&mut self, entity: &str) -> Store {
        let mut part = Store {
            file: self.file.clone(),
            ..Store::default()
        };
        if let Some((name, table)) = self.tables.remove_entry(entity) {
            part.tables.insert(name, table);
        }
        part
    }

    /// Bytes written to the store's row file (0 without one).
    pub fn filed_bytes(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.len())
    }

    fn table(&self, entity: &str) -> &Table {
        self.tables
            .get(entity)
            .unwrap_or_else(|| panic!("unknown entity '{entity}' (a bug in the twin)"))
    }

    fn table_mut(&mut self, entity: &str) -> &mut Table {
        self.tables
            .get_mut(entity)
            .unwrap_or_else(|| panic!("unknown entity '{entity}' (a bug in the twin)"))
    }

    /// The row of `entity` with this id, decoded.
    pub fn get(&self, entity: &str, id: &str) -> Option<Arc<Row>> {
        self.table(entity).get(id)
    }

    pub fn contains(&self, entity: &str, id: &str) -> bool {
        self.table(entity).rows.contains_key(&Key::new(id))
    }

    pub fn len(&self, entity: &str) -> usize {
        self.table(entity).rows.len()
    }

    pub fn is_empty(&self, entity: &str) -> bool {
        self.len(entity) == 0
    }

    /// All rows of an entity in id order, decoded one at a time.
    pub fn rows<'a>(&'a self, entity: &str) -> impl Iterator<Item = Arc<Row>> + 'a {
        let t = self.table(entity);
        t.rows.values().map(|p| t.codec.unpack(p))
    }

    /// Every row of `entity` in id order, deserialised as `T` straight from
    /// its JSON text: a scan that needs a few fields of every row (the
    /// end-of-run reconciliation) does not build each row's map, nor take the
    /// table's read cache or shared decompressor, so scans of different
    /// tables can run on different threads.
    pub fn scan<'a, T: serde::de::DeserializeOwned + 'a>(&'a self, entity: &str) -> impl Iterator<Item = T> + 'a {
        let t = self.table(entity);
        let mut reader = t.codec.reader();
        t.rows.values().map(move |p| {
            serde_json::from_slice(reader.json(p))
                .unwrap_or_else(|e| panic!("a stored row does not fit the scan's row type: {e} (a bug in the twin)"))
        })
    }

    /// Bytes the packed rows of `entity` hold, in memory or in the row file
    /// (decoded tables count 0).
    pub fn packed_bytes(&self, entity: &str) -> usize {
        self.table(entity).rows.values().map(Codec::packed_bytes).sum()
    }

    /// Ids of rows of `entity` whose indexed `fk` equals `value`, in id order.
    pub fn ids_by_fk(&self, entity: &str, fk: &str, value: &str) -> Vec<String> {
        let Some(set) = self.table(entity).fk.get(fk) else {
            return Vec::new();
        };
        set.ids(&Key::new(value)).iter().map(Key::as_string).collect()
    }

    /// Whether `entity` indexes the foreign key `fk`.
    pub fn has_fk_index(&self, entity: &str, fk: &str) -> bool {
        self.table(entity).fk.contains_key(fk)
    }

    /// The product id for a productNumber.
    pub fn product_by_number(&self, number: &str) -> Option<String> {
        self.product_numbers.get(number).map(Key::as_string)
    }

    /// (product number, id) of every product, off the unique index (no row decoded).
    pub fn product_numbers(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        self.product_numbers.iter().map(|(n, k)| (&**n, k.as_string()))
    }

    /// The id of the row whose unique `field` (see [`UNIQUE_FIELDS`]) is `value`;
    /// `None` when the field has no index or no row has the value.
    pub fn id_by_unique(&self, entity: &str, field: &str, value: &str) -> Option<String> {
        let map = match (entity, field) {
            ("product", "productNumber") => &self.product_numbers,
            ("order", "orderNumber") => &self.order_numbers,
            _ => return None,
        };
        map.get(value).map(Key::as_string)
    }

    /// Ids of customers with this email, in id order (the order of a scan).
    pub fn customers_with_email<'a>(&'a self, email: &'a str) -> impl Iterator<Item = String> + 'a {
        self.customer_emails
            .range((Box::<str>::from(email), Key::min())..)
            .take_while(move |((e, _), _)| &**e == email)
            .map(|((_, id), _)| id.as_string())
    }

    /// Ids of products whose `available` flag is `false`, in id order.
    pub fn unavailable_products(&self) -> Vec<String> {
        self.unavailable_products.iter().map(Key::as_string).collect()
    }

    /// Whether `entity.field` has a unique index.
    pub fn is_unique(entity: &str, field: &str) -> bool {
        UNIQUE_FIELDS.contains(&(entity, field))
    }

    /// Ids of orders created within `[lo, hi]` (unix ns, inclusive; open ends
    /// unbounded), from the `createdAt` index, oldest first (ties in id order).
    /// Orders without a parseable `createdAt` are never returned: callers use
    /// this only for range filters, which such rows cannot match.
    pub fn orders_created_between(&self, lo: Option<i128>, hi: Option<i128>) -> Vec<String> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let lo = lo.map_or(Unbounded, |t| Included((t, Key::min())));
        // Every (t, id) with an instant of at most `t` sorts before (t + 1, "").
        let hi = hi.map_or(Unbounded, |t| Excluded((t + 1, Key::min())));
        self.order_created
            .range((lo, hi))
            .map(|((_, id), _)| id.as_string())
            .collect()
    }

    /// Inserts or replaces a whole row (its `id` field is the key).
    pub fn put(&mut self, entity: &'static str, row: Row) {
        let id = row
            .get("id")
            .and_then(Value::as_str)
            .expect("rows carry a string id")
            .to_string();
        if let Some(old) = self.table_mut(entity).remove(&id) {
            self.unindex_row(entity, &id, &old);
        }
        self.index(entity, &id, &row);
        self.table_mut(entity).insert(Key::new(&id), row);
    }

    /// Merges `fields` into an existing row; returns false if there is none.
    pub fn update(&mut self, entity: &'static str, id: &str, fields: &Row) -> bool {
        let Some(mut row) = self.table_mut(entity).remove(id) else {
            return false;
        };
        self.unindex_row(entity, id, &row);
        for (k, v) in fields {
            row.insert(k.clone(), v.clone());
        }
        self.index(entity, id, &row);
        self.table_mut(entity).insert(Key::new(id), row);
        true
    }

    /// Sets one field of an existing row.
    pub fn set_field(&mut self, entity: &'static str, id: &str, field: &str, value: Value) -> bool {
        let mut fields = Row::new();
        fields.insert(field.to_string(), value);
        self.update(entity, id, &fields)
    }

    /// Removes a row; returns it if it existed.
    pub fn delete(&mut self, entity: &'static str, id: &str) -> Option<Row> {
        let row = self.table_mut(entity).remove(id)?;
        self.unindex_row(entity, id, &row);
        Some(row)
    }

    fn index(&mut self, entity: &'static str, id: &str, row: &Row) {
        let key = Key::new(id);
        if entity == "product" {
            if let Some(n) = row.get("productNumber").and_then(Value::as_str) {
                self.product_numbers.insert(n.into(), key.clone());
            }
            if row.get("available") == Some(&Value::Bool(false)) {
                self.unavailable_products.insert(key.clone());
            }
        }
        if entity == "customer" {
            if let Some(e) = row.get("email").and_then(Value::as_str) {
                self.customer_emails.insert((e.into(), key.clone()), ());
            }
        }
        if entity == "order" {
            if let Some(n) = row.get("orderNumber").and_then(Value::as_str) {
                self.order_numbers.insert(n.into(), key.clone());
            }
            if let Some(t) = instant(row.get("createdAt")) {
                self.order_created.insert((t, key.clone()), ());
            }
        }
        let t = self.table_mut(entity);
        for (fk, set) in t.fk.iter_mut() {
            if let Some(v) = row.get(*fk).and_then(Value::as_str) {
                set.insert(Key::new(v), key.clone());
            }
        }
    }

    fn unindex_row(&mut self, entity: &'static str, id: &str, row: &Row) {
        let key = Key::new(id);
        if entity == "product" {
            if let Some(n) = row.get("productNumber").and_then(Value::as_str) {
                if self.product_numbers.get(n) == Some(&key) {
                    self.product_numbers.remove(n);
                }
            }
            self.unavailable_products.remove(&key);
        }
        if entity == "customer" {
            if let Some(e) = row.get("email").and_then(Value::as_str) {
                self.customer_emails.remove(&(Box::<str>::from(e), key.clone()));
            }
        }
        if entity == "order" {
            if let Some(n) = row.get("orderNumber").and_then(Value::as_str) {
                if self.order_numbers.get(n) == Some(&key) {
                    self.order_numbers.remove(n);
                }
            }
            if let Some(t) = instant(row.get("createdAt")) {
                self.order_created.remove(&(t, key.clone()));
            }
        }
        let t = self.table_mut(entity);
        for (fk, set) in t.fk.iter_mut() {
            if let Some(v) = row.get(*fk).and_then(Value::as_str) {
                set.remove(&Key::new(v), &key);
            }
        }
    }

    /// Rows reached from `row` (of `entity`) through association `assoc`.
    pub fn related(&self, row: &Row, assoc: &Assoc) -> Vec<Arc<Row>> {
        let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
        match assoc.kind {
            Many { fk } | OneRev { fk } => self
                .ids_by_fk(assoc.to, fk, id)
                .iter()
                .filter_map(|i| self.get(assoc.to, i))
                .collect(),
            One { fk } => row
                .get(fk)
                .and_then(Value::as_str)
                .and_then(|target| self.get(assoc.to, target))
                .into_iter()
                .collect(),
        }
    }

    /// Every value at a dot path (`lineItems.payload.productNumber`), following
    /// associations; to-many steps fan out like a SQL join. Values of `row`
    /// itself are borrowed, values of associated rows copied.
    pub fn values_at<'a>(&self, entity: &str, row: &'a Row, path: &str) -> Vec<Cow<'a, Value>> {
        // A plain field (`stock`, `available`): most filters, on every row of a scan.
        if !path.contains('.') && association(entity, path).is_none() {
            return row.get(path).map(Cow::Borrowed).into_iter().collect();
        }
        let segments: Vec<&str> = path.split('.').collect();
        let mut out = Vec::new();
        self.walk(entity, row, &segments, &mut out);
        out
    }

    fn walk<'a>(&self, entity: &str, row: &'a Row, segs: &[&str], out: &mut Vec<Cow<'a, Value>>) {
        let Some((first, rest)) = segs.split_first() else {
            return;
        };
        // A leading entity name is allowed (`order.orderNumber`).
        if *first == entity && !rest.is_empty() && !row.contains_key(*first) {
            return self.walk(entity, row, rest, out);
        }
        if let Some(assoc) = association(entity, first) {
            for r in self.related(row, assoc) {
                if rest.is_empty() {
                    // Filtering on an association itself compares its id.
                    if let Some(id) = r.get("id") {
                        out.push(Cow::Owned(id.clone()));
                    }
                } else {
                    let mut inner = Vec::new();
                    self.walk(assoc.to, &r, rest, &mut inner);
                    out.extend(inner.into_iter().map(|v| Cow::Owned(v.into_owned())));
                }
            }
            return;
        }
        if let Some(v) = row.get(*first) {
            json_walk(v, rest, out);
        }
    }
}

/// Follows plain JSON fields (`payload.productNumber`), fanning out over arrays.
fn json_walk<'a>(v: &'a Value, segs: &[&str], out: &mut Vec<Cow<'a, Value>>) {
    match segs.split_first() {
        None => out.push(Cow::Borrowed(v)),
        Some((first, rest)) => match v {
            Value::Object(m) => {
                if let Some(n) = m.get(*first) {
                    json_walk(n, rest, out);
                }
            }
            Value::Array(items) => {
                for i in items {
                    json_walk(i, segs, out);
                }
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Row {
        v.as_object().unwrap().clone()
    }

    fn shop() -> Store {
        let mut s = Store::new();
        s.put("state_machine_state", row(json!({"id":"s1","technicalName":"open"})));
        s.put("order", row(json!({"id":"o1","orderNumber":"10001","stateId":"s1"})));
        s.put(
            "order_line_item",
            row(json!({"id":"l1","orderId":"o1","payload":{"productNumber":"SW1"}})),
        );
        s.put(
            "order_line_item",
            row(json!({"id":"l2","orderId":"o1","payload":{"productNumber":"SW2"}})),
        );
        s.put("product", row(json!({"id":"p1","productNumber":"SW1","stock":5})));
        s
    }

    #[test]
    fn dot_paths_follow_associations_and_fan_out() {
        let s = shop();
        let o = s.get("order", "o1").unwrap();
        let skus: Vec<_> = s.values_at("order", &o, "lineItems.payload.productNumber");
        assert_eq!(skus, vec![Cow::<Value>::Owned(json!("SW1")), Cow::Owned(json!("SW2"))]);
        assert_eq!(
            s.values_at("order", &o, "stateMachineState.technicalName"),
            vec![Cow::<Value>::Owned(json!("open"))]
        );
        assert_eq!(
            s.values_at("order", &o, "order.orderNumber"),
            vec![Cow::<Value>::Owned(json!("10001"))]
        );
        assert!(s.values_at("order", &o, "nope.x").is_empty());
    }

    #[test]
    fn indexes_follow_updates_and_deletes() {
        let mut s = shop();
        assert!(s.unavailable_products().is_empty());
        s.set_field("product", "p1", "available", json!(false));
        assert_eq!(s.unavailable_products(), vec!["p1".to_string()]);
        s.set_field("product", "p1", "available", json!(true));
        assert!(s.unavailable_products().is_empty());
        s.set_field("product", "p1", "available", json!(false));
        assert_eq!(s.product_by_number("SW1"), Some("p1".to_string()));
        s.update("product", "p1", &row(json!({"productNumber":"SW9"})));
        assert_eq!(s.product_by_number("SW1"), None);
        assert_eq!(s.product_by_number("SW9"), Some("p1".to_string()));
        s.delete("order_line_item", "l1");
        assert_eq!(s.ids_by_fk("order_line_item", "orderId", "o1"), vec!["l2".to_string()]);
        s.delete("product", "p1");
        assert_eq!(s.product_by_number("SW9"), None);
        assert!(s.unavailable_products().is_empty());
    }

    #[test]
    fn order_numbers_and_creation_times_are_indexed() {
        let mut s = Store::new();
        for (id, n, at) in [
            ("o1", "10001", "2026-11-27T10:00:00.000+00:00"),
            ("o2", "10002", "2026-11-27T10:05:00.000+00:00"),
            ("o3", "10003", "2026-11-27T12:05:00.000+02:00"),
        ] {
            s.put("order", row(json!({"id": id, "orderNumber": n, "createdAt": at})));
        }
        assert_eq!(s.id_by_unique("order", "orderNumber", "10002"), Some("o2".to_string()));
        assert_eq!(s.id_by_unique("order", "customerNumber", "10002"), None);
        let ts = |t: &str| instant(Some(&json!(t)));
        // 12:05+02:00 is 10:05Z: the index orders by instant, not by text.
        let mut ids = s.orders_created_between(ts("2026-11-27T10:05:00Z"), None);
        ids.sort_unstable();
        assert_eq!(ids, vec!["o2", "o3"]);
        assert_eq!(s.orders_created_between(None, ts("2026-11-27T10:00:00Z")), vec!["o1"]);
        s.update(
            "order",
            "o1",
            &row(json!({"createdAt": "2026-11-27T11:00:00.000+00:00", "orderNumber": "9"})),
        );
        assert_eq!(s.id_by_unique("order", "orderNumber", "10001"), None);
        assert_eq!(s.id_by_unique("order", "orderNumber", "9"), Some("o1".to_string()));
        assert_eq!(s.orders_created_between(ts("2026-11-27T10:30:00Z"), None), vec!["o1"]);
        s.delete("order", "o2");
        assert_eq!(s.orders_created_between(None, None).len(), 2);
    }

    #[test]
    fn customer_emails_are_indexed_through_changes() {
        let mut s = Store::new();
        s.put(
            "customer",
            row(json!({"id": "c2", "email": "a@example.com", "guest": true})),
        );
        s.put(
            "customer",
            row(json!({"id": "c1", "email": "a@example.com", "guest": false})),
        );
        assert_eq!(
            s.customers_with_email("a@example.com").collect::<Vec<_>>(),
            vec!["c1", "c2"]
        );
        s.update("customer", "c1", &row(json!({"email": "b@example.com"})));
        assert_eq!(s.customers_with_email("a@example.com").collect::<Vec<_>>(), vec!["c2"]);
        assert_eq!(s.customers_with_email("b@example.com").collect::<Vec<_>>(), vec!["c1"]);
        s.delete("customer", "c2");
        assert_eq!(s.customers_with_email("a@example.com").count(), 0);
    }

    #[test]
    fn rows_pushed_out_of_the_fresh_window_are_packed_and_read_back_whole() {
        let mut s = Store::new();
        let n = FRESH_ROWS + 3 * DICT_ROWS;
        let line = |i: usize| {
            row(json!({"id": format!("{i:032x}"), "orderId": format!("{:032x}", i / 3),
                       "versionId": "0fa91ce3e96a4bc2be4bd9ce752c3425", "label": format!("Product {i}"),
                       "payload": {"productNumber": format!("SW{}", 10000 + i), "options": []},
                       "price": {"unitPrice": i as f64 / 4.0, "quantity": 1, "calculatedTaxes": []}}))
        };
        for i in 0..n {
            s.put("order_line_item", line(i));
        }
        // Rewriting an old row makes it fresh again; its index entries follow.
        s.update(
            "order_line_item",
            &format!("{:032x}", 1),
            &row(json!({"orderId": "o-new"})),
        );
        let json_bytes: usize = (0..n).map(|i| serde_json::to_vec(&line(i)).unwrap().len()).sum();
        let packed = s.packed_bytes("order_line_item");
        assert!(
            packed > 0 && packed * 4 < json_bytes,
            "{packed} packed bytes for {json_bytes} of JSON"
        );
        for i in (0..n).filter(|i| *i != 1) {
            assert_eq!(*s.get("order_line_item", &format!("{i:032x}")).unwrap(), line(i));
        }
        assert_eq!(
            s.ids_by_fk("order_line_item", "orderId", "o-new"),
            vec![format!("{:032x}", 1)]
        );
        assert_eq!(
            s.ids_by_fk("order_line_item", "orderId", &format!("{:032x}", 0)).len(),
            2
        );
        assert_eq!(s.rows("order_line_item").count(), n);
        assert_eq!(s.packed_bytes("tax"), 0, "small tables stay decoded");
        assert!(
            s.filed_bytes() >= packed as u64,
            "packed order rows rest in the row file ({} bytes filed)",
            s.filed_bytes()
        );
    }

    #[test]
    fn a_row_read_while_packed_is_never_served_stale_after_a_write() {
        let mut s = Store::new();
        let item = |i: usize, label: &str| {
            row(
                json!({"id": format!("{i:032x}"), "orderId": format!("{:032x}", i / 3), "label": label,
                       "payload": {"productNumber": format!("SW{}", 10000 + i)}}),
            )
        };
        let n = FRESH_ROWS + 2 * DICT_ROWS;
        for i in 0..n {
            s.put("order_line_item", item(i, "first"));
        }
        let id = format!("{:032x}", 5);
        // Packed and read twice: the second read is the cached copy.
        assert_eq!(s.get("order_line_item", &id).unwrap()["label"], "first");
        assert!(Arc::ptr_eq(
            &s.get("order_line_item", &id).unwrap(),
            &s.get("order_line_item", &id).unwrap()
        ));
        s.update("order_line_item", &id, &row(json!({"label": "second"})));
        assert_eq!(s.get("order_line_item", &id).unwrap()["label"], "second");
        // Pushed out of the fresh window and packed again: still the new text.
        for i in n..n + FRESH_ROWS + 1 {
            s.put("order_line_item", item(i, "later"));
        }
        assert_eq!(s.get("order_line_item", &id).unwrap()["label"], "second");
        s.delete("order_line_item", &id);
        assert!(s.get("order_line_item", &id).is_none());
    }

    #[test]
    fn url_names_map_to_entities() {
        assert_eq!(entity_from_url("order-delivery"), Some("order_delivery"));
        assert_eq!(entity_from_url("media"), None);
        assert_eq!(url_name("order_line_item"), "order-line-item");
    }
}
