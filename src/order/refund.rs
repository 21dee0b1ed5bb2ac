//! One refund of an order, as the platform recorded it, and the credit note's view of the order
//! it refunds: what was given back, not what was bought.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{LineItem, Order, TaxLine};

/// A refund the platform sent with its lines (Shopify's `refunds/create`, or the newest of an
/// order's `refunds`). Each refund is its own event: its credit note, its message, its number
/// in the credit-note series (keyed by [`Refund::id`]), so two partial refunds of one order
/// give two credit notes and a retried webhook of one gives none more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Refund {
    /// The platform's id for the refund.
    pub id: String,
    /// RFC 3339, when the platform gave it.
    pub created_at: Option<String>,
    /// The lines given back: the quantity refunded and what it was sold for (after
    /// discounts), as the platform computed it; taxed as the order's lines are
    /// ([`Order::prices_include_tax`]).
    pub lines: Vec<LineItem>,
    /// Shipping given back.
    pub shipping: Decimal,
    /// The tax given back on the lines and the shipping, by rate where the platform says.
    pub tax: Decimal,
    pub taxes: Vec<TaxLine>,
    /// The money given back (the refund's successful transactions); `None` where the platform
    /// recorded none (an order never paid, a refund without money): the lines, shipping and
    /// tax are then what the credit note totals.
    pub amount: Option<Decimal>,
}

/// Words a credit note of a refund prints for lines the platform does not itemise, in the
/// document's language.
#[derive(Debug, Clone, Copy)]
pub struct RefundWords<'a> {
    /// A refund of an amount without lines (a goodwill refund).
    pub refund: &'a str,
    /// The difference between the lines refunded and the money given back (a restocking fee
    /// kept, or more given back than the lines).
    pub adjustment: &'a str,
}

impl Refund {
    /// Lines, shipping and (unless the prices include it) tax: what the refund is worth by
    /// its parts. `None` when that overflows.
    fn by_parts(&self, prices_include_tax: bool) -> Option<Decimal> {
        let lines = self
            .lines
            .iter()
            .try_fold(Decimal::ZERO, |sum, l| sum.checked_add(l.total))?;
        let tax = if prices_include_tax {
            Decimal::ZERO
        } else {
            self.tax
        };
        lines.checked_add(self.shipping)?.checked_add(tax)
    }

    /// What was given back: the money where the platform says, else the parts.
    pub fn total(&self, prices_include_tax: bool) -> Decimal {
        self.amount
            .or_else(|| self.by_parts(prices_include_tax))
            .unwrap_or_default()
    }

    /// Every amount of the refund, named, for [`Order::check_amounts`].
    pub(super) fn amounts(&self) -> impl Iterator<Item = (String, &Decimal)> {
        [
            ("refund.shipping".to_owned(), &self.shipping),
            ("refund.tax".to_owned(), &self.tax),
        ]
        .into_iter()
        .chain(self.amount.iter().map(|a| ("refund.amount".to_owned(), a)))
        .chain(
            self.taxes
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("refund.taxes[{i}].amount"), &t.amount)),
        )
        .chain(self.lines.iter().enumerate().flat_map(|(i, l)| {
            [
                (format!("refund.lines[{i}].quantity"), &l.quantity),
                (format!("refund.lines[{i}].unit_price"), &l.unit_price),
                (format!("refund.lines[{i}].total"), &l.total),
            ]
        }))
    }
}

impl Order {
    /// An order known only by its id and the refund its webhook carried (Shopify's
    /// `refunds/create` has no customer, no address, no order lines): the worker completes it
    /// from the order before anything else.
    pub fn is_refund_only(&self) -> bool {
        self.refund.is_some() && self.lines.is_empty() && self.total_missing
    }

    /// What a credit note of this order states. With a refund: its lines, shipping and tax,
    /// totalling the money given back (a difference between the two is a line of its own, so
    /// the document adds up); the order's identity, customer and payment as they are. Without
    /// one: the whole order (a full refund).
    pub fn refunded_part(&self, words: RefundWords<'_>) -> Order {
        let Some(refund) = &self.refund else {
            return self.clone();
        };
        let mut lines = refund.lines.clone();
        let by_parts = refund.by_parts(self.prices_include_tax);
        let total = refund.total(self.prices_include_tax);
        if let Some(parts) = by_parts
            && let Some(difference) = total.checked_sub(parts)
            && !difference.is_zero()
        {
            lines.push(LineItem {
                name: if refund.lines.is_empty() && refund.shipping.is_zero() {
                    words.refund
                } else {
                    words.adjustment
                }
                .to_owned(),
                sku: None,
                quantity: Decimal::ONE,
                unit_price: difference,
                total: difference,
            });
        }
        let subtotal = lines
            .iter()
            .try_fold(Decimal::ZERO, |sum, l| sum.checked_add(l.total))
            .unwrap_or_default();
        Order {
            subtotal,
            shipping_total: refund.shipping,
            discount_total: Decimal::ZERO,
            tax_total: refund.tax,
            total,
            total_missing: false,
            taxes: refund.taxes.clone(),
            lines,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    const WORDS: RefundWords<'static> = RefundWords {
        refund: "Refund",
        adjustment: "Adjustment",
    };

    fn line(name: &str, quantity: &str, total: &str) -> LineItem {
        LineItem {
            name: name.into(),
            sku: None,
            quantity: d(quantity),
            unit_price: d(total) / d(quantity),
            total: d(total),
        }
    }

    fn order(refund: Refund) -> Order {
        Order {
            id: "1".into(),
            currency: "USD".into(),
            lines: vec![line("Whole order line", "3", "300.00")],
            subtotal: d("300.00"),
            total: d("318.00"),
            tax_total: d("18.00"),
            refund: Some(refund),
            ..Order::default()
        }
    }

    #[test]
    fn a_partial_refund_is_its_lines_shipping_and_tax_and_adds_up() {
        let part = order(Refund {
            id: "r1".into(),
            lines: vec![line("Mug", "1", "100.00")],
            shipping: d("5.00"),
            tax: d("6.30"),
            amount: Some(d("111.30")),
            ..Refund::default()
        })
        .refunded_part(WORDS);
        assert_eq!(part.lines.len(), 1, "{:?}", part.lines);
        assert_eq!(part.lines[0].name, "Mug");
        assert_eq!(part.subtotal, d("100.00"));
        assert_eq!(part.total, d("111.30"));
        assert_eq!(part.reconcile(), Ok(()));
    }

    #[test]
    fn money_kept_back_or_given_on_top_is_a_line_of_its_own() {
        // Shopify's own example: two lines and their tax (399.29) refunded with 209.00.
        let kept = order(Refund {
            id: "r1".into(),
            lines: vec![
                line("IPod Nano - 8gb - black", "1", "195.66"),
                line("IPod Nano - 8gb - green", "1", "195.67"),
            ],
            tax: d("7.96"),
            amount: Some(d("209.00")),
            ..Refund::default()
        })
        .refunded_part(WORDS);
        assert_eq!(kept.lines.len(), 3);
        assert_eq!(kept.lines[2].name, "Adjustment");
        assert_eq!(kept.lines[2].total, d("-190.29"));
        assert_eq!(kept.total, d("209.00"));
        assert_eq!(kept.reconcile(), Ok(()));
        // Money only: one line saying so.
        let goodwill = order(Refund {
            id: "r2".into(),
            amount: Some(d("10.00")),
            ..Refund::default()
        })
        .refunded_part(WORDS);
        assert_eq!(goodwill.lines.len(), 1);
        assert_eq!(
            (goodwill.lines[0].name.as_str(), goodwill.total),
            ("Refund", d("10.00"))
        );
        assert_eq!(goodwill.reconcile(), Ok(()));
    }

    #[test]
    fn without_money_recorded_the_parts_are_the_total_and_without_a_refund_the_whole_order() {
        let unpaid = order(Refund {
            id: "r1".into(),
            lines: vec![line("Mug", "2", "200.00")],
            tax: d("12.00"),
            amount: None,
            ..Refund::default()
        })
        .refunded_part(WORDS);
        assert_eq!(unpaid.total, d("212.00"));
        assert_eq!(unpaid.lines.len(), 1);
        let mut whole = order(Refund::default());
        whole.refund = None;
        assert_eq!(whole.refunded_part(WORDS), whole);
    }

    #[test]
    fn an_order_known_by_its_refund_only_is_told_apart() {
        let bare = Order {
            id: "1".into(),
            total_missing: true,
            refund: Some(Refund::default()),
            ..Order::default()
        };
        assert!(bare.is_refund_only());
        assert!(!order(Refund::default()).is_refund_only());
    }
}
