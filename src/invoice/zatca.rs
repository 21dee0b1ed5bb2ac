//! The ZATCA phase-1 QR code a Saudi simplified tax invoice carries: five TLV fields (seller
//! name, VAT registration number, time stamp, total with VAT, VAT total), base64-encoded, drawn
//! as a QR code the template shows as `/zatca-qr.svg`.
//!
//! TLV as ZATCA's e-invoicing rules give it: one byte of tag, one byte of length, then the value
//! in UTF-8; the length counts bytes, not characters, so an Arabic seller name of 10 letters
//! takes about 20. A value over 255 bytes cannot be written and is refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qrcode::{Color, EcLevel, QrCode};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::order::Order;
use crate::stores::Store;

/// Where the QR code's image sits in the template's world.
pub const QR_PATH: &str = "/zatca-qr.svg";
/// The document's titles as a Saudi simplified tax invoice carries them.
pub const TITLE_AR: &str = "فاتورة ضريبية مبسطة";
pub const TITLE_EN: &str = "Simplified Tax Invoice";

/// M (15 % of the code words recoverable) rather than Q or H: at a fixed printed size a higher
/// level means a larger symbol version and so smaller modules; a typical payload (~120 base64
/// characters) is version 7 at M, 45 modules, ~0.5 mm each at 28 mm with its quiet zone: well
/// above what phone cameras read from paper, with room for a smudge or a fold. A seller name
/// near the 255-byte limit makes version 15, ~0.33 mm modules, still read back from a page
/// rasterised at 288 dpi (tests/it/invoice/zatca.rs).
const EC_LEVEL: EcLevel = EcLevel::M;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZatcaError {
    #[error(
        "ZATCA QR code: the {field} is {bytes} bytes in UTF-8, and a TLV value holds at most 255"
    )]
    TooLong { field: &'static str, bytes: usize },
    #[error(
        "ZATCA QR code: invoice.{key} is not set, and a Saudi simplified tax invoice must carry it"
    )]
    Missing { key: &'static str },
    #[error("ZATCA QR code: the order has no date (paid or created) to stamp the invoice with")]
    NoTimestamp,
    #[error("ZATCA QR code: the order's date {0:?} is not an RFC 3339 time")]
    BadTimestamp(String),
    #[error("ZATCA QR code: {0}")]
    Qr(String),
}

/// The five fields, as written into the TLV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    pub seller_name: String,
    pub vat_number: String,
    /// UTC, ISO 8601: `2026-11-20T09:00:00Z`.
    pub timestamp: String,
    /// Two decimals, no grouping: `1150.00`.
    pub total: String,
    pub vat_total: String,
}

impl Fields {
    /// The fields of `order`'s invoice (or credit note) for `store`, stamped `issued_at`
    /// (RFC 3339) when given, else when the order was paid, else when it was created.
    pub fn of(store: &Store, order: &Order, issued_at: Option<&str>) -> Result<Self, ZatcaError> {
        let required = |value: &str, key| {
            let value = value.trim();
            if value.is_empty() {
                Err(ZatcaError::Missing { key })
            } else {
                Ok(value.to_owned())
            }
        };
        let when = issued_at
            .or(order.paid_at.as_deref())
            .or(order.created_at.as_deref())
            .ok_or(ZatcaError::NoTimestamp)?;
        Ok(Self {
            seller_name: required(&store.invoice.seller_name, "seller_name")?,
            vat_number: required(vat_number(store), "seller_ids.vat")?,
            timestamp: utc_timestamp(when)?,
            total: sar(order.total),
            vat_total: sar(order.tax_total),
        })
    }

    /// Tags 1 to 5, each `tag, length in bytes, UTF-8 value`.
    pub fn tlv(&self) -> Result<Vec<u8>, ZatcaError> {
        let fields = [
            (1u8, "seller name", &self.seller_name),
            (2, "VAT registration number", &self.vat_number),
            (3, "time stamp", &self.timestamp),
            (4, "invoice total", &self.total),
            (5, "VAT total", &self.vat_total),
        ];
        let mut out = Vec::with_capacity(fields.iter().map(|f| 2 + f.2.len()).sum());
        for (tag, field, value) in fields {
            let bytes = value.as_bytes();
            let len = u8::try_from(bytes.len()).map_err(|_| ZatcaError::TooLong {
                field,
                bytes: bytes.len(),
            })?;
            out.push(tag);
            out.push(len);
            out.extend_from_slice(bytes);
        }
        Ok(out)
    }

    /// What the QR code holds: the TLV in standard base64 (with padding).
    pub fn base64(&self) -> Result<String, ZatcaError> {
        Ok(STANDARD.encode(self.tlv()?))
    }
}

/// Modules of white around the code, as the QR standard asks for.
const QUIET_ZONE: usize = 4;

/// The QR code of `payload` as an SVG: one unit per module, the quiet zone included, black on
/// white. Vector, so it stays sharp at any print resolution; each row's runs of dark modules are
/// one rectangle, which keeps it to ~6 KB of the PDF (a rectangle per module, as the crate's
/// own SVG renderer draws it, took ~11 KB). The template gives its printed size.
pub fn qr_svg(payload: &str) -> Result<Vec<u8>, ZatcaError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EC_LEVEL)
        .map_err(|e| ZatcaError::Qr(e.to_string()))?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in code.to_colors().chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] != Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] == Color::Dark {
                x += 1;
            }
            let (left, top, run) = (start + QUIET_ZONE, y + QUIET_ZONE, x - start);
            path.push_str(&format!("M{left} {top}h{run}v1h-{run}z"));
        }
    }
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#ffffff"/><path fill="#000000" d="{path}"/></svg>"##
    );
    Ok(svg.into_bytes())
}

/// What the template reads under `zatca` in `/data.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ZatcaPrint {
    /// The QR code image's path in the template's world ([`QR_PATH`]).
    pub qr: String,
    pub title_ar: String,
    pub title_en: String,
}

/// The QR code at [`QR_PATH`] under the two titles.
impl Default for ZatcaPrint {
    fn default() -> Self {
        Self {
            qr: QR_PATH.to_owned(),
            title_ar: TITLE_AR.to_owned(),
            title_en: TITLE_EN.to_owned(),
        }
    }
}

/// The QR code of one document: what the template prints and the image it shows.
#[derive(Debug, Clone)]
pub struct ZatcaQr {
    pub print: ZatcaPrint,
    pub svg: Vec<u8>,
}

/// The QR code for `order`'s document when the store's country rules are Saudi Arabia's;
/// `None` otherwise. An error when they are but the code cannot be made (a setting missing, a
/// value too long): a simplified tax invoice without it is not one.
pub fn for_document(
    store: &Store,
    order: &Order,
    issued_at: Option<&str>,
) -> Result<Option<ZatcaQr>, ZatcaError> {
    if !zatca_applies(store) {
        return Ok(None);
    }
    let payload = Fields::of(store, order, issued_at)?.base64()?;
    Ok(Some(ZatcaQr {
        print: ZatcaPrint::default(),
        svg: qr_svg(&payload)?,
    }))
}

/// Whether the store's invoices follow Saudi Arabia's rules (`invoice.country_rules`, by
/// default the seller's country's).
pub fn zatca_applies(store: &Store) -> bool {
    super::country_rules(store) == crate::stores::profile::legal::CountryRules::Sa
}

/// The seller's VAT number: `invoice.seller_ids.vat`, else `invoice.seller_tax_id`.
fn vat_number(store: &Store) -> &str {
    let vat = store.invoice.seller_ids.vat.as_str();
    if vat.trim().is_empty() {
        &store.invoice.seller_tax_id
    } else {
        vat
    }
}

/// What `shopbip check` says of a store whose invoices carry the QR code: the settings it needs
/// that are missing or malformed. Empty when all is well or the rules do not apply.
pub fn problems(store: &Store) -> Vec<String> {
    if !zatca_applies(store) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let vat = vat_number(store).trim();
    if vat.is_empty() {
        out.push(
            "invoice.seller_ids.vat (or invoice.seller_tax_id) is not set: a Saudi simplified tax invoice's QR code needs the \
             seller's VAT number (15 digits, starting and ending with 3); invoices will fail until it is"
                .to_owned(),
        );
    } else if !valid_vat_number(vat) {
        out.push(format!(
            "invoice.seller_ids.vat (or invoice.seller_tax_id) {vat:?} is not a Saudi VAT number (15 digits, starting and \
             ending with 3)"
        ));
    }
    let name = store.invoice.seller_name.trim();
    if name.is_empty() {
        out.push(
            "invoice.seller_name is not set: a Saudi simplified tax invoice's QR code needs it"
                .to_owned(),
        );
    } else if name.len() > 255 {
        out.push(format!(
            "invoice.seller_name is {} bytes in UTF-8: the ZATCA QR code holds at most 255",
            name.len()
        ));
    }
    out
}

/// `store` with stand-ins for what its QR code lacks (a seller name or VAT number, missing or
/// over 255 bytes): `check` compiles the store's template with it while warning of the setting.
pub fn with_stand_ins(store: &Store) -> Store {
    let mut store = store.clone();
    let unusable = |s: &str| s.trim().is_empty() || s.trim().len() > 255;
    if unusable(&store.invoice.seller_name) {
        store.invoice.seller_name = "Seller".to_owned();
    }
    if unusable(vat_number(&store)) {
        store.invoice.seller_ids.vat = "300000000000003".to_owned();
    }
    store
}

/// A Saudi VAT registration number: 15 digits, the first and the last a 3.
pub fn valid_vat_number(vat: &str) -> bool {
    vat.len() == 15
        && vat.bytes().all(|b| b.is_ascii_digit())
        && vat.starts_with('3')
        && vat.ends_with('3')
}

/// An amount as the QR code writes it: two decimals (SAR's halalas), no grouping, rounded half
/// away from zero as the invoice prints it.
fn sar(amount: Decimal) -> String {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded.to_string()
}

/// An RFC 3339 time (`2026-11-20T12:00:00.5+03:00`, or without a zone, taken as UTC) in UTC to
/// the second: `2026-11-20T09:00:00Z`. Platforms give either form; ZATCA readers expect one.
fn utc_timestamp(rfc3339: &str) -> Result<String, ZatcaError> {
    let bad = || ZatcaError::BadTimestamp(rfc3339.to_owned());
    let s = rfc3339.trim();
    let num = |range: std::ops::Range<usize>| -> Result<i64, ZatcaError> {
        let part = s.get(range).ok_or_else(bad)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let sep = |i: usize, allowed: &[u8]| {
        s.as_bytes()
            .get(i)
            .filter(|b| allowed.contains(b))
            .map(drop)
            .ok_or_else(bad)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    sep(4, b"-")?;
    sep(7, b"-")?;
    sep(10, b"Tt ")?;
    sep(13, b":")?;
    sep(16, b":")?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return Err(bad());
    }
    // A leap second is stamped as the second before it.
    let second = second.min(59);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad()),
            };
            let zone = &rest[1..];
            let (h, m) = zone.split_once(':').ok_or_else(bad)?;
            if h.len() != 2 || m.len() != 2 {
                return Err(bad());
            }
            let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Ok(crate::platforms::unix_rfc3339(local - offset_secs))
}

/// Howard Hinnant's civil-to-days algorithm: days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(seller: &str) -> Fields {
        Fields {
            seller_name: seller.into(),
            vat_number: "310122393500003".into(),
            timestamp: "2026-11-20T09:00:00Z".into(),
            total: "1150.00".into(),
            vat_total: "150.00".into(),
        }
    }

    #[test]
    fn tlv_bytes_match_a_vector_built_by_hand() {
        // "Bobs Records": 12 ASCII bytes.
        let mut want = vec![1u8, 12];
        want.extend_from_slice(b"Bobs Records");
        want.extend_from_slice(&[2, 15]);
        want.extend_from_slice(b"310122393500003");
        want.extend_from_slice(&[3, 20]);
        want.extend_from_slice(b"2026-11-20T09:00:00Z");
        want.extend_from_slice(&[4, 7]);
        want.extend_from_slice(b"1150.00");
        want.extend_from_slice(&[5, 6]);
        want.extend_from_slice(b"150.00");
        assert_eq!(fields("Bobs Records").tlv().unwrap(), want);
    }

    #[test]
    fn an_arabic_seller_name_is_counted_in_utf8_bytes() {
        // شركة أكمي: 8 letters and a space, each Arabic letter two bytes in UTF-8.
        let name = "شركة أكمي";
        assert_eq!(name.chars().count(), 9);
        let tlv = fields(name).tlv().unwrap();
        assert_eq!(&tlv[..2], &[1, 17]);
        assert_eq!(
            &tlv[2..19],
            &[
                0xd8, 0xb4, 0xd8, 0xb1, 0xd9, 0x83, 0xd8, 0xa9, 0x20, 0xd8, 0xa3, 0xd9, 0x83, 0xd9,
                0x85, 0xd9, 0x8a
            ]
        );
        assert_eq!(&tlv[19..21], &[2, 15]);
        assert_eq!(tlv.len(), 2 + 17 + 2 + 15 + 2 + 20 + 2 + 7 + 2 + 6);
    }

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        let f = fields("Bobs Records");
        // Worked out independently of the encoder (Python's base64 over the 70 bytes above):
        // 70 bytes leave one over a multiple of 3, so two '=' of padding.
        assert_eq!(
            f.base64().unwrap(),
            "AQxCb2JzIFJlY29yZHMCDzMxMDEyMjM5MzUwMDAwMwMUMjAyNi0xMS0yMFQwOTowMDowMFoEBzExNTAuMDAF\
             BjE1MC4wMA=="
        );
        let b64 = f.base64().unwrap();
        assert_eq!(STANDARD.decode(&b64).unwrap(), f.tlv().unwrap());
    }

    #[test]
    fn a_value_over_255_bytes_is_refused_and_255_is_not() {
        let at_limit = "ب".repeat(127) + "x"; // 255 bytes
        assert_eq!(at_limit.len(), 255);
        let tlv = fields(&at_limit).tlv().unwrap();
        assert_eq!(&tlv[..2], &[1, 255]);

        let over = "ب".repeat(128); // 256 bytes, 128 characters
        assert_eq!(
            fields(&over).tlv().unwrap_err(),
            ZatcaError::TooLong {
                field: "seller name",
                bytes: 256
            }
        );
        assert!(fields(&over).base64().is_err());
    }

    #[test]
    fn amounts_have_two_decimals_and_times_are_utc() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(sar(d("1150")), "1150.00");
        assert_eq!(sar(d("99.995")), "100.00");
        assert_eq!(sar(d("12.3")), "12.30");
        assert_eq!(sar(d("0")), "0.00");

        for (given, want) in [
            ("2026-11-20T09:00:00Z", "2026-11-20T09:00:00Z"),
            ("2026-11-20T12:00:00+03:00", "2026-11-20T09:00:00Z"),
            ("2026-11-20T12:00:00.250+03:00", "2026-11-20T09:00:00Z"),
            ("2026-01-01T01:30:00+03:00", "2025-12-31T22:30:00Z"),
            ("2026-11-20T09:00:00", "2026-11-20T09:00:00Z"),
            ("2024-02-29 23:00:00-02:00", "2024-03-01T01:00:00Z"),
        ] {
            assert_eq!(utc_timestamp(given).unwrap(), want, "{given}");
        }
        for bad in [
            "",
            "2026-11-20",
            "20/11/2026 09:00",
            "2026-11-20T09:00:00+3",
            "2026-13-01T00:00:00Z",
        ] {
            assert!(utc_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn vat_numbers_are_15_digits_from_3_to_3() {
        assert!(valid_vat_number("310122393500003"));
        for bad in [
            "",
            "31012239350000",
            "210122393500003",
            "310122393500002",
            "3101223935000O3",
        ] {
            assert!(!valid_vat_number(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_qr_svg_is_a_square_with_a_quiet_zone() {
        let svg =
            String::from_utf8(qr_svg(&fields("Bobs Records").base64().unwrap()).unwrap()).unwrap();
        // 96 bytes at level M need version 6 (41 modules), plus 4 modules of quiet zone a side.
        assert!(svg.contains(r#"viewBox="0 0 49 49""#), "{svg}");
        // The top-left finder pattern's first row: one run of 7 dark modules after the quiet zone.
        assert!(svg.contains("M4 4h7v1h-7z"), "{svg}");
    }
}
