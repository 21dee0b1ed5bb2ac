//! What makes an invoice legal where the seller trades: the seller's registration numbers,
//! the country whose rules the invoice follows, and the lines the law (or the merchant) wants
//! printed on it.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `[invoice.seller_ids]`: the seller's identifiers as their country's invoices print them.
/// Each is optional; `shopbip check` says which the store's country rules need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SellerIds {
    /// Legal form (`SAS`, `SARL`, `SUARL`).
    #[serde(default)]
    pub legal_form: String,
    /// Share capital as printed (`10 000 €`).
    #[serde(default)]
    pub capital: String,
    /// FR: SIREN (9 digits).
    #[serde(default)]
    pub siren: String,
    /// FR: SIRET (14 digits).
    #[serde(default)]
    pub siret: String,
    /// FR: the trade register entry (`RCS Paris 123 456 789`); MA: registre de commerce.
    #[serde(default)]
    pub rcs: String,
    /// The VAT number (FR `FR12123456789`, SA 15 digits). Where unset, `seller_tax_id` is used.
    #[serde(default)]
    pub vat: String,
    /// TN: matricule fiscal (`1234567/A/B/M/000`). Where unset, `seller_tax_id` is used.
    #[serde(default)]
    pub matricule_fiscal: String,
    /// MA: Identifiant Commun de l'Entreprise (15 digits).
    #[serde(default)]
    pub ice: String,
    /// MA: identifiant fiscal.
    #[serde(default, rename = "if")]
    pub if_number: String,
    /// SA: commercial registration number.
    #[serde(default)]
    pub cr: String,
}

/// `invoice.country_rules`: whose invoice rules apply. Unset: the store's `default_country`
/// when it is one of these, otherwise none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum CountryRules {
    #[serde(rename = "FR")]
    Fr,
    #[serde(rename = "TN")]
    Tn,
    #[serde(rename = "SA")]
    Sa,
    #[serde(rename = "MA")]
    Ma,
    /// No country's rules: the invoice prints what the profile gives and nothing more.
    #[serde(rename = "none")]
    None,
}

impl CountryRules {
    /// The rules a seller in `country` (ISO alpha-2) follows by default.
    pub fn for_country(country: &str) -> CountryRules {
        match country.trim().to_ascii_uppercase().as_str() {
            "FR" => CountryRules::Fr,
            "TN" => CountryRules::Tn,
            "SA" => CountryRules::Sa,
            "MA" => CountryRules::Ma,
            _ => CountryRules::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CountryRules::Fr => "FR",
            CountryRules::Tn => "TN",
            CountryRules::Sa => "SA",
            CountryRules::Ma => "MA",
            CountryRules::None => "none",
        }
    }
}

/// `[invoice.tn]`: Tunisia's stamp duty.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TnSection {
    /// The timbre fiscal each invoice carries, in TND (1.000 since 2024's finance law).
    #[serde(default = "default_stamp_duty")]
    pub stamp_duty: Decimal,
    /// Print the invoice's words in French and Arabic side by side.
    #[serde(default)]
    pub bilingual: bool,
}

impl Default for TnSection {
    fn default() -> Self {
        Self {
            stamp_duty: default_stamp_duty(),
            bilingual: false,
        }
    }
}

fn default_stamp_duty() -> Decimal {
    Decimal::new(1000, 3)
}

/// Checks a Tunisian matricule fiscal: seven digits, the control letter, the VAT code, the
/// category code and the three-digit establishment number, `/`-separated
/// (`1234567/A/B/M/000`; `1234567A/B/M/000` is read the same). Returns it in the first form.
pub fn tn_matricule(text: &str) -> Result<String, String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let parts: Vec<&str> = compact.split('/').collect();
    let (digits, key, rest) = match parts.as_slice() {
        [d, k, v, c, e] => (*d, *k, [*v, *c, *e]),
        [dk, v, c, e] if dk.len() == 8 => (&dk[..7], &dk[7..], [*v, *c, *e]),
        _ => {
            return Err(matricule_error(
                text,
                "it has not the form 1234567/A/B/M/000",
            ));
        }
    };
    let [vat_code, category, establishment] = rest;
    if digits.len() != 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(matricule_error(text, "it must start with 7 digits"));
    }
    // The control key is a letter other than I, O and U (they read as digits or each other).
    if key.len() != 1 || !key.bytes().all(|b| b.is_ascii_uppercase()) || "IOU".contains(key) {
        return Err(matricule_error(
            text,
            "the control key must be a letter other than I, O, U",
        ));
    }
    if !matches!(vat_code, "A" | "B" | "D" | "N" | "P") {
        return Err(matricule_error(
            text,
            "the VAT code must be A, B, D, N or P",
        ));
    }
    if !matches!(category, "M" | "P" | "C" | "N" | "E") {
        return Err(matricule_error(
            text,
            "the category must be M, P, C, N or E",
        ));
    }
    if establishment.len() != 3 || !establishment.bytes().all(|b| b.is_ascii_digit()) {
        return Err(matricule_error(
            text,
            "the establishment number must be 3 digits (000 for the main one)",
        ));
    }
    Ok(format!(
        "{digits}/{key}/{vat_code}/{category}/{establishment}"
    ))
}

fn matricule_error(text: &str, why: &str) -> String {
    format!("matricule fiscal {text:?} is not valid: {why}")
}

/// A Saudi VAT registration number: 15 digits, starting and ending with 3.
pub fn sa_vat_number(text: &str) -> Result<&str, String> {
    let t = text.trim();
    if t.len() == 15
        && t.bytes().all(|b| b.is_ascii_digit())
        && t.starts_with('3')
        && t.ends_with('3')
    {
        Ok(t)
    } else {
        Err(format!(
            "{t:?} is not a Saudi VAT number (15 digits, starting and ending with 3)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matricules_are_read_in_both_written_forms_and_refused_with_a_reason() {
        assert_eq!(
            tn_matricule("1234567/A/B/M/000").unwrap(),
            "1234567/A/B/M/000"
        );
        assert_eq!(
            tn_matricule("1234567a/b/m/000").unwrap(),
            "1234567/A/B/M/000"
        );
        assert_eq!(
            tn_matricule(" 0001234 / Z / P / C / 001 ").unwrap(),
            "0001234/Z/P/C/001"
        );
        for (bad, why) in [
            ("1234567/A/M/000", "form"),
            ("123456/A/B/M/000", "7 digits"),
            ("1234567/I/B/M/000", "control key"),
            ("1234567/A/X/M/000", "VAT code"),
            ("1234567/A/B/Z/000", "category"),
            ("1234567/A/B/M/0A0", "establishment"),
            ("", "form"),
        ] {
            let err = tn_matricule(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn saudi_vat_numbers_are_fifteen_digits_between_threes() {
        assert!(sa_vat_number("310122393500003").is_ok());
        assert!(sa_vat_number("210122393500003").is_err());
        assert!(sa_vat_number("31012239350000").is_err());
        assert!(sa_vat_number("31012239350000A").is_err());
    }

    #[test]
    fn country_rules_default_from_the_country() {
        assert_eq!(CountryRules::for_country("tn"), CountryRules::Tn);
        assert_eq!(CountryRules::for_country("DE"), CountryRules::None);
    }
}
