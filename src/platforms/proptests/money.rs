//! Money formatting.

use super::config;
use super::json::number_text;
use proptest::prelude::*;
use proptest::sample::select;
use rust_decimal::Decimal;

fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale)),
        select(
            &[
                Decimal::MAX,
                Decimal::MIN,
                Decimal::ZERO,
                Decimal::ONE,
                Decimal::NEGATIVE_ONE
            ][..]
        ),
        number_text().prop_filter_map("a decimal", |t| t.parse().ok()),
    ]
}

fn currency() -> impl Strategy<Value = String> {
    prop_oneof![
        select(&["TND", "KWD", "BHD", "JPY", "EUR", "usd", "CLF", "", "XXX"][..])
            .prop_map(str::to_owned),
        "[A-Za-z]{0,4}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Money formatting is total: any `Decimal`, any currency text.
    #[test]
    fn format_money_is_total(amount in decimal(), currency in currency()) {
        let text = crate::order::format_money(amount, &currency);
        prop_assert!(text.starts_with(&currency.to_ascii_uppercase()), "{text}");
    }
}
