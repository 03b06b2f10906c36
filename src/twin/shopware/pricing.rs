//! Money maths as Shopware's cart does it (SHOPWARE.md §10; SW:Checkout/Cart/Price/*,
//! Checkout/Cart/Tax/*): line prices with their taxes, proportional tax splitting
//! for discounts and shipping, cash rounding and the cart total.
//!
//! # Representation
//!
//! All amounts are **integer cents** (`i64`), tax rates are integer basis points
//! (19 % = 1900, 8.1 % = 810). Every division rounds half away from zero, like
//! PHP's `round()`, on exact integers (`i128` intermediates), so sums never drift
//! the way accumulated floats do. Floats appear only at the edges: prices read
//! from product rows are converted once with [`cents`] (which pre-rounds the
//! binary noise away as PHP does, so `1.005` becomes 101 cents) and the
//! JSON structs ([`CalculatedPrice`], [`CartPrice`]) are rendered from cents.
//! The price of that choice: currencies with more than two decimals are rounded
//! to cents (every currency the twin seeds has two).
//!
//! # Shopware's rules implemented here
//!
//! - Gross line: `tax = total * rate / (100 + rate)`; net line: `tax = total * rate / 100`,
//!   each rounded per line (horizontal calculation, the default
//!   `taxCalculationType`). [`TaxCalculation::Vertical`] taxes the per-rate sums
//!   instead, which is what most ERPs do; the two differ by a cent now and then.
//! - Discounts, credits and shipping carry the tax rates of the goods they apply
//!   to, split by each rate's share of the goods' price (PercentageTaxRuleBuilder):
//!   one `calculatedTaxes` entry and one `taxRules` entry (with `percentage`) per rate.
//! - Cash rounding (CashRounding::cashRound): round to `decimals`, then, when
//!   `decimals <= 2`, to the nearest `interval` (0.05 for CHF). Line items use
//!   `itemRounding`, the cart total `totalRounding`; `rawTotal` keeps the
//!   unrounded total, so `totalPrice` may differ from the sum of the lines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Converts a float amount to cents the way PHP's `round($x, 2)` would.
pub fn cents(amount: f64) -> i64 {
    let scaled = amount * 100.0;
    // Pre-round away binary noise (1.005 * 100 = 100.49999999999999).
    let pre = (scaled * 1e6).round() / 1e6;
    pre.round() as i64
}

/// Cents as the float Shopware serialises.
pub fn to_f64(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// A tax rate in basis points (19 % = 1900).
pub fn rate_bp(rate: f64) -> i64 {
    (rate * 100.0).round() as i64
}

/// A rate in basis points as the float Shopware shows (19.0).
pub fn rate_f64(bp: i64) -> f64 {
    bp as f64 / 100.0
}

/// `n / d` rounded half away from zero.
pub fn div_round(n: i128, d: i128) -> i64 {
    assert!(d != 0, "division by zero in money maths");
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    let q = (2 * n.abs() + d) / (2 * d);
    (if n < 0 { -q } else { q }) as i64
}

/// The order's tax status: `gross` | `net` | `tax-free`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TaxStatus {
    #[default]
    #[serde(rename = "gross")]
    Gross,
    #[serde(rename = "net")]
    Net,
    #[serde(rename = "tax-free")]
    TaxFree,
}

impl TaxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaxStatus::Gross => "gross",
            TaxStatus::Net => "net",
            TaxStatus::TaxFree => "tax-free",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gross" => Some(TaxStatus::Gross),
            "net" => Some(TaxStatus::Net),
            "tax-free" => Some(TaxStatus::TaxFree),
            _ => None,
        }
    }
}

/// How cart taxes are summed (`taxCalculationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaxCalculation {
    /// Tax per line, rounded, then summed per rate (Shopware's default).
    #[default]
    Horizontal,
    /// Tax on the per-rate sum of the lines (what most ERPs do).
    Vertical,
}

/// A currency's `itemRounding` / `totalRounding` (CashRoundingConfig).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CashRounding {
    pub decimals: u32,
    pub interval: f64,
    pub round_for_net: bool,
}

impl CashRounding {
    /// Two decimals, interval 0.01 (EUR and most currencies).
    pub const CENT: CashRounding = CashRounding {
        decimals: 2,
        interval: 0.01,
        round_for_net: true,
    };

    /// Two decimals, interval 0.05 (Swiss cash rounding).
    pub const CHF: CashRounding = CashRounding {
        decimals: 2,
        interval: 0.05,
        round_for_net: true,
    };

    /// `mathRound` then, for `decimals <= 2`, rounding to the nearest `interval`.
    /// Amounts are cents already, so decimals above 2 change nothing.
    pub fn cash_round(&self, amount: i64) -> i64 {
        let amount = self.math_round(amount);
        if self.decimals > 2 {
            return amount;
        }
        let step = cents(self.interval).max(1);
        div_round(amount as i128, step as i128) * step
    }

    /// Rounds to `decimals` (0, 1 or 2; more is a no-op on cents).
    pub fn math_round(&self, amount: i64) -> i64 {
        if self.decimals >= 2 {
            return amount;
        }
        let step = 10i64.pow(2 - self.decimals);
        div_round(amount as i128, step as i128) * step
    }
}

/// One rate's tax in a price: `{tax, taxRate, price}` in cents / basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tax {
    pub rate_bp: i64,
    pub tax: i64,
    pub price: i64,
}

/// A tax rule: a rate and the share (percent) of the price it applies to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub rate_bp: i64,
    pub percentage: f64,
}

/// A calculated line price in cents (Shopware's CalculatedPrice).
#[derive(Debug, Clone, PartialEq)]
pub struct LinePrice {
    pub unit: i64,
    pub quantity: i64,
    pub total: i64,
    pub taxes: Vec<Tax>,
    pub rules: Vec<Rule>,
}

impl LinePrice {
    /// A zero price (option values, placeholders).
    pub fn zero(quantity: i64) -> Self {
        LinePrice {
            unit: 0,
            quantity,
            total: 0,
            taxes: Vec::new(),
            rules: Vec::new(),
        }
    }

    pub fn tax_total(&self) -> i64 {
        self.taxes.iter().map(|t| t.tax).sum()
    }

    /// The JSON form.
    pub fn to_calculated(&self) -> CalculatedPrice {
        CalculatedPrice {
            unit_price: to_f64(self.unit),
            quantity: self.quantity,
            total_price: to_f64(self.total),
            calculated_taxes: self.taxes.iter().map(CalculatedTax::from).collect(),
            tax_rules: self.rules.iter().map(TaxRule::from).collect(),
            reference_price: None,
            list_price: None,
            regulation_price: None,
            api_alias: "calculated_price".into(),
        }
    }
}

/// Tax on `amount` at `rate_bp` for the status (0 when tax-free).
pub fn tax_of(amount: i64, rate_bp: i64, status: TaxStatus) -> i64 {
    match status {
        TaxStatus::Gross => div_round(amount as i128 * rate_bp as i128, 10_000 + rate_bp as i128),
        TaxStatus::Net => div_round(amount as i128 * rate_bp as i128, 10_000),
        TaxStatus::TaxFree => 0,
    }
}

/// A quantity price (QuantityPriceDefinition): `unit` already in the cart's
/// price mode (gross or net), one tax rate. The tax is computed on the line
/// total and rounded once (Gross/NetPriceCalculator).
pub fn quantity_price(unit: i64, quantity: i64, rate_bp: i64, status: TaxStatus) -> LinePrice {
    let total = unit * quantity;
    let (taxes, rules) = if status == TaxStatus::TaxFree {
        (
            Vec::new(),
            vec![Rule {
                rate_bp,
                percentage: 100.0,
            }],
        )
    } else {
        (
            vec![Tax {
                rate_bp,
                tax: tax_of(total, rate_bp, status),
                price: total,
            }],
            vec![Rule {
                rate_bp,
                percentage: 100.0,
            }],
        )
    };
    LinePrice {
        unit,
        quantity,
        total,
        taxes,
        rules,
    }
}

/// Sums prices' taxes per rate (horizontal: the rounded line taxes are added).
pub fn sum_taxes<'a>(prices: impl IntoIterator<Item = &'a LinePrice>) -> Vec<Tax> {
    let mut by_rate: BTreeMap<i64, Tax> = BTreeMap::new();
    for p in prices {
        for t in &p.taxes {
            let e = by_rate.entry(t.rate_bp).or_insert(Tax {
                rate_bp: t.rate_bp,
                tax: 0,
                price: 0,
            });
            e.tax += t.tax;
            e.price += t.price;
        }
    }
    by_rate.into_values().collect()
}

/// Tax rules splitting an amount like the given prices are split
/// (PercentageTaxRuleBuilder): each rate's share of the prices' total.
pub fn proportional_rules<'a>(prices: impl IntoIterator<Item = &'a LinePrice>) -> Vec<Rule> {
    let prices: Vec<&LinePrice> = prices.into_iter().collect();
    let total: i64 = prices.iter().map(|p| p.total).sum();
    let mut by_rate: BTreeMap<i64, i64> = BTreeMap::new();
    for p in &prices {
        if p.taxes.is_empty() {
            // Tax-free lines still carry their rule; weigh by the rule share.
            for r in &p.rules {
                *by_rate.entry(r.rate_bp).or_default() += (p.total as f64 * r.percentage / 100.0).round() as i64;
            }
        } else {
            for t in &p.taxes {
                *by_rate.entry(t.rate_bp).or_default() += t.price;
            }
        }
    }
    if total == 0 {
        return by_rate
            .keys()
            .map(|&rate_bp| Rule {
                rate_bp,
                percentage: 100.0 / by_rate.len() as f64,
            })
            .collect();
    }
    by_rate
        .into_iter()
        .filter(|(_, price)| *price != 0)
        .map(|(rate_bp, price)| Rule {
            rate_bp,
            percentage: price as f64 * 100.0 / total as f64,
        })
        .collect()
}

/// An amount (quantity 1) spread over `rules`: each rate gets its share of the
/// amount (the last rate takes the rounding remainder, so the shares add up
/// exactly) and its own rounded tax (AbsolutePriceCalculator).
pub fn split_price(amount: i64, rules: &[Rule], status: TaxStatus) -> LinePrice {
    let mut taxes = Vec::new();
    if status != TaxStatus::TaxFree {
        let mut left = amount;
        for (i, r) in rules.iter().enumerate() {
            let share = if i + 1 == rules.len() {
                left
            } else {
                (amount as f64 * r.percentage / 100.0).round() as i64
            };
            left -= share;
            taxes.push(Tax {
                rate_bp: r.rate_bp,
                tax: tax_of(share, r.rate_bp, status),
                price: share,
            });
        }
    }
    LinePrice {
        unit: amount,
        quantity: 1,
        total: amount,
        taxes,
        rules: rules.to_vec(),
    }
}

/// A percentage discount over `affected` (PercentagePriceCalculator): the
/// negative, item-rounded share of their total, taxed like them.
pub fn percentage_discount(
    percent: f64,
    affected: &[&LinePrice],
    status: TaxStatus,
    rounding: &CashRounding,
) -> LinePrice {
    let base: i64 = affected.iter().map(|p| p.total).sum();
    let pct_bp = (percent.abs() * 100.0).round() as i128;
    let amount = -rounding.math_round(div_round(base as i128 * pct_bp, 10_000));
    split_price(amount, &proportional_rules(affected.iter().copied()), status)
}

/// An absolute discount or credit over `affected` (AbsolutePriceCalculator),
/// capped at their total so the cart never goes negative.
pub fn absolute_discount(value: i64, affected: &[&LinePrice], status: TaxStatus) -> LinePrice {
    let base: i64 = affected.iter().map(|p| p.total).sum();
    let amount = -(value.abs().min(base.max(0)));
    split_price(amount, &proportional_rules(affected.iter().copied()), status)
}

/// The cart's price in cents (Shopware's CartPrice).
#[derive(Debug, Clone, PartialEq)]
pub struct CartTotals {
    pub net: i64,
    pub total: i64,
    pub position: i64,
    pub raw_total: i64,
    pub taxes: Vec<Tax>,
    pub rules: Vec<Rule>,
    pub status: TaxStatus,
}

impl CartTotals {
    pub fn to_cart_price(&self) -> CartPrice {
        CartPrice {
            net_price: to_f64(self.net),
            total_price: to_f64(self.total),
            calculated_taxes: self.taxes.iter().map(CalculatedTax::from).collect(),
            tax_rules: self.rules.iter().map(TaxRule::from).collect(),
            position_price: to_f64(self.position),
            raw_total: to_f64(self.raw_total),
            tax_status: self.status,
            api_alias: "cart_price".into(),
        }
    }
}

/// Taxes of all prices per rate, the Shopware way for `calc`.
pub fn cart_taxes(prices: &[&LinePrice], status: TaxStatus, calc: TaxCalculation) -> Vec<Tax> {
    let horizontal = sum_taxes(prices.iter().copied());
    match calc {
        TaxCalculation::Horizontal => horizontal,
        TaxCalculation::Vertical => horizontal
            .into_iter()
            .map(|t| Tax {
                tax: tax_of(t.price, t.rate_bp, status),
                ..t
            })
            .collect(),
    }
}

/// The cart total (AmountCalculator): `lines` are the top-level line prices,
/// `shipping` the delivery costs.
///
/// - gross: `rawTotal` = lines + shipping; `totalPrice` = cash-rounded raw
///   total; `netPrice` = raw total − taxes.
/// - net: `netPrice` = lines + shipping; `rawTotal` = net + taxes;
///   `totalPrice` = raw total cash-rounded if `roundForNet`, else math-rounded.
/// - tax-free: no taxes; net = total.
pub fn cart_price(
    lines: &[&LinePrice],
    shipping: &LinePrice,
    status: TaxStatus,
    total_rounding: &CashRounding,
    calc: TaxCalculation,
) -> CartTotals {
    let position: i64 = lines.iter().map(|p| p.total).sum();
    let mut all: Vec<&LinePrice> = lines.to_vec();
    all.push(shipping);
    let sum = position + shipping.total;
    let taxes = if status == TaxStatus::TaxFree {
        Vec::new()
    } else {
        cart_taxes(&all, status, calc)
    };
    let tax: i64 = taxes.iter().map(|t| t.tax).sum();
    let rules = proportional_rules(all.iter().copied());
    let (net, raw, total) = match status {
        TaxStatus::Gross => (sum - tax, sum, total_rounding.cash_round(sum)),
        TaxStatus::Net => {
            let raw = sum + tax;
            let total = if total_rounding.round_for_net {
                total_rounding.cash_round(raw)
            } else {
                total_rounding.math_round(raw)
            };
            (sum, raw, total)
        }
        TaxStatus::TaxFree => (sum, sum, total_rounding.cash_round(sum)),
    };
    CartTotals {
        net,
        total,
        position,
        raw_total: raw,
        taxes,
        rules,
        status,
    }
}

/// `{tax, taxRate, price}` (apiAlias `cart_tax_calculated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalculatedTax {
    pub tax: f64,
    pub tax_rate: f64,
    pub price: f64,
    pub api_alias: String,
}

impl From<&Tax> for CalculatedTax {
    fn from(t: &Tax) -> Self {
        CalculatedTax {
            tax: to_f64(t.tax),
            tax_rate: rate_f64(t.rate_bp),
            price: to_f64(t.price),
            api_alias: "cart_tax_calculated".into(),
        }
    }
}

/// `{taxRate, percentage}` (apiAlias `cart_tax_rule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxRule {
    pub tax_rate: f64,
    pub percentage: f64,
    pub api_alias: String,
}

impl From<&Rule> for TaxRule {
    fn from(r: &Rule) -> Self {
        TaxRule {
            tax_rate: rate_f64(r.rate_bp),
            percentage: r.percentage,
            api_alias: "cart_tax_rule".into(),
        }
    }
}

/// A line's price as the Admin API shows it (apiAlias `calculated_price`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalculatedPrice {
    pub unit_price: f64,
    pub quantity: i64,
    pub total_price: f64,
    pub calculated_taxes: Vec<CalculatedTax>,
    pub tax_rules: Vec<TaxRule>,
    pub reference_price: Option<serde_json::Value>,
    pub list_price: Option<serde_json::Value>,
    pub regulation_price: Option<serde_json::Value>,
    pub api_alias: String,
}

/// An order's price as the Admin API shows it (apiAlias `cart_price`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartPrice {
    pub net_price: f64,
    pub total_price: f64,
    pub calculated_taxes: Vec<CalculatedTax>,
    pub tax_rules: Vec<TaxRule>,
    pub position_price: f64,
    pub raw_total: f64,
    pub tax_status: TaxStatus,
    pub api_alias: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: TaxStatus = TaxStatus::Gross;

    #[test]
    fn php_style_rounding() {
        assert_eq!(cents(1.005), 101, "PHP round(1.005, 2) = 1.01");
        assert_eq!(cents(19.99), 1999);
        assert_eq!(cents(-2.675), -268, "half away from zero");
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
    }

    #[test]
    fn gross_and_net_line_tax() {
        // 2 x 19.99 gross at 19 %: 39.98 * 19 / 119 = 6.3834 -> 6.38
        let p = quantity_price(1999, 2, 1900, G);
        assert_eq!((p.total, p.tax_total()), (3998, 638));
        // 2 x 10.00 net at 7 %: 20.00 * 0.07 = 1.40
        let n = quantity_price(1000, 2, 700, TaxStatus::Net);
        assert_eq!((n.total, n.tax_total()), (2000, 140));
        let f = quantity_price(1000, 1, 1900, TaxStatus::TaxFree);
        assert!(f.taxes.is_empty());
    }

    #[test]
    fn horizontal_line_rounding_differs_from_document_total_by_a_cent() {
        // Three lines of 0.10 gross at 19 %: each 0.10 * 19 / 119 = 0.01597 -> 0.02,
        // so per-line (horizontal) tax = 0.06; on the document total 0.30 * 19 / 119
        // = 0.0479 -> 0.05.
        let lines: Vec<LinePrice> = (0..3).map(|_| quantity_price(10, 1, 1900, G)).collect();
        let refs: Vec<&LinePrice> = lines.iter().collect();
        let ship = LinePrice::zero(1);
        let h = cart_price(&refs, &ship, G, &CashRounding::CENT, TaxCalculation::Horizontal);
        let v = cart_price(&refs, &ship, G, &CashRounding::CENT, TaxCalculation::Vertical);
        assert_eq!(h.taxes[0].tax, 6);
        assert_eq!(v.taxes[0].tax, 5);
        assert_eq!((h.total, h.net), (30, 24));
        assert_eq!((v.total, v.net), (30, 25));
    }

    #[test]
    fn chf_cash_rounding_keeps_raw_total() {
        // CHF 8.1 %: 12.34 + 7.41 = 19.75 ... plus shipping 4.93 = 24.68 -> 24.70
        let a = quantity_price(1234, 1, 810, G);
        let b = quantity_price(741, 1, 810, G);
        let ship = quantity_price(493, 1, 810, G);
        let t = cart_price(&[&a, &b], &ship, G, &CashRounding::CHF, TaxCalculation::Horizontal);
        assert_eq!(t.raw_total, 2468);
        assert_eq!(t.total, 2470);
        assert_ne!(t.raw_total, t.total);
        assert_eq!(t.position, 1975);
        // taxes per line: 12.34*8.1/108.1 = 0.9247 -> 0.92; 7.41 -> 0.5552 -> 0.56; 4.93 -> 0.3694 -> 0.37
        assert_eq!(
            t.taxes,
            vec![Tax {
                rate_bp: 810,
                tax: 185,
                price: 2468
            }]
        );
        assert_eq!(t.net, 2468 - 185);
        let json = serde_json::to_value(t.to_cart_price()).unwrap();
        assert_eq!(json["rawTotal"], serde_json::json!(24.68));
        assert_eq!(json["totalPrice"], serde_json::json!(24.7));
        assert_eq!(json["taxStatus"], "gross");
        assert_eq!(json["apiAlias"], "cart_price");
        // 0.05 intervals: .02 -> .00, .03 -> .05, .075 boundary cases
        assert_eq!(CashRounding::CHF.cash_round(102), 100);
        assert_eq!(CashRounding::CHF.cash_round(103), 105);
        assert_eq!(CashRounding::CHF.cash_round(-103), -105);
    }

    #[test]
    fn promotion_tax_is_split_across_19_and_7_percent() {
        // 100.00 at 19 % and 50.00 at 7 %; 10 % off the cart: -15.00,
        // split 2/3 (-10.00 at 19 %) and 1/3 (-5.00 at 7 %).
        let a = quantity_price(10000, 1, 1900, G);
        let b = quantity_price(5000, 1, 700, G);
        let d = percentage_discount(10.0, &[&a, &b], G, &CashRounding::CENT);
        assert_eq!(d.total, -1500);
        assert_eq!(d.rules.len(), 2);
        assert_eq!(d.rules[0].rate_bp, 700);
        assert!((d.rules[0].percentage - 100.0 / 3.0).abs() < 1e-9);
        assert!((d.rules[1].percentage - 200.0 / 3.0).abs() < 1e-9);
        // -5.00 * 7 / 107 = -0.327 -> -0.33; -10.00 * 19 / 119 = -1.5966 -> -1.60
        assert_eq!(
            d.taxes,
            vec![
                Tax {
                    rate_bp: 700,
                    tax: -33,
                    price: -500
                },
                Tax {
                    rate_bp: 1900,
                    tax: -160,
                    price: -1000
                },
            ]
        );
        // Absolute 20.00 off, same split; shares always add up to the amount.
        let e = absolute_discount(2000, &[&a, &b], G);
        assert_eq!(e.taxes.iter().map(|t| t.price).sum::<i64>(), -2000);
        assert_eq!(e.taxes[0].price, -667);
        assert_eq!(e.taxes[1].price, -1333);
        // Capped at the goods' value.
        assert_eq!(absolute_discount(99_999, &[&a, &b], G).total, -15000);
        // Order total: 150.00 - 15.00 = 135.00, taxes 15.97 - 1.60 + 3.27 - 0.33
        let t = cart_price(
            &[&a, &b, &d],
            &LinePrice::zero(1),
            G,
            &CashRounding::CENT,
            TaxCalculation::Horizontal,
        );
        assert_eq!(t.total, 13500);
        assert_eq!(
            t.taxes,
            vec![
                Tax {
                    rate_bp: 700,
                    tax: 327 - 33,
                    price: 4500
                },
                Tax {
                    rate_bp: 1900,
                    tax: 1597 - 160,
                    price: 9000
                },
            ]
        );
        let json = serde_json::to_value(d.to_calculated()).unwrap();
        assert_eq!(json["calculatedTaxes"].as_array().unwrap().len(), 2);
        assert_eq!(json["calculatedTaxes"][0]["apiAlias"], "cart_tax_calculated");
        assert_eq!(json["taxRules"][1]["apiAlias"], "cart_tax_rule");
        assert_eq!(json["totalPrice"], serde_json::json!(-15.0));
    }

    #[test]
    fn net_cart_adds_tax_on_top() {
        let a = quantity_price(1000, 3, 1900, TaxStatus::Net);
        let t = cart_price(
            &[&a],
            &LinePrice::zero(1),
            TaxStatus::Net,
            &CashRounding::CENT,
            TaxCalculation::Horizontal,
        );
        assert_eq!((t.net, t.raw_total, t.total), (3000, 3570, 3570));
        assert_eq!(serde_json::to_value(t.status).unwrap(), "net");
        assert_eq!(serde_json::to_value(TaxStatus::TaxFree).unwrap(), "tax-free");
    }
}
