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
