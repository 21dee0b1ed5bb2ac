//! The checks of the canonical order a delivery produced: its fields, that its amounts add up,
//! and the text of its invoice PDF.

use rust_decimal::Decimal;
use serde_json::Value;
use shopbip::order::{Order, minor_units};

use super::{Failures, Outcome, STORE};
use crate::common::app::TestApp;

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// `amount` rounded to the currency's minor unit and written with exactly that many places.
fn in_minor_units(amount: Decimal, currency: &str) -> String {
    let places = minor_units(currency);
    let mut r =
        amount.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    r.rescale(places);
    r.to_string()
}

/// Compares the `order` check's fields with the canonical order (as JSON, so fields the
/// service does not have yet show up as missing rather than breaking the build).
pub(super) fn check_order(f: &mut Failures, label: &str, want: &Value, order: &Value) {
    let Some(want) = want.as_object() else { return };
    let currency = order["currency"].as_str().unwrap_or("");
    for (key, expected) in want {
        let actual: Value = match key.as_str() {
            "number" | "name" | "currency" => order[key.as_str()].clone(),
            "total" => decimal(&order["total"])
                .map(|t| Value::String(in_minor_units(t, currency)))
                .unwrap_or(Value::Null),
            "first_name" => order["customer"]["first_name"].clone(),
            "lines" => order["lines"]
                .as_array()
                .map(|l| Value::from(l.len()))
                .unwrap_or(Value::Null),
            "payment_kind" => order["payment"]["kind"].clone(),
            "paid" => order["payment"]["paid"].clone(),
            other => {
                f.add(
                    label,
                    format!("order.{other}: no such check key in this harness"),
                );
                continue;
            }
        };
        if &actual != expected {
            f.add(
                label,
                format!("order.{key}: expected {expected}, got {actual}"),
            );
        }
    }
}

/// The invoice adds up, each side rounded to the currency's minor unit.
pub(super) fn check_reconcile(f: &mut Failures, label: &str, order: &Value) {
    let currency = order["currency"].as_str().unwrap_or("");
    let field = |name: &str| decimal(&order[name]);
    let (Some(subtotal), Some(shipping), Some(discount), Some(tax), Some(total)) = (
        field("subtotal"),
        field("shipping_total"),
        field("discount_total"),
        field("tax_total"),
        field("total"),
    ) else {
        f.add(
            label,
            format!("reconcile: order amounts missing in {order}"),
        );
        return;
    };
    let lines: Option<Decimal> = order["lines"]
        .as_array()
        .map(|l| l.iter().map(|l| decimal(&l["total"])).sum())
        .unwrap_or(None);
    let m = |d: Decimal| in_minor_units(d, currency);
    match lines {
        Some(lines) if m(lines) == m(subtotal) => {}
        Some(lines) => f.add(
            label,
            format!(
                "reconcile: line totals add up to {} but subtotal is {}",
                m(lines),
                m(subtotal)
            ),
        ),
        None => f.add(label, "reconcile: a line without a total"),
    }
    let inclusive = order["prices_include_tax"].as_bool().unwrap_or(false);
    let computed = subtotal + shipping - discount + if inclusive { Decimal::ZERO } else { tax };
    if m(computed) != m(total) {
        f.add(
            label,
            format!(
                "reconcile: subtotal {} + shipping {} - discount {} {} = {} but total is {}",
                m(subtotal),
                m(shipping),
                m(discount),
                if inclusive {
                    format!("(tax {} included)", m(tax))
                } else {
                    format!("+ tax {}", m(tax))
                },
                m(computed),
                m(total)
            ),
        );
    }
}

/// Whether the PDF's text holds each needle; a long name wrapped over two lines of a table
/// cell still counts, so whitespace runs compare as one space.
pub(super) fn check_pdf_text(
    f: &mut Failures,
    label: &str,
    pdf: &[u8],
    needles: &[Value],
    source: &str,
) {
    if !pdf.starts_with(b"%PDF-") {
        f.add(label, format!("pdf: the {source} is not a PDF"));
        return;
    }
    let text = match crate::common::read_pdf::try_pages(pdf) {
        Ok(pages) => pages.join("\n"),
        Err(e) => {
            f.add(label, format!("pdf: {e}"));
            return;
        }
    };
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let squashed = squash(&text);
    let mut missing = Vec::new();
    for needle in needles.iter().filter_map(Value::as_str) {
        if !squashed.contains(&squash(needle)) {
            missing.push(needle.to_owned());
        }
    }
    if !missing.is_empty() {
        f.add(
            label,
            format!(
                "pdf: the {source} lacks {missing:?}; its text is:\n{}",
                text.trim_end()
            ),
        );
    }
}

/// The canonical order the checks read: the job's (BigCommerce: as the worker fetched it), or
/// without a job, the one stored with the delivery's event.
pub(super) async fn canonical_order(p: &TestApp, o: &Outcome) -> Result<Value, String> {
    if let Some(job) = o.created.first() {
        let fetches = p
            .service
            .stores
            .load()
            .get(STORE)
            .is_some_and(|s| s.platform.fetches_order());
        if fetches {
            return match &job.steps["order"] {
                Value::Null => Err(format!(
                    "job {} has no fetched order in steps[\"order\"] ({:?})",
                    job.id, job.last_error
                )),
                order => Ok(order.clone()),
            };
        }
        return serde_json::to_value(&job.order).map_err(|e| e.to_string());
    }
    let event_id = o.answer["event_id"]
        .as_i64()
        .or_else(|| o.answer["event_ids"][0].as_i64())
        .ok_or_else(|| format!("no job and no event id in the answer {}", o.answer))?;
    let event = p
        .service
        .jobs
        .event(event_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("event {event_id} is not stored"))?;
    serde_json::from_str(&event.order_json).map_err(|e| format!("event {event_id}: {e}"))
}

/// The store's invoice for the canonical order, as the worker would render it: the number the
/// worker allocated, else the platform's, else the store sequence's first.
pub(super) async fn render(p: &TestApp, o: &Outcome, order: &Value) -> Result<Vec<u8>, String> {
    let order: Order = serde_json::from_value(order.clone())
        .map_err(|e| format!("the canonical order does not read back as an Order: {e}"))?;
    let number = o
        .created
        .iter()
        .find_map(|j| j.steps["invoice_number"].as_str().map(str::to_owned))
        .or_else(|| order.invoice_number.clone())
        .unwrap_or_else(|| "INV-000001".to_owned());
    let store = p
        .service
        .stores
        .load()
        .get(STORE)
        .cloned()
        .ok_or("the store is not loaded")?;
    tokio::task::spawn_blocking(move || {
        shopbip::invoice::render_for_store(&store, &order, &number).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}
