//! Partial refunds of Shopify orders: the sweep finds a refund whose `refunds/create` never
//! came (one credit note, keyed by the refund's REST id, so the webhook and the sweep agree),
//! and the worker reads from the Admin API the order a `refunds/create` names only. The
//! stand-in (`shop`) serves corpus order 1030 partly refunded.

mod shop;

use serde_json::{Value, json};
use shopbip::jobs::JobState;
use shopbip::order::EventKind;
use shopbip::reconcile::Outcome;

use super::super::{
    Reply, Seen, outcome_of, sent_per_template, stand_in, sweep, sweep_again_changes_nothing,
};
use super::{GRAPHQL, ON_CREATED, ON_PAID, STORE, ago, cost, post};
use shop::{NUMBER, ORDER, Shop, TO, refund, refund_jobs, refunding_store, sends};

#[tokio::test]
async fn a_partial_refund_whose_webhook_never_came_gets_one_credit_note_from_the_sweep() {
    let shop = Shop::default();
    shop.refund(refund(901, &ago(70 * 3600), 1).1);
    shop.refund(refund(902, &ago(3600), 2).1);
    let api = shop.api();
    let app = refunding_store(&api).await;

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    let id = ORDER.to_string();
    assert_eq!(outcome_of(&report, &id), &Outcome::Recovered { jobs: 1 });
    // The newest refund only (the event an order's state stands for), its template 1289.
    assert_eq!(
        sent_per_template(&app).await,
        [(ON_PAID, NUMBER.to_owned())]
    );
    assert_eq!(sends(&app).await, [(TO.to_owned(), true)], "a credit note");
    assert_eq!(refund_jobs(&app).await, [("902".into(), JobState::Done)]);
    let asked: Vec<Value> = api.calls(GRAPHQL).iter().map(Seen::json).collect();
    let refund_asked = asked
        .iter()
        .filter(|c| c["variables"]["id"] == "gid://shopify/Refund/902");
    assert_eq!(refund_asked.count(), 1, "the newest read whole, once");
    assert!(
        !asked
            .iter()
            .any(|c| c["variables"]["id"] == "gid://shopify/Refund/901")
    );

    // Listed again: nothing more.
    sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(sends(&app).await.len(), 1);

    // Another partial refund: its own credit note, the earlier one not again.
    shop.refund(refund(903, &ago(60), 1).1);
    let report = sweep(&app, STORE).await;
    assert_eq!(outcome_of(&report, &id), &Outcome::Recovered { jobs: 1 });
    assert_eq!(sends(&app).await.len(), 2);
    assert_eq!(
        refund_jobs(&app).await,
        [
            ("902".into(), JobState::Done),
            ("903".into(), JobState::Done)
        ]
    );
}

/// A new order paid and partly refunded, none of its webhooks come: its creation, its
/// invoice and the refund's credit note, each once.
#[tokio::test]
async fn a_new_order_already_partly_refunded_gets_each_message_its_webhooks_would_have_sent() {
    let shop = Shop {
        new: true,
        ..Shop::default()
    };
    shop.refund(refund(902, &ago(600), 1).1);
    let api = shop.api();
    let app = refunding_store(&api).await;

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    let number = || NUMBER.to_owned();
    let all = [
        (ON_PAID, number()),
        (ON_PAID, number()),
        (ON_CREATED, number()),
    ];
    assert_eq!(sent_per_template(&app).await, all);
    let mut kinds: Vec<String> = app
        .jobs()
        .await
        .iter()
        .map(|j| j.kind.to_string())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["order.created", "order.paid", "order.refunded"]);
    assert_eq!(refund_jobs(&app).await, [("902".into(), JobState::Done)]);
    sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(sent_per_template(&app).await, all);
}

/// More refunds than the listing names: they are read on their own, so the newest is not
/// the one left out.
#[tokio::test]
async fn the_newest_of_more_refunds_than_a_listing_names_gets_the_credit_note() {
    let shop = Shop::default();
    for i in 0..11 {
        shop.refund(refund(1001 + i, &ago(7200 - 60 * i as i64), 1).1);
    }
    let api = shop.api();
    let app = refunding_store(&api).await;

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(sends(&app).await.len(), 1);
    assert_eq!(refund_jobs(&app).await, [("1011".into(), JobState::Done)]);
    let asked: Vec<Value> = api.calls(GRAPHQL).iter().map(Seen::json).collect();
    let queries: Vec<&str> = asked.iter().map(|c| c["query"].as_str().unwrap()).collect();
    assert!(
        queries.iter().any(|q| q.contains("refunds(first: 100)")),
        "{queries:?}"
    );
    let newest = asked
        .iter()
        .filter(|c| c["variables"]["id"] == "gid://shopify/Refund/1011");
    assert_eq!(newest.count(), 1);
}

/// A refund of more lines than one query gives is read whole: its credit note states each.
#[tokio::test]
async fn a_refund_of_more_lines_than_a_query_gives_is_read_whole() {
    let shop = Shop::default();
    // 27 pens given back (the money), one a line.
    let mut graphql = refund(902, &ago(3600), 27).1;
    let line = refund(902, &ago(3600), 1).1["refundLineItems"]["nodes"][0].clone();
    graphql["refundLineItems"]["nodes"] = vec![line; 27].into();
    shop.refund(graphql);
    let api = shop.api();
    let app = refunding_store(&api).await;

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(sends(&app).await.len(), 1);
    let jobs = app.jobs().await;
    let refund = jobs[0].order.refund.as_ref().unwrap();
    assert_eq!(refund.lines.len(), 27);
    let asked: Vec<Value> = api.calls(GRAPHQL).iter().map(Seen::json).collect();
    let after = asked.iter().filter(|c| c["variables"]["after"] == "rl-25");
    assert_eq!(after.count(), 1, "the lines after the first 25, once");
}

#[tokio::test]
async fn a_refund_its_webhook_brought_gets_nothing_more_from_the_sweep() {
    let shop = Shop::default();
    let (rest, graphql) = refund(902, &ago(3600), 2);
    shop.refund(graphql);
    let api = shop.api();
    let app = refunding_store(&api).await;

    post(&app, "refunds/create", &rest, "w-refund-902").await;
    assert_eq!(sends(&app).await, [(TO.to_owned(), true)]);
    assert_eq!(refund_jobs(&app).await, [("902".into(), JobState::Done)]);

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    let id = ORDER.to_string();
    assert_eq!(outcome_of(&report, &id), &Outcome::AlreadyHandled);
    assert_eq!(sends(&app).await.len(), 1, "one credit note for the refund");
    assert_eq!(refund_jobs(&app).await.len(), 1);
}

#[tokio::test]
async fn a_refund_of_an_order_never_seen_is_sent_with_the_order_read_from_the_api() {
    let shop = Shop::default();
    let (rest, graphql) = refund(902, &ago(60), 2);
    shop.refund(graphql);
    let api = shop.api();
    let app = refunding_store(&api).await;

    post(&app, "refunds/create", &rest, "w-refund-only").await;
    assert_eq!(
        sent_per_template(&app).await,
        [(ON_PAID, NUMBER.to_owned())],
        "the order's number, from the API"
    );
    assert_eq!(
        sends(&app).await,
        [(TO.to_owned(), true)],
        "to the order's phone"
    );
    let jobs = app.jobs().await;
    let [job] = &jobs[..] else {
        panic!("{jobs:?}");
    };
    assert_eq!(
        (job.kind, job.state),
        (EventKind::OrderRefunded, JobState::Done)
    );
    let refund = job.order.refund.as_ref().unwrap();
    assert_eq!((refund.id.as_str(), refund.lines.len()), ("902", 1));
    let worked_from = &job.steps["order"];
    assert_eq!(worked_from["number"], NUMBER, "{worked_from}");
    assert_eq!(worked_from["refund"]["id"], "902");
    let asked: Vec<Value> = api.calls(GRAPHQL).iter().map(Seen::json).collect();
    assert_eq!(
        asked[0]["variables"]["id"],
        format!("gid://shopify/Order/{ORDER}"),
        "{asked:?}"
    );
    assert!(
        asked[0]["query"]
            .as_str()
            .unwrap()
            .contains("refunds(first:")
    );
}

#[tokio::test]
async fn an_order_the_api_does_not_know_fails_the_refund_for_good_with_the_scope() {
    let shop = Shop::default();
    let (mut rest, graphql) = refund(902, &ago(60), 2);
    rest["order_id"] = 1.into();
    shop.refund(graphql);
    let api = shop.api();
    let app = refunding_store(&api).await;

    post(&app, "refunds/create", &rest, "w-refund-gone").await;
    assert!(sends(&app).await.is_empty());
    let jobs = app.jobs().await;
    let [job] = &jobs[..] else {
        panic!("{jobs:?}");
    };
    assert_eq!(job.state, JobState::Dead, "{job:?}");
    let error = job.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("no order 1 in this shop") && error.contains("read_all_orders"),
        "{error}"
    );
    assert!(!error.contains("shpat_test"), "{error}");
}

/// Shopify throttling the order's read: the job waits the refill its cost extension names and
/// is tried again (not failed), nothing sent meanwhile.
#[tokio::test]
async fn a_throttled_order_read_is_tried_again_after_the_budget_refills() {
    let api = stand_in(|_: &Seen| {
        Reply::json(json!({
            "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }],
            "extensions": cost(300, 100, 50),
        }))
    });
    let app = refunding_store(&api).await;
    let (rest, _) = refund(902, &ago(60), 1);
    post(&app, "refunds/create", &rest, "w-refund-throttled").await;
    assert!(sends(&app).await.is_empty());
    let jobs = app.jobs().await;
    let [job] = &jobs[..] else {
        panic!("{jobs:?}");
    };
    assert_eq!((job.state, job.attempts), (JobState::Queued, 1), "{job:?}");
    let error = job.last_error.clone().unwrap_or_default();
    assert!(error.contains("throttled"), "{error}");
    let wait = job.run_at - shopbip::clock::now_ms();
    assert!(wait > 3_000, "the 4 s the budget needs: {wait} ms");
}
