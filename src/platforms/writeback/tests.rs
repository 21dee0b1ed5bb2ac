use super::note::utc;
use super::*;

/// 2026-12-03 14:02:30 UTC.
const SENT: i64 = 1_796_306_550_000;
const MIN: i64 = 60_000;

#[test]
fn the_note_reads_in_english_with_the_invoice_and_the_delivery() {
    assert_eq!(utc(SENT), ("2026-12-03".into(), "14:02".into()));
    assert_eq!(
        note_text(
            "en",
            Some("INV-000123"),
            SENT,
            Some(("delivered", SENT + MIN, None))
        ),
        "WhatsApp invoice INV-000123 sent 14:02 UTC · delivered 14:03 UTC"
    );
    assert_eq!(
        note_text("en", None, SENT, None),
        "WhatsApp message sent 14:02 UTC"
    );
    assert_eq!(
        note_text(
            "en",
            Some(" "),
            SENT,
            Some(("read", SENT + 24 * 60 * MIN, None))
        ),
        "WhatsApp message sent 14:02 UTC · read 2026-12-04 14:02 UTC"
    );
    assert_eq!(
        note_text(
            "xx",
            Some("7"),
            SENT,
            Some((
                "failed",
                SENT + MIN,
                Some("+216 96 816 277 is not on WhatsApp\n")
            ))
        ),
        "WhatsApp invoice 7 sent 14:02 UTC · failed 14:03 UTC: +216•••••277 is not on WhatsApp"
    );
}

#[test]
fn the_note_reads_in_french_agreeing_with_the_noun() {
    assert_eq!(
        note_text(
            "fr",
            Some("INV-000123"),
            SENT,
            Some(("delivered", SENT + MIN, None))
        ),
        "Facture WhatsApp INV-000123 envoyée à 14:02 UTC · remise à 14:03 UTC"
    );
    assert_eq!(
        note_text("fr", None, SENT, Some(("read", SENT + MIN, None))),
        "Message WhatsApp envoyé à 14:02 UTC · lu à 14:03 UTC"
    );
    assert_eq!(
        note_text(
            "fr",
            Some("F-9"),
            SENT,
            Some((
                "failed",
                SENT + 11 * 60 * MIN,
                Some("number 21696816277 unknown")
            ))
        ),
        "Facture WhatsApp F-9 envoyée à 14:02 UTC · échec le 2026-12-04 à 01:02 UTC : number 216•••••277 unknown"
    );
}

#[test]
fn the_note_reads_in_arabic() {
    assert_eq!(
        note_text(
            "ar",
            Some("INV-000123"),
            SENT,
            Some(("delivered", SENT + MIN, None))
        ),
        "أرسلت فاتورة واتساب INV-000123 الساعة 14:02 UTC · سلمت الساعة 14:03 UTC"
    );
    assert_eq!(
        note_text(
            "ar",
            None,
            SENT,
            Some(("failed", SENT + MIN, Some("blocked")))
        ),
        "أرسلت رسالة واتساب الساعة 14:02 UTC · فشل التسليم الساعة 14:03 UTC: blocked"
    );
}

#[test]
fn odd_states_and_times_do_not_panic_or_break_the_line() {
    let text = note_text(
        "en",
        Some("A\r\nB"),
        i64::MIN,
        Some(("some\nstate", i64::MAX, Some("x"))),
    );
    assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
    assert!(text.contains("some state"), "{text}");
    assert!(!text.contains(": x"), "a reason only for failed: {text}");
    assert_eq!(note_tag(Some("delivered")), "whatsapp-delivered");
    assert_eq!(note_tag(None), "whatsapp-sent");
    assert_eq!(note_tag(Some("!!")), "whatsapp-sent");
}

#[test]
fn a_note_is_appended_once() {
    assert_eq!(appended("", "a").as_deref(), Some("a"));
    assert_eq!(
        appended("gift wrap\n", "a").as_deref(),
        Some("gift wrap\na")
    );
    assert_eq!(appended("gift wrap\na", "a"), None);
}

#[test]
fn retry_after_reads_seconds_dates_and_reset_headers_capped() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after(&h, None), None);
    h.insert("retry-after", "2.5".parse().unwrap());
    assert_eq!(retry_after(&h, None), Some(Duration::from_millis(2500)));
    h.insert("retry-after", "99999999999999".parse().unwrap());
    assert_eq!(retry_after(&h, None), Some(MAX_RETRY_AFTER));
    h.insert("retry-after", "-1".parse().unwrap());
    assert_eq!(retry_after(&h, None), None);
    h.insert("x-reset", "1500".parse().unwrap());
    assert_eq!(
        retry_after(&h, Some("x-reset")),
        Some(Duration::from_millis(1500))
    );
    let later = std::time::SystemTime::now() + Duration::from_secs(120);
    h.insert(
        "retry-after",
        httpdate::fmt_http_date(later).parse().unwrap(),
    );
    let wait = retry_after(&h, None).unwrap();
    assert!(
        wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
        "{wait:?}"
    );
}

/// A loopback server answering every connection with `status` and `len` bytes of body.
async fn answering(status: u16, len: usize) -> Url {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&vec![b' '; len]).await;
        }
    });
    Url::parse(&format!("http://{at}/orders?page=2")).unwrap()
}

#[tokio::test]
async fn an_oversized_success_is_told_apart_and_an_errors_body_cut() {
    let fixes = Fixes {
        platform: "X",
        auth: "",
        base_key: "x.api_base_url",
        reset_ms_header: None,
    };
    let client = super::super::api::client(Duration::from_secs(5));
    let big = answering(200, 3000).await;
    let err = send_raw_bounded(client.get(big.clone()), &big, &fixes, 1000)
        .await
        .err()
        .unwrap();
    let Bounded::TooLarge { reason } = &err else {
        panic!("{err:?}")
    };
    let reason = reason.clone();
    assert!(reason.contains("over 1000 bytes"), "{reason}");
    assert!(!reason.contains("page=2"), "no query shown: {reason}");
    // Through `?` into the write-back's error: permanent, the same words.
    assert_eq!(WriteBackError::from(err), WriteBackError::Permanent(reason));
    let whole = send_bounded(client.get(big.clone()), &big, &fixes, 4000)
        .await
        .unwrap();
    assert_eq!(whole.body.len(), 3000);
    // An error's body is only read for its message: cut, never refused for its size.
    let failing = answering(503, 3000).await;
    let answer = send_raw_bounded(client.get(failing.clone()), &failing, &fixes, 1000)
        .await
        .unwrap();
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.body.len() <= 1000);
    assert!(matches!(
        send_bounded(client.get(failing.clone()), &failing, &fixes, 1000).await,
        Err(Bounded::Failed(WriteBackError::Transient { .. }))
    ));
}

#[test]
fn order_ids_stay_one_path_segment() {
    let fixes = Fixes {
        platform: "X",
        auth: "",
        base_key: "x.api_base_url",
        reset_ms_header: None,
    };
    let url = endpoint(
        "https://shop.test/wp/",
        &["orders", "1/../../admin?x=1#f"],
        &fixes,
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        "https://shop.test/wp/orders/1%2F..%2F..%2Fadmin%3Fx=1%23f"
    );
    assert!(endpoint("http://shop.test", &["a"], &fixes).is_err());
    assert!(endpoint("http://127.0.0.1:8080", &["a"], &fixes).is_ok());
}
