//! Invoice rendering in-process: time per 1-page and 3-page invoice, PDF size, peak RSS; with
//! `--png`, the 1-page invoice's PNG page too.

use std::time::Instant;

use crate::support::{FIXTURE, peak_rss_mb, percentile};

pub fn run(renders: usize, png: bool) -> anyhow::Result<()> {
    use shopbip::invoice::data::{SellerInfo, build};
    use shopbip::invoice::{DEFAULT_PIXELS_PER_PT, DEFAULT_TEMPLATE, Formats, Renderer};
    let order = shopbip::platforms::Platform::Woocommerce
        .adapter()
        .parse_order(FIXTURE.as_bytes())?;
    let seller = SellerInfo {
        name: "Acme SARL".into(),
        address: "12 rue de Marseille, 1001 Tunis".into(),
        tax_id: "1234567/A/B/M/000".into(),
        language: "fr".into(),
        ..SellerInfo::default()
    };
    let renderer = Renderer::shared();
    let mut long = order.clone();
    let line = long.lines[1].clone();
    long.lines = (0..60)
        .map(|i| shopbip::order::LineItem {
            name: format!("{} #{i}", line.name),
            ..line.clone()
        })
        .collect();
    let started = Instant::now();
    let first = renderer.render(
        DEFAULT_TEMPLATE,
        &build(&order, &seller, "INV-000001", None),
        None,
    )?;
    println!(
        "first render (fonts and library load): {:.1} ms, PDF {} bytes",
        started.elapsed().as_secs_f64() * 1e3,
        first.len()
    );
    let mut one = Vec::with_capacity(renders);
    let mut sizes = 0usize;
    for i in 0..renders {
        // A new number each time, as in production: nothing is served from a whole-document cache.
        let data = build(&order, &seller, &format!("INV-{i:06}"), None);
        let t = Instant::now();
        let pdf = renderer.render(DEFAULT_TEMPLATE, &data, None)?;
        one.push(t.elapsed());
        sizes = sizes.max(pdf.len());
    }
    one.sort_unstable();
    let mut three = Vec::new();
    let mut pages_pdf = Vec::new();
    for i in 0..50 {
        let data = build(&long, &seller, &format!("INV-L{i:05}"), None);
        let t = Instant::now();
        pages_pdf = renderer.render(DEFAULT_TEMPLATE, &data, None)?;
        three.push(t.elapsed());
    }
    three.sort_unstable();
    println!(
        "1-page invoice x{renders}: p50={:.1}ms p90={:.1}ms p99={:.1}ms max PDF {} bytes",
        percentile(&one, 0.5),
        percentile(&one, 0.9),
        percentile(&one, 0.99),
        sizes
    );
    println!(
        "3-page invoice (60 lines) x50: p50={:.1}ms p99={:.1}ms PDF {} bytes",
        percentile(&three, 0.5),
        percentile(&three, 0.99),
        pages_pdf.len()
    );
    let mut pngs = 0;
    if png {
        let scale = DEFAULT_PIXELS_PER_PT;
        let mut alone = Vec::with_capacity(renders);
        let mut both = Vec::with_capacity(renders);
        let mut size = 0usize;
        for i in 0..renders {
            let data = build(&order, &seller, &format!("INV-P{i:06}"), None);
            let t = Instant::now();
            let out = renderer.render_as(DEFAULT_TEMPLATE, &data, None, Formats::png(scale))?;
            alone.push(t.elapsed());
            size = size.max(out.pngs.iter().map(Vec::len).sum());
            // Another number: the same data again would reuse Typst's memoized layout.
            let data = build(&order, &seller, &format!("INV-B{i:06}"), None);
            let t = Instant::now();
            renderer.render_as(DEFAULT_TEMPLATE, &data, None, Formats::pdf_and_png(scale))?;
            both.push(t.elapsed());
        }
        alone.sort_unstable();
        both.sort_unstable();
        pngs = 2 * renders;
        println!(
            "1-page invoice as PNG ({scale} px/pt, compile + rasterise + encode) x{renders}: \
             p50={:.1}ms p90={:.1}ms max PNG {} bytes",
            percentile(&alone, 0.5),
            percentile(&alone, 0.9),
            size
        );
        println!(
            "1-page invoice as PDF + PNG from one compilation x{renders}: p50={:.1}ms p90={:.1}ms",
            percentile(&both, 0.5),
            percentile(&both, 0.9)
        );
    }
    let qrs = zatca_qr(&order, renders)?;
    println!(
        "peak RSS after {} renders: {:.0} MB",
        renders + 51 + pngs + qrs,
        peak_rss_mb()
    );
    Ok(())
}

/// A Saudi simplified tax invoice: the 1-page order with its ZATCA QR code, the TLV, base64 and
/// QR code made inside the timing as a render makes them, each with its own time stamp (so no
/// QR image comes from Typst's memoization). Returns how many renders it made.
fn zatca_qr(order: &shopbip::order::Order, renders: usize) -> anyhow::Result<usize> {
    use shopbip::invoice::data::{SellerInfo, build};
    use shopbip::invoice::zatca::{self, Fields, ZatcaPrint};
    use shopbip::invoice::{DEFAULT_TEMPLATE, Formats, Renderer};
    let seller = SellerInfo {
        name: "شركة أكمي للتجارة".into(),
        address: "King Fahd Road, Riyadh 12271".into(),
        tax_id: "310122393500003".into(),
        language: "ar".into(),
        ..SellerInfo::default()
    };
    let mut times = Vec::with_capacity(renders);
    let mut size = 0usize;
    for i in 0..renders {
        let mut data = build(order, &seller, &format!("INV-Q{i:06}"), None);
        data.zatca = Some(ZatcaPrint::default());
        let t = Instant::now();
        let fields = Fields {
            seller_name: seller.name.clone(),
            vat_number: seller.tax_id.clone(),
            timestamp: format!(
                "2026-11-20T{:02}:{:02}:{:02}Z",
                i / 3600 % 24,
                i / 60 % 60,
                i % 60
            ),
            total: "1150.00".into(),
            vat_total: "150.00".into(),
        };
        let svg = zatca::qr_svg(&fields.base64()?)?;
        let out = Renderer::shared().render_with_assets(
            DEFAULT_TEMPLATE,
            &data,
            &[(zatca::QR_PATH, svg.as_slice())],
            Formats::PDF,
        )?;
        times.push(t.elapsed());
        size = size.max(out.pdf.map_or(0, |pdf| pdf.len()));
    }
    times.sort_unstable();
    println!(
        "1-page Saudi invoice with its ZATCA QR code (ar) x{renders}: p50={:.1}ms p90={:.1}ms \
         p99={:.1}ms max PDF {} bytes",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        size
    );
    Ok(renders)
}
