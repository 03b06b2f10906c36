//! Amounts per tax rate as reconciliation keeps them for each order: one or
//! two rates, in a vector sorted by rate. A `BTreeMap` of them allocated a
//! whole B-tree node (about 370 bytes) per order, and the end of a peak-day
//! run holds 100k orders from each twin at once.

/// Amounts per tax rate ("19", "7"), sorted by rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates<T>(Vec<(String, T)>);

impl<T> Default for Rates<T> {
    fn default() -> Self {
        Rates(Vec::new())
    }
}

impl<T: Copy + std::ops::AddAssign> Rates<T> {
    /// Adds `amount` to `rate`'s amount (a new rate starts at `amount`).
    pub fn add(&mut self, rate: String, amount: T) {
        match self.0.binary_search_by(|(r, _)| r.as_str().cmp(&rate)) {
            Ok(i) => self.0[i].1 += amount,
            Err(i) => self.0.insert(i, (rate, amount)),
        }
    }
}

impl<T> Rates<T> {
    pub fn get(&self, rate: &str) -> Option<&T> {
        self.0
            .binary_search_by(|(r, _)| r.as_str().cmp(rate))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, rate: &str) -> bool {
        self.get(rate).is_some()
    }

    /// (rate, amount) in rate order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &T)> {
        self.0.iter().map(|(r, a)| (r, a))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Copy + std::ops::AddAssign, const N: usize> From<[(String, T); N]> for Rates<T> {
    fn from(pairs: [(String, T); N]) -> Self {
        let mut r = Rates::default();
        for (rate, amount) in pairs {
            r.add(rate, amount);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_add_up_per_rate_in_rate_order() {
        let mut r = Rates::default();
        r.add("7".to_string(), 1.5);
        r.add("19".to_string(), 3.0);
        r.add("7".to_string(), 0.25);
        assert_eq!(r.get("7"), Some(&1.75));
        assert_eq!(r.get("19"), Some(&3.0));
        assert!(!r.contains_key("0") && r.get("0").is_none());
        let order: Vec<&str> = r.iter().map(|(rate, _)| rate.as_str()).collect();
        assert_eq!(order, ["19", "7"], "text order, as the B-tree had them");
        assert_eq!(
            Rates::from([("7".to_string(), 2), ("7".to_string(), 3)]).get("7"),
            Some(&5)
        );
        assert!(Rates::<i64>::default().is_empty());
    }
}
