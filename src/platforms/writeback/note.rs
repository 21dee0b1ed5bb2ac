//! The note's text and tag, in the store's language.

use super::one_line;
use crate::platforms::unix_rfc3339;
use crate::telemetry::redact_phones;

/// The tag for a message whose final delivery state is `delivery` (`delivered`, `read`,
/// `failed`; `None`: sent, delivery unknown): `whatsapp-delivered`, `whatsapp-sent`.
pub fn note_tag(delivery: Option<&str>) -> String {
    let state: String = delivery
        .unwrap_or("sent")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    format!(
        "whatsapp-{}",
        if state.is_empty() { "sent" } else { &state }
    )
}

/// The note text, in the store's language (`invoice.language`: en, fr, ar; anything else reads
/// as en): "WhatsApp invoice INV-000123 sent 14:02 UTC · delivered 14:03 UTC". Without an
/// invoice number it speaks of a message. `delivery` is the final delivery state's name
/// (`delivered`, `read`, `failed`, or another state's name as Buzzbip gave it; `None` when
/// unknown), its time in Unix milliseconds and, for `failed`, the reason (phones in it masked).
/// A delivery on another day than the send carries its date.
pub fn note_text(
    language: &str,
    invoice_number: Option<&str>,
    sent_at_ms: i64,
    delivery: Option<(&str, i64, Option<&str>)>,
) -> String {
    let lang = Lang::of(language);
    let sent = utc(sent_at_ms);
    let number = invoice_number
        .map(|n| one_line(n, 64))
        .filter(|n| !n.is_empty());
    let invoice = number.is_some();
    let n = number.unwrap_or_default();
    let mut text = match (lang, invoice) {
        (Lang::En, true) => format!("WhatsApp invoice {n} sent {}", lang.at(&sent, None)),
        (Lang::En, false) => format!("WhatsApp message sent {}", lang.at(&sent, None)),
        (Lang::Fr, true) => format!("Facture WhatsApp {n} envoyée {}", lang.at(&sent, None)),
        (Lang::Fr, false) => format!("Message WhatsApp envoyé {}", lang.at(&sent, None)),
        (Lang::Ar, true) => format!("أرسلت فاتورة واتساب {n} {}", lang.at(&sent, None)),
        (Lang::Ar, false) => format!("أرسلت رسالة واتساب {}", lang.at(&sent, None)),
    };
    let Some((state, at_ms, reason)) = delivery else {
        return text;
    };
    let at = lang.at(&utc(at_ms), Some(&sent.0));
    let state = one_line(state, 32).to_ascii_lowercase();
    // French agrees with the noun: une facture remise, un message remis.
    let fem = invoice;
    let part = match (lang, state.as_str()) {
        (Lang::En, "delivered" | "read" | "failed") => format!("{state} {at}"),
        (Lang::Fr, "delivered") => format!("{} {at}", if fem { "remise" } else { "remis" }),
        (Lang::Fr, "read") => format!("{} {at}", if fem { "lue" } else { "lu" }),
        (Lang::Fr, "failed") => format!("échec {at}"),
        (Lang::Ar, "delivered") => format!("سلمت {at}"),
        (Lang::Ar, "read") => format!("قرئت {at}"),
        (Lang::Ar, "failed") => format!("فشل التسليم {at}"),
        (_, other) => format!("{other} {at}"),
    };
    text.push_str(" · ");
    text.push_str(&part);
    if state == "failed"
        && let Some(reason) = reason.map(|r| redact_phones(&one_line(r, 300)))
        && !reason.is_empty()
    {
        text.push_str(if lang == Lang::Fr { " : " } else { ": " });
        text.push_str(&reason);
    }
    text
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Fr,
    Ar,
}

impl Lang {
    fn of(language: &str) -> Lang {
        match language.trim().to_ascii_lowercase().as_str() {
            "fr" => Lang::Fr,
            "ar" => Lang::Ar,
            _ => Lang::En,
        }
    }

    /// "14:02 UTC" / "à 14:02 UTC" / "الساعة 14:02 UTC", with the date when it is not
    /// `same_day`'s.
    fn at(self, (day, time): &(String, String), same_day: Option<&String>) -> String {
        let dated = same_day.is_some_and(|d| d != day);
        match (self, dated) {
            (Lang::En, false) => format!("{time} UTC"),
            (Lang::En, true) => format!("{day} {time} UTC"),
            (Lang::Fr, false) => format!("à {time} UTC"),
            (Lang::Fr, true) => format!("le {day} à {time} UTC"),
            (Lang::Ar, false) => format!("الساعة {time} UTC"),
            (Lang::Ar, true) => format!("يوم {day} الساعة {time} UTC"),
        }
    }
}

/// (`2026-12-03`, `14:02`) of Unix milliseconds.
pub(super) fn utc(ms: i64) -> (String, String) {
    let t = unix_rfc3339(ms.div_euclid(1000));
    match t.split_once('T') {
        Some((day, time)) => (day.to_owned(), time.get(..5).unwrap_or(time).to_owned()),
        None => (t, String::new()),
    }
}
