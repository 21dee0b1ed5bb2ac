//! `{order.number}`-style placeholders in `body_params`, `buttons[].value`, `filename` and
//! `fetch_url`. Unknown names are refused when profiles load, never rendered as empty text.

use crate::order::{Order, format_money};

/// Every placeholder a profile may use.
pub const KNOWN: &[&str] = &[
    "order.id",
    "order.number",
    "order.name",
    "order.key",
    "order.status",
    "order.total",
    "order.subtotal",
    "order.currency",
    "order.date",
    "customer.first_name",
    "customer.last_name",
    "customer.full_name",
    "customer.email",
    "invoice.number",
    "refund.amount",
    "store.id",
];

/// What placeholders are filled from.
pub struct Context<'a> {
    pub store_id: &'a str,
    pub order: &'a Order,
    /// The invoice number, once allocated; the platform's own one otherwise.
    pub invoice_number: Option<&'a str>,
}

/// The names used in `text`, or why it cannot be used (unknown name, unclosed brace).
pub fn validate(text: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in {text:?}"))?;
        let name = after[..close].trim();
        if !KNOWN.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} in {text:?}; known: {}",
                KNOWN.join(", ")
            ));
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// Placeholders whose value is an amount or its currency: a message using one is not sent
/// for an order whose payload gave no total or no currency.
pub const AMOUNTS: &[&str] = &[
    "order.total",
    "order.subtotal",
    "order.currency",
    "refund.amount",
];

/// Whether `text` (already validated) uses an amount.
pub fn uses_amounts(text: &str) -> bool {
    validate(text).is_ok_and(|names| names.iter().any(|n| AMOUNTS.contains(n)))
}

/// Fills `text`; `encode` is applied to each value (identity for messages, percent-encoding for
/// URLs). Call only on text that passed `validate`.
pub fn render(text: &str, ctx: &Context<'_>, encode: fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        out.push_str(&encode(&value(after[..close].trim(), ctx)));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

pub fn plain(s: &str) -> String {
    s.to_owned()
}

/// A value for a file name (the uploaded invoice's, sent in a multipart header): no NUL or
/// other control character, no path separator, no quote, whatever the order's fields hold.
pub fn file_name_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn value(name: &str, ctx: &Context<'_>) -> String {
    let o = ctx.order;
    match name {
        "order.id" => o.id.clone(),
        "order.number" => o.number.clone(),
        "order.name" => o.display_name().to_owned(),
        "order.key" => o.key.clone().unwrap_or_default(),
        "order.status" => o.status.clone().unwrap_or_default(),
        "order.total" => format_money(o.total, &o.currency),
        "order.subtotal" => format_money(o.subtotal, &o.currency),
        "order.currency" => o.currency.clone(),
        "order.date" => o
            .created_at
            .as_deref()
            .map(|d| d.chars().take(10).collect())
            .unwrap_or_default(),
        "customer.first_name" => o.customer.first_name.clone(),
        "customer.last_name" => o.customer.last_name.clone(),
        "customer.full_name" => o.customer.full_name(),
        "customer.email" => o.customer.email.clone().unwrap_or_default(),
        "invoice.number" => ctx
            .invoice_number
            .map(str::to_owned)
            .or_else(|| o.invoice_number.clone())
            .unwrap_or_else(|| o.number.clone()),
        // What a refund gave back; the order's total for a refund of the whole order.
        "refund.amount" => format_money(
            o.refund
                .as_ref()
                .map_or(o.total, |r| r.total(o.prices_include_tax)),
            &o.currency,
        ),
        "store.id" => ctx.store_id.to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_unclosed_placeholders_are_refused() {
        assert_eq!(
            validate("Invoice-{order.number}.pdf").unwrap(),
            ["order.number"]
        );
        assert!(
            validate("{order.numbr}")
                .unwrap_err()
                .contains("order.numbr")
        );
        assert!(
            validate("x {order.number")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(validate("no placeholders").unwrap().is_empty());
    }

    #[test]
    fn render_fills_order_fields() {
        let order = Order {
            id: "42".into(),
            number: "1001".into(),
            currency: "TND".into(),
            total: "1234.5".parse().unwrap(),
            customer: crate::order::Customer {
                first_name: "Amira".into(),
                last_name: "Ben Salah".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let ctx = Context {
            store_id: "acme",
            order: &order,
            invoice_number: None,
        };
        assert_eq!(
            render(
                "{customer.full_name} #{order.number}: {order.total}",
                &ctx,
                plain
            ),
            "Amira Ben Salah #1001: TND 1,234.500"
        );
        assert_eq!(render("{invoice.number}", &ctx, plain), "1001");
        // No name of its own: the number.
        assert_eq!(render("{order.name}", &ctx, plain), "1001");
        let named = Order {
            name: "#SB-1001".into(),
            ..order.clone()
        };
        let ctx = Context {
            order: &named,
            ..ctx
        };
        assert_eq!(
            render("{order.name} / {order.number}", &ctx, plain),
            "#SB-1001 / 1001"
        );
    }

    #[test]
    fn file_names_carry_no_control_character_or_separator() {
        let order = Order {
            number: "12\0/../x\r\nSet-Cookie: a\"b".into(),
            ..Default::default()
        };
        let ctx = Context {
            store_id: "acme",
            order: &order,
            invoice_number: None,
        };
        let name = render("Invoice-{order.number}.pdf", &ctx, file_name_part);
        assert_eq!(name, "Invoice-12__.._x__Set-Cookie_ a_b.pdf");
        assert!(!name.chars().any(char::is_control));
    }

    #[test]
    fn amounts_are_known_by_name() {
        assert!(uses_amounts("Total: {order.total}"));
        assert!(uses_amounts("{order.currency}"));
        assert!(!uses_amounts("{order.name} for {customer.first_name}"));
    }
}
