//! Factur-X: the invoice (or credit note) as UN/CEFACT CII XML in the EN 16931 profile, attached
//! as `factur-x.xml` to the PDF, which becomes a PDF/A-3b declaring it in its XMP metadata.
//!
//! The XML is built from the canonical order alone. EN 16931 wants every line's VAT rate and the
//! order carries its taxes per rate, not per line: an order with one VAT rate is described exactly
//! (its lines, shipping and discount all at that rate); one with several rates, or none, cannot
//! be, and gets no XML ([`Unsupported`]) rather than a made-up split.

use std::fmt::Write as _;

use rust_decimal::{Decimal, RoundingStrategy};

use super::CreditNoteOf;
use super::render::{Formats, RenderError, Rendered};
use crate::order::{Address, Order};
use crate::stores::Store;
use crate::stores::profile::legal::CountryRules;

/// The attachment's name, fixed by the Factur-X specification.
pub const FILE_NAME: &str = "factur-x.xml";
/// `fx:ConformanceLevel` of the profile the XML follows.
pub const CONFORMANCE_LEVEL: &str = "EN 16931";
/// The profile's guideline id (BT-24).
const GUIDELINE_ID: &str = "urn:cen.eu:en16931:2017";
const FX_NAMESPACE: &str = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";

/// Why a document gets no Factur-X XML (it is then rendered as a plain PDF).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Factur-X XML: {0}")]
pub struct Unsupported(pub String);

/// The seller, from the store profile.
#[derive(Debug, Clone, Copy)]
pub struct Seller<'a> {
    pub name: &'a str,
    /// Lines separated by commas or new lines; a last line `75001 Paris` is read as postcode
    /// and city.
    pub address: &'a str,
    /// A VAT number (`FR…`, two letters first) or another tax registration.
    pub tax_id: &'a str,
    /// The SIREN (FR, 9 digits), the seller's legal registration, where given.
    pub siren: &'a str,
    /// ISO 3166-1 alpha-2, for when the VAT number does not say the country.
    pub country: &'a str,
    /// The store follows France's rules: the payment mentions every French invoice prints go
    /// in the XML's notes too, under the subject codes the French e-invoicing rules read them
    /// by (BR-FR-05).
    pub french_mentions: bool,
}

/// France's payment mentions, by their UNTDID 4451 subject codes.
const FRENCH_MENTIONS: [(&str, &str); 3] = [
    (
        "PMD",
        "Pénalités de retard : trois fois le taux d'intérêt légal.",
    ),
    (
        "PMT",
        "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 €.",
    ),
    ("AAB", "Pas d'escompte pour paiement anticipé."),
];

/// What the XML describes: an invoice (380) or a credit note (381).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    Invoice,
    CreditNote {
        /// The corrected invoice's number and its ISO 8601 date, where known.
        original_number: Option<&'a str>,
        original_date: Option<&'a str>,
    },
}

/// A document's Factur-X XML and the date the PDF carries with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacturX {
    pub xml: String,
    /// The document's date (year, month, day): the PDF/A's and the attachment's date.
    pub date: (i32, u8, u8),
    pub kind_code: u16,
}

/// The XML of the document numbered `number`, dated `date` (ISO 8601), for `order`.
pub fn build(
    order: &Order,
    seller: &Seller<'_>,
    number: &str,
    date: Option<&str>,
    kind: Kind<'_>,
) -> Result<FacturX, Unsupported> {
    let unsupported = |why: &str| Unsupported(why.to_owned());
    let date = date
        .and_then(ymd)
        .ok_or_else(|| unsupported("the document has no date"))?;
    if seller.name.trim().is_empty() {
        return Err(unsupported("invoice.seller_name is empty"));
    }
    if seller.tax_id.trim().is_empty() {
        return Err(unsupported(
            "the seller's VAT number (invoice.seller_ids.vat or invoice.seller_tax_id) is empty",
        ));
    }
    if order.total_missing {
        return Err(unsupported("the order has no total"));
    }
    order
        .reconcile()
        .map_err(|e| Unsupported(format!("the order's amounts do not add up: {e}")))?;
    let rate = single_rate(order)?;
    let sums = Sums::of(order, rate)?;
    let kind_code = match kind {
        Kind::Invoice => 380,
        Kind::CreditNote { .. } => 381,
    };

    let currency = order.currency.to_ascii_uppercase();
    let mut x = Xml::default();
    x.raw(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    x.open_with(
        "rsm:CrossIndustryInvoice",
        concat!(
            r#"xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" "#,
            r#"xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" "#,
            r#"xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" "#,
            r#"xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100""#
        ),
    );
    x.open("rsm:ExchangedDocumentContext");
    x.open("ram:GuidelineSpecifiedDocumentContextParameter");
    x.leaf("ram:ID", GUIDELINE_ID);
    x.close("ram:GuidelineSpecifiedDocumentContextParameter");
    x.close("rsm:ExchangedDocumentContext");

    x.open("rsm:ExchangedDocument");
    x.leaf("ram:ID", number);
    x.leaf("ram:TypeCode", &kind_code.to_string());
    x.date("ram:IssueDateTime", "udt", date);
    if seller.french_mentions {
        for (code, text) in FRENCH_MENTIONS {
            x.open("ram:IncludedNote");
            x.leaf("ram:Content", text);
            x.leaf("ram:SubjectCode", code);
            x.close("ram:IncludedNote");
        }
    }
    x.close("rsm:ExchangedDocument");

    x.open("rsm:SupplyChainTradeTransaction");
    for (i, (line, net)) in order.lines.iter().zip(&sums.line_nets).enumerate() {
        // The net price is never negative (BR-27): a negative line is a negative quantity.
        let mut quantity = line.quantity;
        let mut price = if sums.gross_prices {
            net.checked_div(line.quantity)
                .unwrap_or(Decimal::ZERO)
                .round_dp(6)
        } else {
            line.unit_price
        };
        if price.is_sign_negative() {
            price = -price;
            quantity = -quantity;
        }
        x.open("ram:IncludedSupplyChainTradeLineItem");
        x.open("ram:AssociatedDocumentLineDocument");
        x.leaf("ram:LineID", &(i + 1).to_string());
        x.close("ram:AssociatedDocumentLineDocument");
        x.open("ram:SpecifiedTradeProduct");
        if let Some(sku) = line.sku.as_deref().filter(|s| !s.trim().is_empty()) {
            x.leaf("ram:SellerAssignedID", sku);
        }
        x.leaf("ram:Name", non_empty(&line.name, "-"));
        x.close("ram:SpecifiedTradeProduct");
        x.open("ram:SpecifiedLineTradeAgreement");
        x.open("ram:NetPriceProductTradePrice");
        x.leaf("ram:ChargeAmount", &unit_price(price));
        x.close("ram:NetPriceProductTradePrice");
        x.close("ram:SpecifiedLineTradeAgreement");
        x.open("ram:SpecifiedLineTradeDelivery");
        // C62: "one", the unit of a count of items.
        x.leaf_with("ram:BilledQuantity", r#"unitCode="C62""#, &plain(quantity));
        x.close("ram:SpecifiedLineTradeDelivery");
        x.open("ram:SpecifiedLineTradeSettlement");
        x.vat("ram:ApplicableTradeTax", rate);
        x.open("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.leaf("ram:LineTotalAmount", &amount(*net));
        x.close("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.close("ram:SpecifiedLineTradeSettlement");
        x.close("ram:IncludedSupplyChainTradeLineItem");
    }

    x.open("ram:ApplicableHeaderTradeAgreement");
    x.open("ram:SellerTradeParty");
    x.leaf("ram:Name", seller.name.trim());
    let siren: String = seller.siren.split_whitespace().collect();
    if siren.len() == 9 && siren.bytes().all(|b| b.is_ascii_digit()) {
        x.open("ram:SpecifiedLegalOrganization");
        // 0002: the SIRENE register's scheme (ISO 6523).
        x.leaf_with("ram:ID", r#"schemeID="0002""#, &siren);
        x.close("ram:SpecifiedLegalOrganization");
    }
    x.address(&seller_address(seller));
    let tax_id: String = seller.tax_id.split_whitespace().collect();
    x.open("ram:SpecifiedTaxRegistration");
    // VA: a VAT number (BT-31); FC: another tax registration (BT-32).
    let scheme = if vat_country(&tax_id).is_some() {
        r#"schemeID="VA""#
    } else {
        r#"schemeID="FC""#
    };
    x.leaf_with("ram:ID", scheme, &tax_id);
    x.close("ram:SpecifiedTaxRegistration");
    x.close("ram:SellerTradeParty");
    x.open("ram:BuyerTradeParty");
    let billing = order.billing.clone().unwrap_or_default();
    let person = if billing.name.trim().is_empty() {
        order.customer.full_name()
    } else {
        billing.name.trim().to_owned()
    };
    let buyer = billing
        .company
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .unwrap_or(person);
    x.leaf("ram:Name", non_empty(&buyer, "-"));
    x.address(&buyer_address(&billing, &seller_address(seller).country));
    if let Some(email) = order.customer.email.as_deref().filter(|e| e.contains('@')) {
        x.open("ram:URIUniversalCommunication");
        x.leaf_with("ram:URIID", r#"schemeID="EM""#, email.trim());
        x.close("ram:URIUniversalCommunication");
    }
    x.close("ram:BuyerTradeParty");
    let order_name = order.display_name().trim();
    if !order_name.is_empty() {
        x.open("ram:BuyerOrderReferencedDocument");
        x.leaf("ram:IssuerAssignedID", order_name);
        x.close("ram:BuyerOrderReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeAgreement");
    x.empty("ram:ApplicableHeaderTradeDelivery");

    x.open("ram:ApplicableHeaderTradeSettlement");
    x.leaf("ram:InvoiceCurrencyCode", &currency);
    x.open("ram:ApplicableTradeTax");
    x.leaf("ram:CalculatedAmount", &amount(sums.tax));
    x.leaf("ram:TypeCode", "VAT");
    x.leaf("ram:BasisAmount", &amount(sums.basis));
    x.leaf("ram:CategoryCode", "S");
    x.leaf("ram:RateApplicablePercent", &plain(rate));
    x.close("ram:ApplicableTradeTax");
    for (charge, value, reason) in [
        (true, sums.charge, "Shipping"),
        (false, sums.allowance, "Discount"),
    ] {
        if value.is_zero() {
            continue;
        }
        x.open("ram:SpecifiedTradeAllowanceCharge");
        x.open("ram:ChargeIndicator");
        x.leaf("udt:Indicator", if charge { "true" } else { "false" });
        x.close("ram:ChargeIndicator");
        x.leaf("ram:ActualAmount", &amount(value));
        x.leaf("ram:Reason", reason);
        x.vat("ram:CategoryTradeTax", rate);
        x.close("ram:SpecifiedTradeAllowanceCharge");
    }
    let grand = sums.basis + sums.tax;
    let (prepaid, due) = if order.payment.paid && kind_code == 380 {
        (grand, Decimal::ZERO)
    } else {
        (Decimal::ZERO, grand)
    };
    if due > Decimal::ZERO {
        // An amount due needs its due date or terms (BR-CO-25): due on the document's date.
        x.open("ram:SpecifiedTradePaymentTerms");
        if let Some(method) = order
            .payment
            .title
            .as_deref()
            .or(order.payment.method.as_deref())
            .filter(|m| !m.trim().is_empty())
        {
            x.leaf("ram:Description", method.trim());
        }
        x.date("ram:DueDateDateTime", "udt", date);
        x.close("ram:SpecifiedTradePaymentTerms");
    }
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    x.leaf("ram:LineTotalAmount", &amount(sums.lines));
    x.leaf("ram:ChargeTotalAmount", &amount(sums.charge));
    x.leaf("ram:AllowanceTotalAmount", &amount(sums.allowance));
    x.leaf("ram:TaxBasisTotalAmount", &amount(sums.basis));
    x.leaf_with(
        "ram:TaxTotalAmount",
        &format!(r#"currencyID="{}""#, escape(&currency)),
        &amount(sums.tax),
    );
    x.leaf("ram:GrandTotalAmount", &amount(grand));
    x.leaf("ram:TotalPrepaidAmount", &amount(prepaid));
    x.leaf("ram:DuePayableAmount", &amount(due));
    x.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    if let Kind::CreditNote {
        original_number: Some(original),
        original_date,
    } = kind
        && !original.trim().is_empty()
    {
        x.open("ram:InvoiceReferencedDocument");
        x.leaf("ram:IssuerAssignedID", original.trim());
        if let Some(d) = original_date.and_then(ymd) {
            x.date("ram:FormattedIssueDateTime", "qdt", d);
        }
        x.close("ram:InvoiceReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeSettlement");
    x.close("rsm:SupplyChainTradeTransaction");
    x.close("rsm:CrossIndustryInvoice");
    Ok(FacturX {
        xml: x.out,
        date,
        kind_code,
    })
}

/// The one VAT rate of the order (several tax lines at one rate are one rate).
fn single_rate(order: &Order) -> Result<Decimal, Unsupported> {
    let mut rate: Option<Decimal> = None;
    for tax in &order.taxes {
        match tax.rate {
            Some(r) => match rate {
                Some(seen) if seen != r => {
                    return Err(Unsupported(format!(
                        "the order has several VAT rates ({} % and {} %) and its lines do not say which is theirs",
                        plain(seen),
                        plain(r)
                    )));
                }
                _ => rate = Some(r),
            },
            None if tax.amount.is_zero() => {}
            None => {
                return Err(Unsupported(format!("the tax {:?} has no rate", tax.label)));
            }
        }
    }
    match rate {
        Some(r) if r > Decimal::ZERO && r < Decimal::ONE_HUNDRED => Ok(r),
        Some(r) => Err(Unsupported(format!(
            "a {} % VAT rate needs an exemption reason the order does not carry",
            plain(r)
        ))),
        None => Err(Unsupported("the order has no VAT rate".into())),
    }
}

/// The XML's amounts, to the cent: they add up exactly as EN 16931 checks them (BR-CO-10, 13,
/// 15), whether the platform's prices include the tax or not.
struct Sums {
    line_nets: Vec<Decimal>,
    lines: Decimal,
    charge: Decimal,
    allowance: Decimal,
    basis: Decimal,
    tax: Decimal,
    /// The platform's prices include the tax: net prices are worked out from the line nets.
    gross_prices: bool,
}

impl Sums {
    fn of(order: &Order, rate: Decimal) -> Result<Sums, Unsupported> {
        let tax = cents(order.tax_total);
        let total = cents(order.total);
        let discount = order.discount_total.abs();
        if !order.prices_include_tax {
            let line_nets: Vec<Decimal> = order.lines.iter().map(|l| cents(l.total)).collect();
            let lines = line_nets.iter().sum::<Decimal>();
            let (charge, allowance) = (cents(order.shipping_total), cents(discount));
            let basis = lines + charge - allowance;
            if basis + tax != total {
                return Err(Unsupported(format!(
                    "lines, shipping and discount to the cent ({}) plus tax ({}) are not the total ({})",
                    amount(basis),
                    amount(tax),
                    amount(total)
                )));
            }
            return Ok(Sums {
                line_nets,
                lines,
                charge,
                allowance,
                basis,
                tax,
                gross_prices: false,
            });
        }
        // Tax-inclusive prices: each amount's net part at the rate, to the cent, and the cents
        // lost to rounding given to the largest line, so the nets make the platform's own
        // total less its tax exactly.
        let divisor = (Decimal::ONE_HUNDRED + rate) / Decimal::ONE_HUNDRED;
        let net = |gross: Decimal| cents(gross / divisor);
        let mut line_nets: Vec<Decimal> = order.lines.iter().map(|l| net(l.total)).collect();
        let (charge, allowance) = (net(order.shipping_total), net(discount));
        let basis = total - tax;
        let rest = basis - (line_nets.iter().sum::<Decimal>() + charge - allowance);
        // Rounding loses at most half a cent per amount; more is an order out of step.
        let most = Decimal::new(5, 3) * Decimal::from(line_nets.len() + 2);
        if rest.abs() > most {
            return Err(Unsupported(format!(
                "the tax ({}) is not the {} % in the total ({})",
                amount(tax),
                plain(rate),
                amount(total)
            )));
        }
        if !rest.is_zero() {
            let largest = (0..line_nets.len())
                .max_by_key(|&i| line_nets[i].abs())
                .ok_or_else(|| Unsupported("the order has no lines".into()))?;
            line_nets[largest] += rest;
        }
        let lines = line_nets.iter().sum::<Decimal>();
        Ok(Sums {
            line_nets,
            lines,
            charge,
            allowance,
            basis,
            tax,
            gross_prices: true,
        })
    }
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `12.50`, `-3.00`, `0.00`: two decimals, as EN 16931 wants document amounts (BR-DEC).
fn amount(d: Decimal) -> String {
    let mut r = cents(d);
    if r.is_zero() {
        r = Decimal::ZERO;
    }
    r.rescale(2);
    r.to_string()
}

/// A unit price with the decimals it has, at least two.
fn unit_price(d: Decimal) -> String {
    let mut r = d.normalize();
    if r.scale() < 2 {
        r.rescale(2);
    }
    r.to_string()
}

/// `2`, `5.5`, `20`: quantities and rates without trailing zeros.
fn plain(d: Decimal) -> String {
    if d.is_zero() {
        return "0".into();
    }
    d.normalize().to_string()
}

fn non_empty<'a>(s: &'a str, or: &'a str) -> &'a str {
    let s = s.trim();
    if s.is_empty() { or } else { s }
}

/// `2026-11-20T09:00:00Z` → (2026, 11, 20); `None` for anything that is not such a date.
fn ymd(iso: &str) -> Option<(i32, u8, u8)> {
    let date = iso.trim().get(..10)?;
    if date.get(4..5)? != "-" || date.get(7..8)? != "-" {
        return None;
    }
    let y: i32 = date.get(..4)?.parse().ok()?;
    let m: u8 = date.get(5..7)?.parse().ok()?;
    let d: u8 = date.get(8..10)?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d) && y >= 1000).then_some((y, m, d))
}

/// The country a VAT number is from: its two-letter prefix (Greece's `EL` is `GR`).
fn vat_country(tax_id: &str) -> Option<String> {
    let prefix = tax_id.get(..2)?;
    let rest = tax_id.get(2..)?;
    let ok = prefix.bytes().all(|b| b.is_ascii_uppercase())
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        && rest.bytes().any(|b| b.is_ascii_digit());
    ok.then(|| match prefix {
        "EL" => "GR".to_owned(),
        "XI" => "GB".to_owned(),
        p => p.to_owned(),
    })
}

struct PostalAddress {
    postcode: String,
    lines: Vec<String>,
    city: String,
    country: String,
}

fn seller_address(seller: &Seller<'_>) -> PostalAddress {
    let mut lines: Vec<String> = seller
        .address
        .split([',', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let (mut postcode, mut city) = (String::new(), String::new());
    if let Some(last) = lines.last()
        && let Some((code, town)) = last.split_once(' ')
        && code.len() >= 4
        && code.bytes().all(|b| b.is_ascii_digit())
    {
        postcode = code.to_owned();
        city = town.trim().to_owned();
        lines.pop();
    }
    let tax_id: String = seller.tax_id.split_whitespace().collect();
    let country = vat_country(&tax_id).unwrap_or_else(|| seller.country.to_ascii_uppercase());
    PostalAddress {
        postcode,
        lines,
        city,
        country,
    }
}

fn buyer_address(billing: &Address, fallback_country: &str) -> PostalAddress {
    let lines = [Some(billing.line1.as_str()), billing.line2.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    PostalAddress {
        postcode: billing
            .postcode
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        lines,
        city: billing.city.trim().to_owned(),
        country: billing
            .country
            .as_deref()
            .map(str::trim)
            .filter(|c| c.len() == 2)
            .unwrap_or(fallback_country)
            .to_ascii_uppercase(),
    }
}

/// A small XML writer: elements on their own lines, text always escaped.
#[derive(Default)]
struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn open(&mut self, name: &str) {
        self.indent();
        let _ = write!(self.out, "<{name}>");
        self.depth += 1;
    }

    fn open_with(&mut self, name: &str, attributes: &str) {
        self.indent();
        let _ = write!(self.out, "<{name} {attributes}>");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        let _ = write!(self.out, "</{name}>");
    }

    fn empty(&mut self, name: &str) {
        self.indent();
        let _ = write!(self.out, "<{name}/>");
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        let _ = write!(self.out, "<{name}>{}</{name}>", escape(text));
    }

    fn leaf_with(&mut self, name: &str, attributes: &str, text: &str) {
        self.indent();
        let _ = write!(self.out, "<{name} {attributes}>{}</{name}>", escape(text));
    }

    /// A date element in the `102` format (`YYYYMMDD`), its string in the `ns` namespace.
    fn date(&mut self, name: &str, ns: &str, (y, m, d): (i32, u8, u8)) {
        self.open(name);
        self.leaf_with(
            &format!("{ns}:DateTimeString"),
            r#"format="102""#,
            &format!("{y:04}{m:02}{d:02}"),
        );
        self.close(name);
    }

    fn vat(&mut self, name: &str, rate: Decimal) {
        self.open(name);
        self.leaf("ram:TypeCode", "VAT");
        self.leaf("ram:CategoryCode", "S");
        self.leaf("ram:RateApplicablePercent", &plain(rate));
        self.close(name);
    }

    fn address(&mut self, a: &PostalAddress) {
        self.open("ram:PostalTradeAddress");
        if !a.postcode.is_empty() {
            self.leaf("ram:PostcodeCode", &a.postcode);
        }
        // CII has three address lines: any further ones join the third.
        let mut lines = a.lines.iter().map(String::as_str);
        for name in ["ram:LineOne", "ram:LineTwo"] {
            if let Some(l) = lines.next() {
                self.leaf(name, l);
            }
        }
        let third: Vec<&str> = lines.collect();
        if !third.is_empty() {
            self.leaf("ram:LineThree", &third.join(", "));
        }
        if !a.city.is_empty() {
            self.leaf("ram:CityName", &a.city);
        }
        self.leaf("ram:CountryID", &a.country);
        self.close("ram:PostalTradeAddress");
    }
}

/// XML text and attribute escaping; characters XML 1.0 cannot carry at all are dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Where the XML is in the template's world (a render asset).
pub const ASSET_PATH: &str = "/factur-x.xml";

/// The Typst line that attaches the XML to the PDF as `factur-x.xml`, its relationship to the
/// document `Alternative` (the same invoice, for machines): appended to the template, so any
/// template (the merchant's own too) carries it.
const ATTACH: &str = "\n#pdf.attach(\"/factur-x.xml\", relationship: \"alternative\", \
                      mime-type: \"text/xml\", description: \"Factur-X invoice\")\n";

/// The Factur-X XML of a store's document when the store sends Factur-X (`invoice.facturx`)
/// and a PDF is made. An order the XML cannot describe is logged and gets a plain PDF: the
/// customer still gets their invoice.
pub fn for_document(
    store: &Store,
    order: &Order,
    number: &str,
    credit_note: Option<&CreditNoteOf>,
    formats: Formats,
) -> Option<FacturX> {
    if !store.invoice.facturx || !formats.pdf {
        return None;
    }
    let ids = &store.invoice.seller_ids;
    let seller = Seller {
        name: &store.invoice.seller_name,
        address: &store.invoice.seller_address,
        tax_id: if ids.vat.trim().is_empty() {
            &store.invoice.seller_tax_id
        } else {
            &ids.vat
        },
        siren: &ids.siren,
        country: &store.default_country,
        french_mentions: super::country_rules(store) == CountryRules::Fr,
    };
    let (date, kind) = match credit_note {
        None => (
            order.paid_at.as_deref().or(order.created_at.as_deref()),
            Kind::Invoice,
        ),
        Some(of) => (
            of.issued_at
                .as_deref()
                .or(order.paid_at.as_deref())
                .or(order.created_at.as_deref()),
            Kind::CreditNote {
                original_number: of.original.number.as_deref(),
                original_date: of.original.issued_at.as_deref(),
            },
        ),
    };
    match build(order, &seller, number, date, kind) {
        Ok(fx) => Some(fx),
        Err(why) => {
            tracing::warn!(store = %store.id, order = %order.id, number, "{why}: the invoice is a plain PDF");
            None
        }
    }
}

/// The template with the attachment line and the formats asking for a PDF/A-3b, when there is
/// Factur-X XML; both as they were otherwise.
pub fn prepare(fx: Option<&FacturX>, template: String, formats: Formats) -> (String, Formats) {
    match fx {
        Some(fx) => (
            template + ATTACH,
            Formats {
                pdf_a3b: Some(fx.date),
                ..formats
            },
        ),
        None => (template, formats),
    }
}

/// The rendered PDF with the Factur-X XMP added, when there is Factur-X XML.
pub fn finish(fx: Option<&FacturX>, mut out: Rendered) -> Result<Rendered, RenderError> {
    if fx.is_some()
        && let Some(pdf) = out.pdf.take()
    {
        out.pdf = Some(add_xmp(&pdf).map_err(RenderError::Export)?);
    }
    Ok(out)
}

/// The Factur-X properties and their PDF/A extension schema, added to the PDF's XMP metadata
/// (which Typst writes without them): the PDF is parsed and written again with lopdf, every
/// other object as Typst made it.
pub fn add_xmp(pdf: &[u8]) -> Result<Vec<u8>, String> {
    let mut doc =
        lopdf::Document::load_mem(pdf).map_err(|e| format!("cannot read the PDF: {e}"))?;
    let metadata = doc
        .catalog()
        .and_then(|c| c.get(b"Metadata"))
        .and_then(|m| m.as_reference())
        .map_err(|e| format!("the PDF has no XMP metadata: {e}"))?;
    let stream = doc
        .get_object_mut(metadata)
        .and_then(|o| o.as_stream_mut())
        .map_err(|e| format!("the PDF's XMP metadata is not a stream: {e}"))?;
    if stream.dict.has(b"Filter") {
        return Err("the PDF's XMP metadata is compressed".into());
    }
    let xmp =
        std::str::from_utf8(&stream.content).map_err(|e| format!("the XMP is not UTF-8: {e}"))?;
    let xmp = with_facturx(xmp)?;
    stream.set_content(xmp.into_bytes());
    let mut out = Vec::with_capacity(pdf.len() + 4096);
    doc.save_to(&mut out)
        .map_err(|e| format!("cannot write the PDF: {e}"))?;
    Ok(out)
}

/// `xmp` with the `fx` schema described in its `pdfaExtension:schemas` bag (PDF/A-3 needs every
/// property's schema described there) and the Factur-X properties in a description of their own.
fn with_facturx(xmp: &str) -> Result<String, String> {
    const BAG_END: &str = "</rdf:Bag></pdfaExtension:schemas>";
    const RDF_END: &str = "</rdf:RDF>";
    let (Some(bag), Some(rdf)) = (xmp.find(BAG_END), xmp.rfind(RDF_END)) else {
        return Err("the XMP has no PDF/A extension schemas to add Factur-X's to".into());
    };
    if bag > rdf {
        return Err("the XMP's extension schemas are outside its RDF".into());
    }
    let property = |name: &str, description: &str| {
        format!(
            "<rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>{name}</pdfaProperty:name>\
             <pdfaProperty:valueType>Text</pdfaProperty:valueType>\
             <pdfaProperty:category>external</pdfaProperty:category>\
             <pdfaProperty:description>{description}</pdfaProperty:description></rdf:li>"
        )
    };
    let schema = format!(
        "<rdf:li rdf:parseType=\"Resource\" xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\" \
         xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\
         <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>\
         <pdfaSchema:namespaceURI>{FX_NAMESPACE}</pdfaSchema:namespaceURI>\
         <pdfaSchema:prefix>fx</pdfaSchema:prefix>\
         <pdfaSchema:property><rdf:Seq>{}{}{}{}</rdf:Seq></pdfaSchema:property></rdf:li>",
        property("DocumentFileName", "The name of the embedded XML document"),
        property(
            "DocumentType",
            "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"
        ),
        property(
            "Version",
            "The actual version of the standard applying to the embedded XML document"
        ),
        property(
            "ConformanceLevel",
            "The conformance level of the embedded XML document"
        ),
    );
    // Credit notes too: Factur-X has one document type, the XML's TypeCode says which it is.
    let properties = format!(
        "<rdf:Description rdf:about=\"\" xmlns:fx=\"{FX_NAMESPACE}\">\
         <fx:DocumentType>INVOICE</fx:DocumentType>\
         <fx:DocumentFileName>{FILE_NAME}</fx:DocumentFileName>\
         <fx:Version>1.0</fx:Version>\
         <fx:ConformanceLevel>{CONFORMANCE_LEVEL}</fx:ConformanceLevel></rdf:Description>"
    );
    let mut out = String::with_capacity(xmp.len() + schema.len() + properties.len());
    out.push_str(&xmp[..bag]);
    out.push_str(&schema);
    out.push_str(&xmp[bag..rdf]);
    out.push_str(&properties);
    out.push_str(&xmp[rdf..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{LineItem, TaxLine};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn seller() -> Seller<'static> {
        Seller {
            name: "Dupont & Fils <SARL>",
            address: "12 rue de la Paix, Bâtiment \"B\", 75002 Paris",
            tax_id: "FR 40 303265045",
            siren: "303 265 045",
            country: "TN",
            french_mentions: true,
        }
    }

    fn between<'a>(xml: &'a str, open: &str, close: &str) -> Vec<&'a str> {
        xml.split(open)
            .skip(1)
            .filter_map(|rest| rest.split_once(close).map(|(v, _)| v))
            .collect()
    }

    #[test]
    fn the_sample_order_makes_an_en16931_invoice_that_adds_up() {
        let order = crate::invoice::sample_order();
        let fx = build(
            &order,
            &seller(),
            "FA-2026-00042",
            order.created_at.as_deref(),
            Kind::Invoice,
        )
        .unwrap();
        let x = &fx.xml;
        assert_eq!(fx.date, (2026, 11, 20));
        for needle in [
            "<ram:ID>urn:cen.eu:en16931:2017</ram:ID>",
            "<ram:ID>FA-2026-00042</ram:ID>",
            "<ram:TypeCode>380</ram:TypeCode>",
            r#"<udt:DateTimeString format="102">20261120</udt:DateTimeString>"#,
            "<ram:Name>Dupont &amp; Fils &lt;SARL&gt;</ram:Name>",
            "<ram:LineTwo>Bâtiment &quot;B&quot;</ram:LineTwo>",
            "<ram:PostcodeCode>75002</ram:PostcodeCode>",
            "<ram:CityName>Paris</ram:CityName>",
            r#"<ram:ID schemeID="VA">FR40303265045</ram:ID>"#,
            r#"<ram:ID schemeID="0002">303265045</ram:ID>"#,
            "<ram:SubjectCode>PMT</ram:SubjectCode>",
            "<ram:Name>Zoë Dupré</ram:Name>",
            "<ram:LineOne>8 rue de l&apos;Église</ram:LineOne>",
            r#"<ram:BilledQuantity unitCode="C62">2</ram:BilledQuantity>"#,
            "<ram:ChargeAmount>24.90</ram:ChargeAmount>",
            "<ram:LineTotalAmount>59.80</ram:LineTotalAmount>",
            "<ram:ChargeTotalAmount>4.90</ram:ChargeTotalAmount>",
            "<ram:AllowanceTotalAmount>5.00</ram:AllowanceTotalAmount>",
            "<ram:TaxBasisTotalAmount>59.70</ram:TaxBasisTotalAmount>",
            r#"<ram:TaxTotalAmount currencyID="EUR">11.94</ram:TaxTotalAmount>"#,
            "<ram:GrandTotalAmount>71.64</ram:GrandTotalAmount>",
            "<ram:DuePayableAmount>71.64</ram:DuePayableAmount>",
            r#"<ram:URIID schemeID="EM">zoe@example.fr</ram:URIID>"#,
        ] {
            assert!(x.contains(needle), "{needle} missing from:\n{x}");
        }
        // The country comes from the VAT number, not the store's default.
        assert_eq!(
            between(x, "<ram:CountryID>", "</ram:CountryID>"),
            ["FR", "FR"]
        );
        // The VAT breakdown's tax is the document's tax total, its base the net total.
        assert_eq!(
            between(x, "<ram:CalculatedAmount>", "</ram:CalculatedAmount>"),
            ["11.94"]
        );
        assert_eq!(
            between(x, "<ram:BasisAmount>", "</ram:BasisAmount>"),
            ["59.70"]
        );
        assert_eq!(
            between(
                x,
                "<ram:RateApplicablePercent>",
                "</ram:RateApplicablePercent>"
            ),
            ["20"; 5],
            "two lines, the shipping charge, the discount and the breakdown at 20 %"
        );
    }

    #[test]
    fn tax_inclusive_prices_split_into_nets_that_add_up_to_the_cent() {
        // Three lines at 0.99 TTC, 20 %: each net rounds up to 0.83 (0.825), shipping 4.99 to
        // 4.16, the discount to 0.83; the two cents too many come off one line.
        let line = |name: &str| LineItem {
            name: name.into(),
            quantity: d("1"),
            unit_price: d("0.99"),
            total: d("0.99"),
            ..LineItem::default()
        };
        let order = Order {
            currency: "EUR".into(),
            lines: vec![line("a"), line("b"), line("c")],
            subtotal: d("2.97"),
            shipping_total: d("4.99"),
            discount_total: d("1.00"),
            tax_total: d("1.16"),
            total: d("6.96"),
            prices_include_tax: true,
            taxes: vec![TaxLine {
                label: "TVA".into(),
                rate: Some(d("20")),
                amount: d("1.16"),
            }],
            payment: crate::order::Payment {
                paid: true,
                ..Default::default()
            },
            ..Order::default()
        };
        let fx = build(&order, &seller(), "F-1", Some("2026-01-31"), Kind::Invoice).unwrap();
        let x = &fx.xml;
        let sum = |tag: &str| -> Vec<Decimal> {
            between(x, &format!("<{tag}>"), &format!("</{tag}>"))
                .into_iter()
                .map(d)
                .collect()
        };
        let line_totals = sum("ram:LineTotalAmount");
        // Three lines, then the header's line total.
        assert_eq!(line_totals.len(), 4);
        let mut lines = line_totals[..3].to_vec();
        lines.sort();
        assert_eq!(lines, [d("0.81"), d("0.83"), d("0.83")]);
        assert_eq!(lines.iter().sum::<Decimal>(), line_totals[3]);
        // Each line's net price is its net amount.
        let prices = sum("ram:ChargeAmount");
        let mut prices = prices.clone();
        prices.sort();
        assert_eq!(prices, lines);
        let basis = sum("ram:TaxBasisTotalAmount")[0];
        let charge = sum("ram:ChargeTotalAmount")[0];
        let allowance = sum("ram:AllowanceTotalAmount")[0];
        assert_eq!((charge, allowance), (d("4.16"), d("0.83")));
        assert_eq!(line_totals[3] + charge - allowance, basis);
        assert_eq!(basis, d("5.80"));
        assert_eq!(sum("ram:BasisAmount"), [d("5.80")]);
        assert_eq!(
            sum("ram:GrandTotalAmount"),
            [d("6.96")],
            "the platform's total"
        );
        assert_eq!(sum("ram:TotalPrepaidAmount"), [d("6.96")]);
        assert_eq!(sum("ram:DuePayableAmount"), [d("0.00")]);
        assert!(!x.contains("SpecifiedTradePaymentTerms"), "nothing is due");
        assert!(x.contains(r#"format="102">20260131<"#));
    }

    #[test]
    fn a_credit_note_is_381_and_names_its_invoice() {
        let order = crate::invoice::sample_order();
        let fx = build(
            &order,
            &seller(),
            "AV-2026-00003",
            Some("2026-12-03T10:00:00Z"),
            Kind::CreditNote {
                original_number: Some("FA-2026-00042"),
                original_date: Some("2026-11-20"),
            },
        )
        .unwrap();
        assert_eq!(fx.kind_code, 381);
        let x = &fx.xml;
        assert!(x.contains("<ram:TypeCode>381</ram:TypeCode>"), "{x}");
        let reference = between(
            x,
            "<ram:InvoiceReferencedDocument>",
            "</ram:InvoiceReferencedDocument>",
        );
        assert_eq!(reference.len(), 1, "{x}");
        assert!(
            reference[0].contains("<ram:IssuerAssignedID>FA-2026-00042</ram:IssuerAssignedID>")
                && reference[0]
                    .contains(r#"<qdt:DateTimeString format="102">20261120</qdt:DateTimeString>"#),
            "{x}"
        );
        assert!(x.contains(">20261203<"));
    }

    #[test]
    fn what_the_order_cannot_say_gets_no_xml() {
        let base = crate::invoice::sample_order();
        let no = |order: &Order, seller: &Seller<'_>, date: Option<&str>| {
            build(order, seller, "F-1", date, Kind::Invoice)
                .unwrap_err()
                .0
        };
        let mut two_rates = base.clone();
        two_rates.taxes.push(TaxLine {
            label: "TVA".into(),
            rate: Some(d("5.5")),
            amount: d("0.00"),
        });
        assert!(no(&two_rates, &seller(), Some("2026-11-20")).contains("several VAT rates"));
        let mut untaxed = base.clone();
        untaxed.taxes.clear();
        untaxed.tax_total = Decimal::ZERO;
        untaxed.total = d("59.70");
        assert!(no(&untaxed, &seller(), Some("2026-11-20")).contains("no VAT rate"));
        let mut off = base.clone();
        off.total = d("71.65");
        assert!(no(&off, &seller(), Some("2026-11-20")).contains("do not add up"));
        assert!(no(&base, &seller(), None).contains("no date"));
        assert!(no(&base, &seller(), Some("20/11/2026")).contains("no date"));
        let anonymous = Seller {
            tax_id: " ",
            ..seller()
        };
        assert!(no(&base, &anonymous, Some("2026-11-20")).contains("seller_tax_id"));
    }

    #[test]
    fn text_is_escaped_and_characters_xml_cannot_carry_are_dropped() {
        assert_eq!(
            escape("a&b<c>\"d'\u{1}e\u{FFFF}"),
            "a&amp;b&lt;c&gt;&quot;d&apos;e"
        );
        assert_eq!(amount(d("-0.001")), "0.00");
        assert_eq!(amount(d("12.345")), "12.35");
        assert_eq!(amount(d("3")), "3.00");
        assert_eq!(unit_price(d("11.0830")), "11.083");
        assert_eq!(unit_price(d("24.9")), "24.90");
        assert_eq!(plain(d("20.00")), "20");
        assert_eq!(plain(d("5.50")), "5.5");
        assert_eq!(vat_country("EL123456789").as_deref(), Some("GR"));
        assert_eq!(vat_country("1234567/A/M/000"), None);
        assert_eq!(vat_country("ABCDEF"), None);
    }

    #[test]
    fn the_fx_schema_goes_into_the_existing_extension_bag() {
        let xmp = "<x:xmpmeta><rdf:RDF><rdf:Description rdf:about=\"\"><pdfaExtension:schemas>\
                   <rdf:Bag><rdf:li>pdf</rdf:li></rdf:Bag></pdfaExtension:schemas>\
                   </rdf:Description></rdf:RDF></x:xmpmeta>";
        let out = with_facturx(xmp).unwrap();
        let bag = between(&out, "<rdf:Bag>", "</rdf:Bag></pdfaExtension:schemas>");
        assert_eq!(bag.len(), 1);
        assert!(bag[0].starts_with("<rdf:li>pdf</rdf:li>"));
        assert!(bag[0].contains("<pdfaSchema:prefix>fx</pdfaSchema:prefix>"));
        assert_eq!(bag[0].matches("<pdfaProperty:name>").count(), 4);
        assert!(out.contains(
            "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description></rdf:RDF>"
        ));
        assert!(with_facturx("<rdf:RDF></rdf:RDF>").is_err());
    }
}
