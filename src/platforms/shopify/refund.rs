//! A Shopify refund (`refunds/create`, or one of an order's `refunds`) as the canonical
//! [`Refund`]: the lines given back with their tax, the shipping given back, and the money.

use rust_decimal::Decimal;

use super::super::ParseError;
use super::super::fields::{checked_add, checked_mul, checked_sub, checked_sum, out_of_range};
use super::super::lenient::{Obj, Text};
use super::payload::{MoneySet, RefundLine, ShopifyRefund, ShopifyTax};
use crate::order::{LineItem, Refund, TaxLine};

/// The refund in the order's (shop) currency `currency`; `Err` for an amount out of range.
pub(super) fn refund(r: &ShopifyRefund, currency: &str) -> Result<Refund, ParseError> {
    let id =
        r.id.get()
            .ok_or_else(|| ParseError::Invalid("refund without an id".into()))?;
    let mut taxes: Vec<TaxLine> = Vec::new();
    let mut lines = Vec::with_capacity(r.refund_line_items.0.len());
    for l in &r.refund_line_items.0 {
        lines.push(line(l)?);
        let tax = shop_money(&l.total_tax_set, &l.total_tax);
        split_tax(&mut taxes, &l.line_item.value.tax_lines.0, tax)?;
    }
    // Newer API versions list the shipping given back; older ones record it as negative
    // `shipping_refund` adjustments (several of which can cancel out).
    let (shipping, shipping_tax) = if r.refund_shipping_lines.0.is_empty() {
        let adjustments = r
            .order_adjustments
            .0
            .iter()
            .filter(|a| a.kind.is("shipping_refund"));
        let (amount, tax) = adjustments.fold((Vec::new(), Vec::new()), |(mut a, mut t), adj| {
            a.push(-shop_money(&adj.amount_set, &adj.amount));
            t.push(-shop_money(&adj.tax_amount_set, &adj.tax_amount));
            (a, t)
        });
        (checked_sum(amount)?, checked_sum(tax)?)
    } else {
        let none = Text::default();
        (
            checked_sum(
                r.refund_shipping_lines
                    .0
                    .iter()
                    .map(|s| shop_money(&s.subtotal_amount_set, &none)),
            )?,
            checked_sum(
                r.refund_shipping_lines
                    .0
                    .iter()
                    .map(|s| shop_money(&s.tax_amount_set, &none)),
            )?,
        )
    };
    if !shipping_tax.is_zero() {
        split_tax(&mut taxes, &[], shipping_tax)?;
    }
    let tax = checked_sum(taxes.iter().map(|t| t.amount))?;
    taxes.retain(|t| !t.amount.is_zero());
    // The money given back: successful refund transactions in the shop's currency (a
    // transaction in another currency is the customer's, not the order's amounts).
    let given: Vec<Decimal> = r
        .transactions
        .0
        .iter()
        .filter(|t| t.kind.is("refund") && t.status.is("success"))
        .filter(|t| {
            currency.is_empty()
                || t.currency
                    .get()
                    .is_none_or(|c| c.eq_ignore_ascii_case(currency))
        })
        .filter_map(|t| t.amount.opt_money())
        .collect();
    let amount = if given.is_empty() {
        None
    } else {
        Some(checked_sum(given)?)
    };
    Ok(Refund {
        id,
        created_at: r.created_at.get().or_else(|| r.processed_at.get()),
        lines,
        shipping,
        tax,
        taxes,
        amount,
    })
}

/// The refund of `refunds` an order event is about: the last (Shopify lists them in the
/// order they were made; each refund brings its own `refunds/create` and `orders/updated`).
pub(super) fn newest(refunds: &[ShopifyRefund]) -> Option<&ShopifyRefund> {
    refunds.iter().rev().find(|r| r.id.get().is_some())
}

fn line(l: &RefundLine) -> Result<LineItem, ParseError> {
    let item = &l.line_item.value;
    let quantity = l
        .quantity
        .opt_money()
        .filter(|q| !q.is_zero())
        .unwrap_or(Decimal::ONE);
    let total = shop_money(&l.subtotal_set, &l.subtotal);
    Ok(LineItem {
        name: item
            .name
            .get()
            .or_else(|| item.title.get())
            .unwrap_or_default(),
        sku: item.sku.get(),
        quantity,
        unit_price: total.checked_div(quantity).ok_or_else(out_of_range)?,
        total,
    })
}

/// `set.shop_money.amount` (the shop's currency, as the order's amounts are), else `plain`.
fn shop_money(set: &Obj<MoneySet>, plain: &Text) -> Decimal {
    set.value
        .shop_money
        .value
        .amount
        .opt_money()
        .unwrap_or_else(|| plain.money())
}

/// Adds `tax` to `taxes` by the rates of `rates` (the refunded line's tax lines), shared as
/// their own amounts share the line's tax (equally when they say nothing); without rates, to
/// a line without one.
fn split_tax(
    taxes: &mut Vec<TaxLine>,
    rates: &[ShopifyTax],
    tax: Decimal,
) -> Result<(), ParseError> {
    if tax.is_zero() {
        return Ok(());
    }
    if rates.is_empty() {
        return add_tax(taxes, "Tax".into(), None, tax);
    }
    let weights: Vec<Decimal> = rates.iter().map(|t| t.price.money().abs()).collect();
    let whole = checked_sum(weights.iter().copied())?;
    let mut left = tax;
    for (i, (t, weight)) in rates.iter().zip(&weights).enumerate() {
        let share = if i + 1 == rates.len() {
            left
        } else if whole.is_zero() {
            tax.checked_div(Decimal::from(rates.len()))
                .ok_or_else(out_of_range)?
        } else {
            checked_mul(tax, *weight)?
                .checked_div(whole)
                .ok_or_else(out_of_range)?
                .round_dp(4)
        };
        left = checked_sub(left, share)?;
        let rate = t
            .rate
            .opt_money()
            .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
            .map(|r| r.normalize());
        add_tax(
            taxes,
            t.title.get().unwrap_or_else(|| "Tax".into()),
            rate,
            share,
        )?;
    }
    Ok(())
}

fn add_tax(
    taxes: &mut Vec<TaxLine>,
    label: String,
    rate: Option<Decimal>,
    amount: Decimal,
) -> Result<(), ParseError> {
    match taxes
        .iter_mut()
        .find(|t| t.label == label && t.rate == rate)
    {
        Some(t) => t.amount = checked_add(t.amount, amount)?,
        None => taxes.push(TaxLine {
            label,
            rate,
            amount,
        }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::shopify::Shopify;
    use crate::platforms::{Headers, Parsed, WebhookPlatform};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A live shop's refund (a cancelled UK order, trimmed to the fields read): the shipping
    /// given back as three `shipping_refund` adjustments that net to −3.95, amounts as numbers
    /// and as strings, the line after its 25 % discount.
    const LIVE: &str = r#"{"id":1001108635996,"order_id":6127281406300,
        "created_at":"2024-06-05T20:46:10+01:00","note":"Order canceled",
        "order_adjustments":[
          {"amount":"-3.95","kind":"shipping_refund","tax_amount":"0.00"},
          {"amount":"3.95","kind":"shipping_refund","tax_amount":"0.00"},
          {"amount":"-3.95","kind":"shipping_refund","tax_amount":"0.00"}],
        "transactions":[{"amount":"20.45","currency":"GBP","kind":"refund","status":"success"}],
        "refund_line_items":[{"quantity":1,"subtotal":16.5,
          "subtotal_set":{"shop_money":{"amount":"16.50","currency_code":"GBP"}},
          "total_tax":0,"total_tax_set":{"shop_money":{"amount":"0.00","currency_code":"GBP"}},
          "line_item":{"name":"Active Bath & Shower Gel - 300ml","price":"22.00","sku":"100509",
            "tax_lines":[{"price":"0.00","rate":0.2,"title":"GB VAT"}]}}]}"#;

    fn parse(topic: &str, body: &[u8]) -> crate::platforms::CanonicalEvent {
        let headers = Headers::new([(super::super::TOPIC[0].to_owned(), topic.to_owned())]);
        match Shopify.parse(&headers, body).unwrap() {
            Parsed::Event(e) => *e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_live_refund_reads_as_its_line_its_shipping_and_the_money_given_back() {
        let event = parse("refunds/create", LIVE.as_bytes());
        assert_eq!(event.kinds, [crate::order::EventKind::OrderRefunded]);
        let order = &event.order;
        assert_eq!(order.id, "6127281406300");
        assert_eq!(order.currency, "GBP");
        assert!(order.is_refund_only(), "{order:?}");
        let r = order.refund.as_ref().unwrap();
        assert_eq!(r.id, "1001108635996");
        assert_eq!(r.lines.len(), 1);
        assert_eq!(r.lines[0].name, "Active Bath & Shower Gel - 300ml");
        assert_eq!(
            (r.lines[0].quantity, r.lines[0].total),
            (d("1"), d("16.50"))
        );
        assert_eq!(r.shipping, d("3.95"));
        assert_eq!(r.tax, d("0"));
        assert_eq!(r.amount, Some(d("20.45")));
        // The parts make the money: no line of difference.
        let part = order.refunded_part(crate::order::RefundWords {
            refund: "Refund",
            adjustment: "Adjustment",
        });
        assert_eq!(part.lines.len(), 1);
        assert_eq!(part.reconcile(), Ok(()));
    }

    #[test]
    fn tax_is_shared_by_rate_and_failed_or_foreign_transactions_are_not_money_given_back() {
        let body = br#"{"id":7,"order_id":1,
            "refund_shipping_lines":[{"subtotal_amount_set":{"shop_money":{"amount":"10.00"}},
                                      "tax_amount_set":{"shop_money":{"amount":"2.00"}}}],
            "order_adjustments":[{"amount":"-10.00","kind":"shipping_refund"}],
            "transactions":[
              {"amount":"99.00","currency":"EUR","kind":"refund","status":"failure"},
              {"amount":"5.00","currency":"USD","kind":"refund","status":"success"},
              {"amount":"1.00","currency":"EUR","kind":"sale","status":"success"}],
            "refund_line_items":[{"quantity":2,
              "subtotal_set":{"shop_money":{"amount":"100.00","currency_code":"EUR"}},
              "total_tax_set":{"shop_money":{"amount":"9.00"}},
              "line_item":{"title":"Canadian thing","tax_lines":[
                {"title":"GST","rate":0.05,"price":"5.00"},
                {"title":"PST","rate":0.04,"price":"4.00"}]}}]}"#;
        let r = parse("refunds/create", body).order.refund.unwrap();
        // Newer versions' shipping lines, not also the older adjustment.
        assert_eq!(r.shipping, d("10.00"));
        assert_eq!(r.lines[0].unit_price, d("50.00"));
        assert_eq!(r.tax, d("11.00"));
        let by_rate: Vec<_> = r
            .taxes
            .iter()
            .map(|t| (t.label.as_str(), t.rate, t.amount))
            .collect();
        assert_eq!(
            by_rate,
            [
                ("GST", Some(d("5")), d("5.00")),
                ("PST", Some(d("4")), d("4.00")),
                ("Tax", None, d("2.00")),
            ]
        );
        assert_eq!(
            r.amount, None,
            "no successful refund in the order's currency"
        );
    }

    #[test]
    fn an_order_update_is_about_its_newest_refund() {
        let refund = |id: u64, amount: &str| {
            format!(
                r#"{{"id":{id},"order_id":1,"transactions":[{{"amount":"{amount}","kind":"refund","status":"success"}}]}}"#
            )
        };
        let body = format!(
            r#"{{"id":1,"currency":"EUR","financial_status":"partially_refunded","total_price":"50.00",
               "refunds":[{},{}]}}"#,
            refund(11, "5.00"),
            refund(12, "7.00")
        );
        let event = parse("orders/updated", body.as_bytes());
        assert_eq!(event.kinds, [crate::order::EventKind::OrderRefunded]);
        let r = event.order.refund.unwrap();
        assert_eq!((r.id.as_str(), r.amount), ("12", Some(d("7.00"))));
        // Partially refunded without a refund listed: no refund to state, only what it was
        // before (paid).
        let bare = parse(
            "orders/updated",
            br#"{"id":1,"financial_status":"partially_refunded"}"#,
        );
        assert_eq!(bare.kinds, [crate::order::EventKind::OrderPaid]);
        assert_eq!(bare.order.refund, None);
    }

    #[test]
    fn refund_amounts_past_the_decimal_range_are_refused_not_a_panic() {
        let big = "79228162514264337593543950335";
        for body in [
            format!(
                r#"{{"id":1,"order_id":1,"refund_line_items":[{{"quantity":"0.0000001","subtotal":"{big}"}}]}}"#
            ),
            format!(
                r#"{{"id":1,"order_id":1,"refund_line_items":[{{"total_tax":"{big}","line_item":{{"tax_lines":[{{"price":"{big}"}},{{"price":"1"}}]}}}}]}}"#
            ),
            format!(
                r#"{{"id":1,"order_id":1,"transactions":[{{"amount":"{big}","kind":"refund","status":"success"}},{{"amount":"{big}","kind":"refund","status":"success"}}]}}"#
            ),
        ] {
            let headers =
                Headers::new([(super::super::TOPIC[0].to_owned(), "refunds/create".into())]);
            assert!(Shopify.parse(&headers, body.as_bytes()).is_err(), "{body}");
        }
    }
}
