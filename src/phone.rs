//! Phone numbers as Buzzbip wants them: `to` (country calling code and national number, digits
//! only) and `country_code` (ISO alpha-2), always derived from a parsed number, never by string
//! slicing. A thin wrapper so the libphonenumber port underneath can be swapped.

use std::fmt;

use rlibphonenumber::enums::Region;
use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat};

use crate::order::Order;
use crate::telemetry::mask_phone;

/// Whether `code` (ISO 3166-1 alpha-2, upper case) is a region the phone library can read
/// numbers of.
pub fn is_known_region(code: &str) -> bool {
    code.len() == 2
        && code.chars().all(|c| c.is_ascii_uppercase())
        && Region::from_code(code).is_ok()
        && PHONE_NUMBER_UTIL
            .get_supported_regions()
            .any(|r| r.as_region_str().to_string() == code)
}

/// A valid, normalised WhatsApp recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone {
    to: String,
    country_code: String,
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({}, {})", mask_phone(&self.to), self.country_code)
    }
}

impl Phone {
    /// Parses `raw` with `region` (ISO alpha-2) for numbers written without a country code.
    pub fn parse(raw: &str, region: &str) -> Result<Self, String> {
        let region_code = region.trim().to_ascii_uppercase();
        let region = Region::from_code(&region_code)
            .map_err(|_| format!("{region_code:?} is not a known region"))?;
        let number = PHONE_NUMBER_UTIL
            .parse(raw.trim(), Some(region))
            .map_err(|e| format!("{} does not parse as a phone number ({e})", mask_phone(raw)))?;
        if !number.is_valid() {
            return Err(format!("{} is not a valid phone number", mask_phone(raw)));
        }
        let e164 = number.format_as(PhoneNumberFormat::E164).to_string();
        let country_code = number
            .get_region_code()
            .map(|r| r.as_region_str().to_string())
            .unwrap_or(region_code);
        Ok(Self {
            to: e164.trim_start_matches('+').to_owned(),
            country_code,
        })
    }

    /// Digits with the country calling code, no `+` (`21696816277`).
    pub fn to(&self) -> &str {
        &self.to
    }

    /// `+` and the digits (`+21696816277`): how the opt-out list keeps a number.
    pub fn e164(&self) -> String {
        format!("+{}", self.to)
    }

    /// ISO 3166-1 alpha-2 of the number (`TN`).
    pub fn country_code(&self) -> &str {
        &self.country_code
    }

    pub fn masked(&self) -> String {
        mask_phone(&format!("+{}", self.to))
    }
}

/// The order's recipient: billing phone, else shipping, else the customer's; each read with its
/// address's country, else the store's default region. The error says why none was usable.
pub fn recipient(order: &Order, default_region: &str) -> Result<Phone, String> {
    let billing_region = order.billing.as_ref().and_then(|a| a.country.clone());
    let shipping_region = order.shipping.as_ref().and_then(|a| a.country.clone());
    let candidates = [
        (
            "billing",
            order.billing.as_ref().and_then(|a| a.phone.clone()),
            billing_region.clone(),
        ),
        (
            "shipping",
            order.shipping.as_ref().and_then(|a| a.phone.clone()),
            shipping_region.clone(),
        ),
        (
            "customer",
            order.customer.phone.clone(),
            billing_region.or(shipping_region),
        ),
    ];
    let mut problems = Vec::new();
    for (source, phone, region) in candidates {
        let Some(raw) = phone.filter(|p| !p.trim().is_empty()) else {
            continue;
        };
        let region = region.unwrap_or_else(|| default_region.to_owned());
        match Phone::parse(&raw, &region) {
            Ok(p) => return Ok(p),
            Err(e) => problems.push(format!("{source} phone: {e}")),
        }
    }
    if problems.is_empty() {
        Err("the order has no phone number (billing, shipping or customer)".into())
    } else {
        Err(format!("no usable phone number: {}", problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn regions_are_the_phone_library_s_own() {
        for known in ["TN", "FR", "US", "SA", "BR"] {
            assert!(is_known_region(known), "{known}");
        }
        for unknown in ["XX", "ZZ", "tn", "TUN", ""] {
            assert!(!is_known_region(unknown), "{unknown}");
        }
    }

    use super::*;
    use crate::order::{Address, Customer};

    #[test]
    fn national_and_international_numbers_normalise() {
        for (raw, region, to, cc) in [
            ("96 816 277", "TN", "21696816277", "TN"),
            ("+216 96 816 277", "FR", "21696816277", "TN"),
            ("0612-345678", "MA", "212612345678", "MA"),
            ("+33 6 12 34 56 78", "TN", "33612345678", "FR"),
            ("(520) 878-2491", "US", "15208782491", "US"),
            ("8 (800) 555-35-35", "RU", "78005553535", "RU"),
            ("050 123 4567", "AE", "971501234567", "AE"),
        ] {
            let p = Phone::parse(raw, region).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!((p.to(), p.country_code()), (to, cc), "{raw}");
        }
    }

    #[test]
    fn invalid_numbers_are_refused_without_showing_them() {
        for raw in ["123", "555-555-SHIP", "+97233142764978", "not a phone"] {
            let err = Phone::parse(raw, "TN").unwrap_err();
            assert!(!err.contains("97233142764978"), "{err}");
        }
    }

    #[test]
    fn recipient_prefers_billing_then_shipping_then_customer() {
        let mut order = Order {
            billing: Some(Address {
                phone: Some("bad".into()),
                country: Some("TN".into()),
                ..Address::default()
            }),
            shipping: Some(Address {
                phone: Some("0612-345678".into()),
                country: Some("MA".into()),
                ..Address::default()
            }),
            customer: Customer {
                phone: Some("+15208782491".into()),
                ..Customer::default()
            },
            ..Order::default()
        };
        assert_eq!(recipient(&order, "TN").unwrap().to(), "212612345678");
        order.shipping = None;
        assert_eq!(recipient(&order, "TN").unwrap().to(), "15208782491");
        order.customer.phone = None;
        let err = recipient(&order, "TN").unwrap_err();
        assert!(err.contains("billing phone"), "{err}");
        order.billing = None;
        assert!(
            recipient(&order, "TN")
                .unwrap_err()
                .contains("no phone number")
        );
    }
}
