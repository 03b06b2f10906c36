//! Money maths: how the ERP computes line amounts, tax and document totals.
//!
//! Pure and exact: amounts are integer minor units (cents), unit prices carry
//! five decimals (BC's default unit-amount precision, 0.00001), tax rates are
//! basis points (19 % = 1900), and every division rounds once, explicitly, with
//! the profile's mode. Nothing here touches `f64` except at the JSON edge.
//!
//! Two rules decide where cents appear (ERP.md §4, DESIGN.md F8):
//!
//! - [`Rounding::PerLine`]: each line's tax is rounded on its own and the
//!   document tax is the sum of the rounded line taxes;
//! - [`Rounding::PerDocument`]: the tax of each rate group is computed on the
//!   group's summed base and rounded once; lines get their share by running
//!   totals (cumulative rounding), so lines still add up to the header exactly.
//!
//! [`RoundingMode::HalfUp`] rounds ties away from zero (BC's `Round(x, 0.01, '=')`);
//! [`RoundingMode::HalfEven`] rounds ties to the even cent (banker's rounding).
//!
//! A header (invoice) discount is spread over the priced lines in proportion to
//! their amounts, again by running totals, and shows as each line's
//! `invoiceDiscountAllocation`.

use serde::{Deserialize, Serialize};

/// Where tax is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    PerLine,
    PerDocument,
}

/// How a tie (exactly half a cent) is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Ties away from zero: 0.105 → 0.11, −0.105 → −0.11.
    HalfUp,
    /// Ties to the even neighbour: 0.105 → 0.10, 0.115 → 0.12.
    HalfEven,
}

/// Unit prices are stored in 1/100,000 of the currency unit.
pub const UNIT_PRICE_SCALE: i64 = 100_000;
/// Basis points per 100 %.
pub const BP_PER_WHOLE: i64 = 10_000;

/// `num / den` rounded to an integer with `mode`. `den` must be positive.
pub fn round_div(num: i128, den: i128, mode: RoundingMode) -> i128 {
    debug_assert!(den > 0);
    let q = num.div_euclid(den); // floor
    let r = num.rem_euclid(den); // 0 <= r < den
    let twice = 2 * r;
    if twice < den {
        q
    } else if twice > den {
        q + 1
    } else {
        match mode {
            // A tie: away from zero means up for positives, down (stay at floor) for negatives.
            RoundingMode::HalfUp => {
                if num >= 0 {
                    q + 1
                } else {
                    q
                }
            }
            RoundingMode::HalfEven => {
                if q % 2 == 0 {
                    q
                } else {
                    q + 1
                }
            }
        }
    }
}

/// The amount of one line in cents before any header discount:
/// `quantity × unit price` rounded to the cent, minus the line discount.
pub fn line_amount(quantity: i64, unit_price_e5: i64, discount_cents: i64, mode: RoundingMode) -> i64 {
    let gross = round_div(
        i128::from(quantity) * i128::from(unit_price_e5),
        i128::from(UNIT_PRICE_SCALE / 100),
        mode,
    );
    // Clamp instead of wrapping: absurd amounts are refused by the caller's bound.
    let gross = i64::try_from(gross).unwrap_or(if gross < 0 { i64::MIN } else { i64::MAX });
    gross.saturating_sub(discount_cents)
}

/// The largest line or header amount the twin accepts, in cents (10^11 currency
/// units), so sums over any body that fits the size limit cannot overflow.
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000_000_000;

/// One line as the totals calculation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInput {
    /// Line amount in cents after the line discount, in the document's price
    /// basis (net, or gross when prices include tax).
    pub amount: i64,
    /// Tax rate in basis points.
    pub rate_bp: i64,
}

/// What the ERP computed for one line (cents, excluding tax unless named).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineTotals {
    /// The line amount excluding tax, before the header discount.
    pub amount_excluding_tax: i64,
    /// This line's share of the header discount, excluding tax.
    pub invoice_discount_allocation: i64,
    /// `amount_excluding_tax − invoice_discount_allocation`.
    pub net_amount: i64,
    pub tax: i64,
    /// `net_amount + tax`.
    pub amount_including_tax: i64,
}

/// What the ERP computed for a document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocTotals {
    pub lines: Vec<LineTotals>,
    pub total_excluding_tax: i64,
    pub total_tax: i64,
    pub total_including_tax: i64,
}

/// Why totals cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotalsError {
    #[error("the invoice discount {discount} is larger than the amount it applies to ({base})")]
    DiscountTooLarge { discount: i64, base: i64 },
    #[error("the invoice discount must not be negative")]
    NegativeDiscount,
}

/// Computes line and document totals the way the ERP does.
///
/// `header_discount` is in the document's price basis (gross when
/// `prices_include_tax`). Lines with a zero or negative amount (discount lines)
/// get no share of the header discount.
pub fn compute(
    lines: &[LineInput],
    header_discount: i64,
    prices_include_tax: bool,
    rounding: Rounding,
    mode: RoundingMode,
) -> Result<DocTotals, TotalsError> {
    let allocations = allocate(lines, header_discount, mode)?;
    // Running sums per rate for per-document rounding: (base so far, tax so far).
    let mut running: std::collections::BTreeMap<i64, (i128, i128)> = std::collections::BTreeMap::new();
    let mut out = DocTotals::default();
    for (line, alloc) in lines.iter().zip(allocations) {
        let base = i128::from(line.amount - alloc);
        let den = if prices_include_tax {
            i128::from(BP_PER_WHOLE + line.rate_bp)
        } else {
            i128::from(BP_PER_WHOLE)
        };
        let rate = i128::from(line.rate_bp);
        let tax = match rounding {
            Rounding::PerLine => round_div(base * rate, den, mode),
            Rounding::PerDocument => {
                let (cum_base, cum_tax) = running.entry(line.rate_bp).or_insert((0, 0));
                *cum_base += base;
                let new_cum = round_div(*cum_base * rate, den, mode);
                let t = new_cum - *cum_tax;
                *cum_tax = new_cum;
                t
            }
        } as i64;
        let t = if prices_include_tax {
            let gross_before = i128::from(line.amount);
            let tax_before = round_div(gross_before * rate, den, mode) as i64;
            let amount_excl = line.amount - tax_before;
            let net = line.amount - alloc - tax;
            LineTotals {
                amount_excluding_tax: amount_excl,
                invoice_discount_allocation: amount_excl - net,
                net_amount: net,
                tax,
                amount_including_tax: net + tax,
            }
        } else {
            let net = line.amount - alloc;
            LineTotals {
                amount_excluding_tax: line.amount,
                invoice_discount_allocation: alloc,
                net_amount: net,
                tax,
                amount_including_tax: net + tax,
            }
        };
        out.total_excluding_tax += t.net_amount;
        out.total_tax += t.tax;
        out.total_including_tax += t.amount_including_tax;
        out.lines.push(t);
    }
    Ok(out)
}

/// Spreads the header discount over lines with a positive amount, by running totals.
fn allocate(lines: &[LineInput], discount: i64, mode: RoundingMode) -> Result<Vec<i64>, TotalsError> {
    if discount < 0 {
        return Err(TotalsError::NegativeDiscount);
    }
    let mut alloc = vec![0; lines.len()];
    if discount == 0 {
        return Ok(alloc);
    }
    let base: i64 = lines.iter().map(|l| l.amount.max(0)).sum();
    if discount > base {
        return Err(TotalsError::DiscountTooLarge { discount, base });
    }
    let (mut cum_amount, mut cum_alloc) = (0i128, 0i128);
    for (i, l) in lines.iter().enumerate() {
        if l.amount <= 0 {
            continue;
        }
        cum_amount += i128::from(l.amount);
        let target = round_div(i128::from(discount) * cum_amount, i128::from(base), mode);
        alloc[i] = (target - cum_alloc) as i64;
        cum_alloc = target;
    }
    Ok(alloc)
}

/// Cents as a JSON number with two decimals (`1234` → `12.34`).
pub fn cents_json(cents: i64) -> serde_json::Value {
    serde_json::json!(cents as f64 / 100.0)
}

/// A unit price in 1/100,000 as a JSON number.
pub fn unit_price_json(e5: i64) -> serde_json::Value {
    serde_json::json!(e5 as f64 / UNIT_PRICE_SCALE as f64)
}

/// A rate in basis points as a JSON percentage (`1900` → `19`).
pub fn percent_json(bp: i64) -> serde_json::Value {
    serde_json::json!(bp as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Rounding::*;
    use RoundingMode::*;

    #[test]
    fn round_div_handles_ties_and_signs() {
        assert_eq!(round_div(105, 10, HalfUp), 11);
        assert_eq!(round_div(105, 10, HalfEven), 10);
        assert_eq!(round_div(115, 10, HalfEven), 12);
        assert_eq!(round_div(-105, 10, HalfUp), -11);
        assert_eq!(round_div(-105, 10, HalfEven), -10);
        assert_eq!(round_div(-104, 10, HalfUp), -10);
        assert_eq!(round_div(104, 10, HalfUp), 10);
        assert_eq!(round_div(106, 10, HalfEven), 11);
    }

    #[test]
    fn line_amount_rounds_unit_price_times_quantity_once() {
        // 3 × 16.80672 = 50.42016 → 50.42
        assert_eq!(line_amount(3, 1_680_672, 0, HalfUp), 5042);
        // 1 × 0.125 is a tie: 0.13 half-up, 0.12 half-even.
        assert_eq!(line_amount(1, 12_500, 0, HalfUp), 13);
        assert_eq!(line_amount(1, 12_500, 0, HalfEven), 12);
        assert_eq!(line_amount(2, 1_000_000, 150, HalfUp), 1850);
    }

    /// Four lines of 0.25 net at 7 %: each line's tax is 1.75 ct → 2 ct, so per
    /// line the document tax is 0.08, while per document 1.00 × 7 % = 0.07.
    #[test]
    fn per_line_and_per_document_differ_by_a_cent_on_a_known_basket() {
        let lines = vec![
            LineInput {
                amount: 25,
                rate_bp: 700
            };
            4
        ];
        let pl = compute(&lines, 0, false, PerLine, HalfUp).unwrap();
        let pd = compute(&lines, 0, false, PerDocument, HalfUp).unwrap();
        assert_eq!(pl.total_tax, 8);
        assert_eq!(pd.total_tax, 7);
        assert_eq!(pl.total_including_tax, 108);
        assert_eq!(pd.total_including_tax, 107);
        // Per document, the lines still add up to the header: 2 + 2 + 1 + 2 by running totals.
        assert_eq!(pd.lines.iter().map(|l| l.tax).collect::<Vec<_>>(), vec![2, 2, 1, 2]);
    }

    /// 1.50 at 7 % = 10.5 ct tax: half-up 0.11, half-even 0.10.
    #[test]
    fn half_up_and_half_even_differ_on_a_tie() {
        let lines = [LineInput {
            amount: 150,
            rate_bp: 700,
        }];
        assert_eq!(compute(&lines, 0, false, PerLine, HalfUp).unwrap().total_tax, 11);
        assert_eq!(compute(&lines, 0, false, PerLine, HalfEven).unwrap().total_tax, 10);
    }

    #[test]
    fn mixed_rates_are_rounded_per_rate_group() {
        let lines = [
            LineInput {
                amount: 333,
                rate_bp: 1900,
            }, // 63.27 ct
            LineInput {
                amount: 333,
                rate_bp: 1900,
            }, // 63.27 ct
            LineInput {
                amount: 150,
                rate_bp: 700,
            }, // 10.5 ct
        ];
        let pl = compute(&lines, 0, false, PerLine, HalfUp).unwrap();
        let pd = compute(&lines, 0, false, PerDocument, HalfUp).unwrap();
        assert_eq!(pl.total_tax, 63 + 63 + 11);
        // 6.66 × 19 % = 126.54 ct → 127; plus 11.
        assert_eq!(pd.total_tax, 127 + 11);
    }

    #[test]
    fn gross_prices_extract_tax() {
        // 11.90 gross at 19 % → 1.90 tax, 10.00 net.
        let t = compute(
            &[LineInput {
                amount: 1190,
                rate_bp: 1900,
            }],
            0,
            true,
            PerLine,
            HalfUp,
        )
        .unwrap();
        assert_eq!(
            (t.total_excluding_tax, t.total_tax, t.total_including_tax),
            (1000, 190, 1190)
        );
        assert_eq!(t.lines[0].amount_excluding_tax, 1000);
    }

    #[test]
    fn header_discount_is_allocated_by_running_totals_and_sums_exactly() {
        let lines = [
            LineInput {
                amount: 1000,
                rate_bp: 1900,
            },
            LineInput {
                amount: 1000,
                rate_bp: 1900,
            },
            LineInput {
                amount: 1000,
                rate_bp: 700,
            },
            LineInput {
                amount: -500,
                rate_bp: 1900,
            }, // a discount line takes no share
        ];
        let t = compute(&lines, 100, false, PerLine, HalfUp).unwrap();
        let allocs: Vec<i64> = t.lines.iter().map(|l| l.invoice_discount_allocation).collect();
        assert_eq!(allocs, vec![33, 34, 33, 0]);
        assert_eq!(t.total_excluding_tax, 3000 - 500 - 100);
        assert_eq!(
            t.total_including_tax,
            t.lines.iter().map(|l| l.amount_including_tax).sum::<i64>()
        );
        assert!(matches!(
            compute(&lines, 5000, false, PerLine, HalfUp),
            Err(TotalsError::DiscountTooLarge { .. })
        ));
    }

    #[test]
    fn negative_lines_round_symmetrically_half_up() {
        // −1.50 at 7 % = −10.5 ct → −0.11 half-up (away from zero).
        let t = compute(
            &[LineInput {
                amount: -150,
                rate_bp: 700,
            }],
            0,
            false,
            PerLine,
            HalfUp,
        )
        .unwrap();
        assert_eq!(t.total_tax, -11);
    }
}
