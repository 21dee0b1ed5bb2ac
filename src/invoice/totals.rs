//! The tax side of an invoice: VAT per rate, the totals before and after tax, unit prices that
//! multiply out, the seller's identifiers and the mentions the seller's country wants printed,
//! and Tunisia's stamp duty.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::order::{LineItem, Order, minor_units};
use crate::stores::profile::legal::{CountryRules, SellerIds, TnSection};

/// One row of the VAT table: what is taxed at `rate` and the tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatRow {
    /// Percent; `None` when the platform named a tax without its rate.
    pub rate: Option<Decimal>,
    /// The amount before tax taxed at this rate; `None` when it cannot be known (a tax
    /// without a rate beside others).
    pub base: Option<Decimal>,
    pub tax: Decimal,
}

/// The total before tax: subtotal + shipping − discount, less the taxes where the prices
/// include them.
pub fn net_total(order: &Order) -> Decimal {
    let gross = order.subtotal + order.shipping_total - order.discount_total.abs();
    if order.prices_include_tax {
        gross - order.tax_total
    } else {
        gross
    }
}

/// The VAT table: the order's taxes summed per rate, each with the amount it taxes.
///
/// Platforms give the taxes per rate but not what each rate taxes. One rate taxes the whole
/// net total. With several, each base is the tax divided by its rate (rounded to the currency),
/// and a 0 % rate gets what the others leave of the net total.
pub fn vat_rows(order: &Order) -> Vec<VatRow> {
    let places = minor_units(&order.currency);
    let mut rows: Vec<VatRow> = Vec::new();
    for tax in &order.taxes {
        let rate = tax.rate.map(|r| r.normalize());
        match rows.iter_mut().find(|r| r.rate == rate && rate.is_some()) {
            Some(row) => row.tax += tax.amount,
            None => rows.push(VatRow {
                rate,
                base: None,
                tax: tax.amount,
            }),
        }
    }
    if rows.is_empty() && !order.tax_total.is_zero() {
        rows.push(VatRow {
            rate: None,
            base: None,
            tax: order.tax_total,
        });
    }
    let net = net_total(order);
    let round =
        |d: Decimal| d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    if let [only] = rows.as_mut_slice() {
        match only.rate {
            None if !net.is_zero() => {
                // The rate the amounts imply, to one decimal (19 %, 5.5 %).
                let implied = (only.tax * Decimal::ONE_HUNDRED / net)
                    .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
                only.rate = Some(implied.normalize());
                only.base = Some(net);
                return rows;
            }
            // The whole net total, when its tax at the rate is the tax charged.
            Some(rate) if round(net * rate / Decimal::ONE_HUNDRED) == round(only.tax) => {
                only.base = Some(net);
                return rows;
            }
            _ => {}
        }
    }
    for row in rows.iter_mut() {
        if let Some(rate) = row.rate.filter(|r| !r.is_zero()) {
            row.base = Some(round(row.tax * Decimal::ONE_HUNDRED / rate));
        }
    }
    // What no rate taxes (untaxed shipping, an exempt line) is the 0 % row's.
    let taxed: Decimal = rows.iter().filter_map(|r| r.base).sum();
    let untaxed = net - taxed;
    let all_known = !rows.is_empty() && rows.iter().all(|r| r.base.is_some());
    match rows
        .iter_mut()
        .find(|r| r.rate.is_some_and(|r| r.is_zero()))
    {
        Some(zero) => zero.base = Some(untaxed),
        None if untaxed > Decimal::ZERO && all_known => rows.push(VatRow {
            rate: Some(Decimal::ZERO),
            base: Some(untaxed),
            tax: Decimal::ZERO,
        }),
        None => {}
    }
    rows.sort_by_key(|r| r.rate);
    rows
}

/// The unit price to print for `line`: the platform's, with as many decimals as it takes for
/// quantity × price to make the line's total at the currency's precision (at least the
/// currency's decimals, at most 6). Where no such rounding of the platform's price does, the
/// line total divided by the quantity, with up to 6 decimals.
pub fn unit_price_shown(line: &LineItem, places: u32) -> Decimal {
    let round_to =
        |d: Decimal, dp: u32| d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let multiplies_out = |price: Decimal| {
        line.quantity
            .checked_mul(price)
            .is_some_and(|t| round_to(t, places) == round_to(line.total, places))
    };
    let with_scale = |d: Decimal, dp: u32| {
        let mut d = round_to(d, dp);
        d.rescale(dp.max(d.scale()));
        d
    };
    for dp in places..=6.max(places) {
        let shown = with_scale(line.unit_price, dp);
        if multiplies_out(shown) {
            return trim_to(shown, places);
        }
    }
    if !line.quantity.is_zero() {
        for dp in places..=6.max(places) {
            let shown = with_scale(line.total / line.quantity, dp);
            if multiplies_out(shown) {
                return trim_to(shown, places);
            }
        }
    }
    with_scale(line.unit_price, places)
}

/// `d` without trailing zeros past `places` decimals (`11.083300` → `11.0833`, `3.10` stays).
fn trim_to(d: Decimal, places: u32) -> Decimal {
    let mut n = d.normalize();
    if n.scale() < places {
        n.rescale(places);
    }
    n
}

/// Tunisia's stamp duty on an order: the amount, and whether the shop already charged it as
/// one of the order's lines (a fee named "timbre", "stamp" or "طابع").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub amount: Decimal,
    /// The index of the order's line that charged it, if one did.
    pub charged_line: Option<usize>,
}

/// The stamp an invoice under Tunisian rules carries; none when `tn.stamp_duty` is 0.
pub fn tn_stamp(order: &Order, tn: &TnSection) -> Option<Stamp> {
    let charged_line = order.lines.iter().position(|l| {
        let name = l.name.to_lowercase();
        ["timbre", "stamp", "طابع"].iter().any(|w| name.contains(w))
    });
    match charged_line {
        Some(i) => Some(Stamp {
            amount: order.lines[i].total,
            charged_line: Some(i),
        }),
        None if tn.stamp_duty.is_zero() => None,
        None => Some(Stamp {
            amount: tn.stamp_duty,
            charged_line: None,
        }),
    }
}

/// The words of the tax side of an invoice, in the invoice's language.
#[derive(Debug, Clone, Serialize)]
pub struct TaxWords {
    pub vat_table: &'static str,
    pub rate: &'static str,
    pub base: &'static str,
    pub vat: &'static str,
    pub total_excl_tax: &'static str,
    pub total_incl_tax: &'static str,
    pub stamp_duty: &'static str,
    pub amount_due: &'static str,
}

pub fn tax_words(lang: &str) -> TaxWords {
    match lang {
        "fr" => TaxWords {
            vat_table: "Détail de la TVA",
            rate: "Taux",
            base: "Base HT",
            vat: "TVA",
            total_excl_tax: "Total HT",
            total_incl_tax: "Total TTC",
            stamp_duty: "Droit de timbre",
            amount_due: "Net à payer",
        },
        "ar" => TaxWords {
            vat_table: "تفاصيل ضريبة القيمة المضافة",
            rate: "النسبة",
            base: "المبلغ الخاضع للضريبة",
            vat: "ضريبة القيمة المضافة",
            total_excl_tax: "المجموع دون احتساب الضريبة",
            total_incl_tax: "المجموع شامل الضريبة",
            stamp_duty: "الطابع الجبائي",
            amount_due: "الصافي للدفع",
        },
        "de" => TaxWords {
            vat_table: "Umsatzsteuer",
            rate: "Satz",
            base: "Netto",
            vat: "USt.",
            total_excl_tax: "Gesamt netto",
            total_incl_tax: "Gesamt brutto",
            stamp_duty: "Stempelsteuer",
            amount_due: "Zu zahlen",
        },
        "es" => TaxWords {
            vat_table: "Desglose del IVA",
            rate: "Tipo",
            base: "Base imponible",
            vat: "IVA",
            total_excl_tax: "Total sin IVA",
            total_incl_tax: "Total con IVA",
            stamp_duty: "Timbre fiscal",
            amount_due: "Total a pagar",
        },
        "it" => TaxWords {
            vat_table: "Riepilogo IVA",
            rate: "Aliquota",
            base: "Imponibile",
            vat: "IVA",
            total_excl_tax: "Totale imponibile",
            total_incl_tax: "Totale IVA inclusa",
            stamp_duty: "Imposta di bollo",
            amount_due: "Netto a pagare",
        },
        _ => TaxWords {
            vat_table: "VAT summary",
            rate: "Rate",
            base: "Taxable amount",
            vat: "VAT",
            total_excl_tax: "Total excl. tax",
            total_incl_tax: "Total incl. tax",
            stamp_duty: "Stamp duty",
            amount_due: "Amount due",
        },
    }
}

/// One of the seller's identifiers as printed: `SIRET 123 456 789 00012`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdLine {
    /// Empty where the value names itself (`RCS Paris 123 456 789`, `SAS au capital de …`).
    pub label: String,
    pub value: String,
    /// Label and value, as one line.
    pub text: String,
}

/// The seller's identifiers the profile gives, labelled as `rules`' country prints them
/// (`seller_tax_id` stands in for the VAT number or matricule where those are unset).
pub fn seller_id_lines(
    ids: &SellerIds,
    tax_id: &str,
    rules: CountryRules,
    lang: &str,
) -> Vec<IdLine> {
    let ar = lang == "ar";
    let mut out = Vec::new();
    let mut push = |label: &str, value: &str| {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let label = if value.starts_with(label) { "" } else { label };
        out.push(IdLine {
            label: label.to_owned(),
            value: value.to_owned(),
            text: if label.is_empty() {
                value.to_owned()
            } else {
                format!("{label} {value}")
            },
        });
    };
    let form = match (ids.legal_form.trim(), ids.capital.trim()) {
        ("", "") => String::new(),
        (form, "") => form.to_owned(),
        (form, capital) => match lang {
            "fr" => format!("{form} au capital de {capital}").trim().to_owned(),
            "ar" => format!("{form} برأس مال {capital}").trim().to_owned(),
            _ => format!("{form}, share capital {capital}").trim().to_owned(),
        },
    };
    let vat = if ids.vat.trim().is_empty() && matches!(rules, CountryRules::Fr | CountryRules::Sa) {
        tax_id
    } else {
        ids.vat.as_str()
    };
    let matricule = if ids.matricule_fiscal.trim().is_empty() && rules == CountryRules::Tn {
        tax_id
    } else {
        ids.matricule_fiscal.as_str()
    };
    push("", &form);
    push("SIREN", &ids.siren);
    push("SIRET", &ids.siret);
    push(
        if rules == CountryRules::Ma {
            "RC"
        } else {
            "RCS"
        },
        &ids.rcs,
    );
    push(
        match (rules, lang) {
            (_, "ar") => "الرقم الضريبي",
            (CountryRules::Fr, "fr") | (_, "fr") => "N° TVA",
            _ => "VAT No.",
        },
        vat,
    );
    push(
        if ar {
            "المعرف الجبائي"
        } else {
            "Matricule fiscal"
        },
        matricule,
    );
    push("ICE", &ids.ice);
    push("IF", &ids.if_number);
    push(
        if ar {
            "السجل التجاري"
        } else {
            "CR"
        },
        &ids.cr,
    );
    out
}

/// The mentions `rules`' country wants on every invoice, in the invoice's language where it
/// has them (France's in French, else in English). A VAT exemption ("TVA non applicable, art.
/// 293 B du CGI") depends on the seller's regime, so it is the profile's to add (`mentions`).
pub fn country_mentions(rules: CountryRules, lang: &str) -> Vec<String> {
    match (rules, lang) {
        (CountryRules::Fr, "fr") => vec![
            "Pénalités de retard : trois fois le taux d'intérêt légal. Indemnité forfaitaire pour \
             frais de recouvrement en cas de retard de paiement : 40 €. Pas d'escompte pour \
             paiement anticipé."
                .to_owned(),
        ],
        (CountryRules::Fr, _) => vec![
            "Late payment penalties: three times the French legal interest rate. Fixed recovery \
             fee for late payment: €40. No discount for early payment."
                .to_owned(),
        ],
        _ => Vec::new(),
    }
}

/// `rate` percent as `lang` writes it: `20 %`, `5,5 %` (fr, de, es), `20%` (en, ar), `5,5%` (it).
pub fn percent(rate: Decimal, lang: &str) -> String {
    let n = rate.normalize().to_string();
    match lang {
        "fr" | "de" | "es" => format!("{}\u{a0}%", n.replace('.', ",")),
        "it" => format!("{}%", n.replace('.', ",")),
        _ => format!("{n}%"),
    }
}

/// What a country's rules need of a store's profile and do not find: `shopbip check` prints
/// these (an invoice is still made).
pub fn missing_for_rules(rules: CountryRules, ids: &SellerIds, tax_id: &str) -> Vec<String> {
    use crate::stores::profile::legal::{sa_vat_number, tn_matricule};
    let mut out = Vec::new();
    let or_tax_id = |v: &str| {
        if v.trim().is_empty() {
            tax_id.trim().to_owned()
        } else {
            v.trim().to_owned()
        }
    };
    match rules {
        CountryRules::Fr => {
            if ids.siren.trim().is_empty() && ids.siret.trim().is_empty() {
                out.push("invoice.seller_ids.siren (or siret): French invoices print it".into());
            }
            if ids.legal_form.trim().is_empty() {
                out.push("invoice.seller_ids.legal_form: French invoices print it".into());
            }
            if or_tax_id(&ids.vat).is_empty() {
                out.push(
                    "invoice.seller_ids.vat: the VAT number (or a mention such as \"TVA non \
                     applicable, art. 293 B du CGI\" in invoice.mentions)"
                        .into(),
                );
            }
        }
        CountryRules::Tn => match tn_matricule(&or_tax_id(&ids.matricule_fiscal)) {
            Ok(_) => {}
            Err(_) if or_tax_id(&ids.matricule_fiscal).is_empty() => {
                out.push("invoice.seller_ids.matricule_fiscal: Tunisian invoices print it".into())
            }
            Err(e) => out.push(format!("invoice.seller_ids.matricule_fiscal: {e}")),
        },
        CountryRules::Sa => match sa_vat_number(&or_tax_id(&ids.vat)) {
            Ok(_) => {}
            Err(_) if or_tax_id(&ids.vat).is_empty() => out.push(
                "invoice.seller_ids.vat: a Saudi simplified tax invoice's QR code needs the \
                 seller's VAT number"
                    .into(),
            ),
            Err(e) => out.push(format!("invoice.seller_ids.vat: {e}")),
        },
        CountryRules::Ma => {
            if ids.ice.trim().is_empty() {
                out.push("invoice.seller_ids.ice: Moroccan invoices print the ICE".into());
            }
        }
        CountryRules::None => {}
    }
    out
}

/// The VAT rates Tunisia has (percent).
pub const TN_VAT_RATES: [u32; 4] = [0, 7, 13, 19];

/// The order's rates that are not Tunisian VAT rates, as printed (`20 %`).
pub fn non_tn_rates(rows: &[VatRow]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r.rate)
        .filter(|r| !TN_VAT_RATES.iter().any(|t| Decimal::from(*t) == *r))
        .map(|r| format!("{} %", r.normalize()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::TaxLine;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn line(q: &str, unit: &str, total: &str) -> LineItem {
        LineItem {
            name: "x".into(),
            quantity: d(q),
            unit_price: d(unit),
            total: d(total),
            ..LineItem::default()
        }
    }

    #[test]
    fn unit_prices_get_the_decimals_that_make_the_line_multiply_out() {
        // TND: 12 × 11.083333… = 133.000, where the currency's 3 decimals (11.083 × 12 =
        // 132.996) do not multiply out.
        let shown = unit_price_shown(&line("12", "11.0833333333", "133.000"), 3);
        assert_eq!(shown.to_string(), "11.0833");
        assert_eq!((d("12") * shown).round_dp(3), d("133.000"));
        // EUR: 11.08 × 12 = 132.96, 11.083 × 12 = 132.996 → 133.00.
        let shown = unit_price_shown(&line("12", "11.0833333333", "133.00"), 2);
        assert_eq!(shown.to_string(), "11.083");
        // The currency's decimals when they suffice, never fewer.
        assert_eq!(
            unit_price_shown(&line("2", "24.9", "49.80"), 2).to_string(),
            "24.90"
        );
        assert_eq!(
            unit_price_shown(&line("3", "1.5", "4.500"), 3).to_string(),
            "1.500"
        );
        // A platform price that cannot make the total (a line discount): total ÷ quantity.
        let shown = unit_price_shown(&line("3", "10.00", "27.00"), 2);
        assert_eq!(shown.to_string(), "9.00");
        // Nothing multiplies out (quantity 0): the platform's price as it is.
        assert_eq!(
            unit_price_shown(&line("0", "5", "1"), 2).to_string(),
            "5.00"
        );
    }

    fn order(taxes: &[(&str, Option<&str>, &str)], subtotal: &str) -> Order {
        Order {
            currency: "EUR".into(),
            subtotal: d(subtotal),
            taxes: taxes
                .iter()
                .map(|(label, rate, amount)| TaxLine {
                    label: (*label).into(),
                    rate: rate.map(d),
                    amount: d(amount),
                })
                .collect(),
            tax_total: taxes.iter().map(|t| d(t.2)).sum(),
            ..Order::default()
        }
    }

    #[test]
    fn one_rate_taxes_the_whole_net_total() {
        let mut o = order(&[("TVA", Some("20"), "11.94")], "59.80");
        o.shipping_total = d("4.90");
        o.discount_total = d("5.00");
        assert_eq!(
            vat_rows(&o),
            vec![VatRow {
                rate: Some(d("20")),
                base: Some(d("59.70")),
                tax: d("11.94")
            }]
        );
        // Prices with the tax in: the base is what is left without it.
        o.prices_include_tax = true;
        o.subtotal = d("71.74");
        assert_eq!(vat_rows(&o)[0].base, Some(d("59.70")));
        assert_eq!(vat_rows(&o).len(), 1);
    }

    #[test]
    fn several_rates_each_get_their_base_and_zero_rate_gets_the_rest() {
        let o = order(
            &[
                ("TVA 19%", Some("19"), "19.00"),
                ("TVA 7%", Some("7"), "1.40"),
                ("TVA 19% port", Some("19.0"), "0.95"),
                ("Exonéré", Some("0"), "0"),
            ],
            "135.00",
        );
        let rows = vat_rows(&o);
        assert_eq!(
            rows,
            vec![
                VatRow {
                    rate: Some(d("0")),
                    base: Some(d("10.00")),
                    tax: d("0")
                },
                VatRow {
                    rate: Some(d("7")),
                    base: Some(d("20.00")),
                    tax: d("1.40")
                },
                VatRow {
                    rate: Some(d("19")),
                    base: Some(d("105.00")),
                    tax: d("19.95")
                },
            ]
        );
        assert_eq!(non_tn_rates(&rows), Vec::<String>::new());
        let fr = order(
            &[("TVA", Some("20"), "2"), ("TVA", Some("5.5"), "1")],
            "28.18",
        );
        assert_eq!(non_tn_rates(&vat_rows(&fr)), vec!["5.5 %", "20 %"]);
    }

    #[test]
    fn what_one_rate_does_not_tax_is_a_zero_rate_row() {
        // A Tunisian order: 203.000 of goods at 19 % (38.570), shipping 7.000 untaxed, a
        // discount of 5.000: the tax is not 19 % of the 205.000 net.
        let mut o = order(&[("TVA", Some("19"), "38.570")], "203.000");
        o.currency = "TND".into();
        o.shipping_total = d("7.000");
        o.discount_total = d("5.000");
        assert_eq!(
            vat_rows(&o),
            vec![
                VatRow {
                    rate: Some(d("0")),
                    base: Some(d("2.000")),
                    tax: d("0")
                },
                VatRow {
                    rate: Some(d("19")),
                    base: Some(d("203.000")),
                    tax: d("38.570")
                },
            ]
        );
    }

    #[test]
    fn a_tax_without_a_rate_gets_the_rate_its_amounts_imply() {
        let o = order(&[("Tax", None, "19.00")], "100.00");
        assert_eq!(vat_rows(&o)[0].rate, Some(d("19")));
        let none = order(&[], "100.00");
        assert!(vat_rows(&none).is_empty());
    }

    #[test]
    fn the_tunisian_stamp_is_found_among_the_lines_or_added() {
        let tn = TnSection::default();
        let mut o = order(&[], "10.000");
        o.currency = "TND".into();
        assert_eq!(
            tn_stamp(&o, &tn),
            Some(Stamp {
                amount: d("1.000"),
                charged_line: None
            })
        );
        o.lines = vec![
            line("1", "10", "10.000"),
            LineItem {
                name: "Timbre fiscal".into(),
                total: d("1.000"),
                ..LineItem::default()
            },
        ];
        assert_eq!(tn_stamp(&o, &tn).unwrap().charged_line, Some(1));
        o.lines.pop();
        let off = TnSection {
            stamp_duty: Decimal::ZERO,
            ..TnSection::default()
        };
        assert_eq!(tn_stamp(&o, &off), None);
    }

    #[test]
    fn seller_ids_are_labelled_as_the_country_prints_them() {
        let ids = SellerIds {
            legal_form: "SAS".into(),
            capital: "10 000 €".into(),
            siret: "123 456 789 00012".into(),
            rcs: "RCS Paris 123 456 789".into(),
            ..SellerIds::default()
        };
        let lines = seller_id_lines(&ids, "FR12123456789", CountryRules::Fr, "fr");
        let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            text,
            vec![
                "SAS au capital de 10 000 €",
                "SIRET 123 456 789 00012",
                "RCS Paris 123 456 789",
                "N° TVA FR12123456789",
            ]
        );
        let tn = seller_id_lines(
            &SellerIds::default(),
            "1234567/A/B/M/000",
            CountryRules::Tn,
            "ar",
        );
        assert_eq!(tn[0].label, "المعرف الجبائي");
    }

    #[test]
    fn what_a_country_needs_is_named_by_its_key() {
        let none = SellerIds::default();
        let fr = missing_for_rules(CountryRules::Fr, &none, "");
        assert_eq!(fr.len(), 3, "{fr:?}");
        let tn = missing_for_rules(CountryRules::Tn, &none, "1234567/A/M/000");
        assert!(tn[0].contains("is not valid"), "{tn:?}");
        assert!(missing_for_rules(CountryRules::Tn, &none, "1234567/A/B/M/000").is_empty());
        let sa = missing_for_rules(CountryRules::Sa, &none, "");
        assert!(sa[0].contains("seller_ids.vat"), "{sa:?}");
        assert!(missing_for_rules(CountryRules::None, &none, "").is_empty());
    }
}
