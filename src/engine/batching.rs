//! Batches for the sync API, and isolating the records that fail validation.
//!
//! Shopware validates a whole sync request and rejects it all if one record is
//! bad, naming each bad record with a `/<op>/<index>/<field>` pointer. The
//! engine drops exactly those records (they go to the exception queue) and
//! resends the rest; when an error names no record (a 500, a proxy page) the
//! batch is split in halves so a bad record is cornered in log2(n) rounds.

use std::collections::BTreeSet;

/// Splits `items` into batches of at most `size` (size 0 is treated as 1).
pub fn batches<T: Clone>(items: &[T], size: usize) -> Vec<Vec<T>> {
    items.chunks(size.max(1)).map(<[T]>::to_vec).collect()
}

/// How to proceed with a rejected batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// These indexes are bad; resend the others.
    Isolated { bad: BTreeSet<usize>, retry: Vec<usize> },
    /// Nothing named a record: try the halves separately.
    Halves(Vec<usize>, Vec<usize>),
    /// A single record failed without a pointer: it is the bad one.
    Single(usize),
}

/// Decides the split of a batch of `len` records sent as operation `op_key`,
/// given the error pointers of the 400 answer.
pub fn split(op_key: &str, len: usize, pointers: &[String]) -> Split {
    let prefix = format!("/{op_key}/");
    let bad: BTreeSet<usize> = pointers
        .iter()
        .filter_map(|p| p.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('/').next())
        .filter_map(|i| i.parse::<usize>().ok())
        .filter(|i| *i < len)
        .collect();
    if !bad.is_empty() {
        let retry = (0..len).filter(|i| !bad.contains(i)).collect();
        return Split::Isolated { bad, retry };
    }
    if len <= 1 {
        return Split::Single(0);
    }
    let mid = len / 2;
    Split::Halves((0..mid).collect(), (mid..len).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_everything_in_order() {
        let b = batches(&(0..7).collect::<Vec<_>>(), 3);
        assert_eq!(b, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
        assert_eq!(batches(&[1, 2], 0), vec![vec![1], vec![2]]);
    }

    #[test]
    fn pointers_isolate_exactly_the_bad_records() {
        let p = vec![
            "/stock/3/stock".to_string(),
            "/stock/3/id".into(),
            "/stock/7/id".into(),
            "/other/1/id".into(),
        ];
        assert_eq!(
            split("stock", 10, &p),
            Split::Isolated {
                bad: [3, 7].into(),
                retry: vec![0, 1, 2, 4, 5, 6, 8, 9]
            }
        );
    }

    #[test]
    fn without_pointers_the_batch_is_halved_until_one_is_left() {
        assert_eq!(split("s", 5, &[]), Split::Halves(vec![0, 1], vec![2, 3, 4]));
        assert_eq!(split("s", 1, &[]), Split::Single(0));
        // A bad record in 64 is cornered in 6 halvings.
        let (mut len, mut rounds) = (64usize, 0);
        while len > 1 {
            if let Split::Halves(a, _) = split("s", len, &[]) {
                len = a.len();
            }
            rounds += 1;
        }
        assert_eq!(rounds, 6);
    }
}
