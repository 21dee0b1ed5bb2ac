//! The SQL of the console's reads, composed from the filters present: each filter becomes one
//! plain condition (`j.store_id = $1`, `j.state = $2`, …) that the planner can match to an
//! index, rather than `$1 IS NULL OR …`, which no index answers. Values are always bound,
//! numbered `$1`, `$2`, … in the order they appear, which both backends read alike.

use serde::Deserialize;

use super::keys::Search;
use super::{MessageQuery, MessageRow};
use crate::jobs::StoreError;
use crate::jobs::sql::parse_state;
use crate::telemetry::{mask_phone, redact_phones};

/// A bound value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

/// A composed statement and its values in placeholder order.
#[derive(Debug, Clone)]
pub(crate) struct Select {
    pub sql: String,
    pub binds: Vec<Bind>,
}

/// What a select returns: the list's rows, or only the job ids (retry all shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returning {
    Rows,
    Ids,
}

const ROWS: &str = "SELECT j.id, j.created_at, j.store_id, j.order_id, j.kind, j.rule_json, j.state, \
     j.last_error, j.attempts, j.max_attempts, j.run_at, e.order_json, j.steps_json \
     FROM jobs j JOIN events e ON e.id = j.event_id";

const IDS: &str = "SELECT j.id FROM jobs j";

/// What retry-now reads to decide (scope, state, due time).
pub(crate) const JOB_PLACE: &str = "SELECT store_id, state, run_at FROM jobs WHERE id = $1";

/// A queued job waiting for its backoff becomes due now; only if it still is.
pub(crate) const RUN_NOW: &str = "UPDATE jobs SET run_at = $1, updated_at = $1 \
     WHERE id = $2 AND state = 'queued' AND run_at > $1";

/// The first job id whose `created_at` is `$1` or later (one above the last id if none; NULL
/// without jobs): a binary search over the primary key, run by the database in one statement
/// (some 20 probes of the index for a million jobs, no round trip each). The span comes from
/// two subqueries: SQLite answers a lone `MIN` or `MAX` from the index, both together by
/// reading every row.
pub(crate) const FIRST_ID_AT: &str = "WITH RECURSIVE b(lo, hi) AS (\
     SELECT (SELECT MIN(id) FROM jobs), (SELECT MAX(id) FROM jobs) + 1 \
     UNION ALL SELECT \
     CASE WHEN (SELECT created_at FROM jobs WHERE id >= (lo + hi) / 2 ORDER BY id LIMIT 1) < $1 \
     THEN (SELECT id FROM jobs WHERE id >= (lo + hi) / 2 ORDER BY id LIMIT 1) + 1 ELSE lo END, \
     CASE WHEN (SELECT created_at FROM jobs WHERE id >= (lo + hi) / 2 ORDER BY id LIMIT 1) < $1 \
     THEN hi ELSE (lo + hi) / 2 END \
     FROM b WHERE lo < hi) \
     SELECT MAX(lo) FROM b";

/// Job ids bounding a date range (see `messages::id_bounds`): from `from`, below `to`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IdBounds {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// The statement for `query`'s filters in one store (`store`, already checked against the
/// scope) or in every store (`None`), newest first, at most `limit` rows.
pub(crate) fn select(
    query: &MessageQuery,
    store: Option<&str>,
    search: Option<&Search>,
    ids: IdBounds,
    returning: Returning,
    limit: i64,
) -> Select {
    let mut binds = Vec::new();
    let mut param = |b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    // With a search, its indexes find a handful of jobs, while walking a store or a state
    // newest first would read all of theirs: `|| ''` keeps SQLite's planner (it keeps no
    // statistics) from taking their index then. PostgreSQL's estimates choose the same alone.
    let column = |c: &str| match search {
        Some(_) => format!("(j.{c} || '')"),
        None => format!("j.{c}"),
    };
    let mut conds = Vec::new();
    if let Some(store) = store {
        let p = param(Bind::Text(store.to_owned()));
        conds.push(format!("{} = {p}", column("store_id")));
    }
    if let Some(state) = query.state {
        let p = param(Bind::Text(state.as_str().into()));
        conds.push(format!("{} = {p}", column("state")));
    }
    if let Some(kind) = query.event {
        conds.push(format!(
            "j.kind = {}",
            param(Bind::Text(kind.as_str().into()))
        ));
    }
    if let Some(from) = query.created_from {
        conds.push(format!("j.created_at >= {}", param(Bind::Int(from))));
    }
    if let Some(to) = query.created_to {
        conds.push(format!("j.created_at < {}", param(Bind::Int(to))));
    }
    if let Some(s) = search {
        // Each alternative has an index of its own, so the planner can answer the OR as a
        // union of index lookups.
        let mut any = vec![format!(
            "j.order_id = {}",
            param(Bind::Text(s.order_id.clone()))
        )];
        if let Some(r) = &s.order_ref {
            any.push(format!("j.order_ref = {}", param(Bind::Text(r.clone()))));
        }
        if let Some((from, to)) = &s.phone {
            let mut range = format!("j.phone_rev >= {}", param(Bind::Text(from.clone())));
            if let Some(to) = to {
                range += &format!(" AND j.phone_rev < {}", param(Bind::Text(to.clone())));
            }
            any.push(format!("({range})"));
        }
        conds.push(format!("({})", any.join(" OR ")));
    }
    // A date range's id bounds make it a range of the indexes, which all end with the id; the
    // `created_at` conditions above still decide each row.
    if let Some(from) = ids.from {
        conds.push(format!("j.id >= {}", param(Bind::Int(from))));
    }
    let below = match (query.before_id, ids.to) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(before) = below {
        conds.push(format!("j.id < {}", param(Bind::Int(before))));
    }
    let mut sql = match returning {
        Returning::Rows => ROWS,
        Returning::Ids => IDS,
    }
    .to_owned();
    if !conds.is_empty() {
        sql += " WHERE ";
        sql += &conds.join(" AND ");
    }
    // The limit written out: PostgreSQL's generic plan for a prepared statement would otherwise
    // guess at it.
    sql += &format!(" ORDER BY j.id DESC LIMIT {limit}");
    Select { sql, binds }
}

/// A row of `ROWS` as both backends decode it.
#[derive(sqlx::FromRow)]
pub(crate) struct MessageRecord {
    id: i64,
    created_at: i64,
    store_id: String,
    order_id: String,
    kind: String,
    rule_json: String,
    state: String,
    last_error: Option<String>,
    attempts: i64,
    max_attempts: i64,
    run_at: i64,
    order_json: String,
    steps_json: String,
}

/// What a list row needs of the stored order: serde skips the rest (lines, totals, addresses)
/// without building it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OrderGlance {
    number: String,
    name: String,
    customer: CustomerGlance,
    billing: Option<PhoneGlance>,
    shipping: Option<PhoneGlance>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CustomerGlance {
    first_name: String,
    phone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PhoneGlance {
    phone: Option<String>,
}

#[derive(Deserialize)]
struct RuleGlance {
    template_id: u64,
}

/// The template the send went with, once it did (a rule with `template_ids` sends its
/// language's): what the list shows before the rule's own.
#[derive(Deserialize, Default)]
#[serde(default)]
struct StepsGlance {
    template_id: Option<u64>,
}

impl TryFrom<MessageRecord> for MessageRow {
    type Error = StoreError;

    fn try_from(r: MessageRecord) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what}: {e}"));
        let order: OrderGlance =
            serde_json::from_str(&r.order_json).map_err(|e| corrupt("order_json", &e))?;
        let rule: RuleGlance =
            serde_json::from_str(&r.rule_json).map_err(|e| corrupt("rule_json", &e))?;
        let phone = [
            order.billing.and_then(|a| a.phone),
            order.shipping.and_then(|a| a.phone),
            order.customer.phone,
        ]
        .into_iter()
        .flatten()
        .find(|p| !p.trim().is_empty());
        let order_name = if order.name.trim().is_empty() {
            order.number
        } else {
            order.name
        };
        Ok(MessageRow {
            id: r.id,
            created_at: r.created_at,
            store_id: r.store_id,
            order_id: r.order_id,
            order_name,
            first_name: order.customer.first_name,
            phone: phone.as_deref().map(mask_phone),
            event: r.kind.parse().map_err(|e: String| corrupt("kind", &e))?,
            // Unreadable steps are not a corrupt row: the rule's template is shown.
            template_id: serde_json::from_str::<StepsGlance>(&r.steps_json)
                .unwrap_or_default()
                .template_id
                .unwrap_or(rule.template_id),
            state: parse_state(r.state)?,
            reason: r.last_error.as_deref().map(redact_phones),
            attempts: r.attempts as u32,
            max_attempts: r.max_attempts as u32,
            run_at: r.run_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobState;
    use crate::jobs::messages::StoreScope;
    use crate::order::EventKind;

    #[test]
    fn only_the_filters_present_become_conditions_numbered_in_order() {
        let all = MessageQuery::new(StoreScope::All);
        let bare = select(&all, None, None, IdBounds::default(), Returning::Ids, 51);
        assert_eq!(
            bare.sql,
            "SELECT j.id FROM jobs j ORDER BY j.id DESC LIMIT 51"
        );
        assert_eq!(bare.binds, vec![]);

        let q = MessageQuery {
            state: Some(JobState::Dead),
            event: Some(EventKind::OrderPaid),
            created_from: Some(10),
            created_to: Some(20),
            before_id: Some(99),
            ..all
        };
        let ids = IdBounds {
            from: Some(5),
            to: Some(120),
        };
        let plain = select(&q, Some("acme"), None, ids, Returning::Rows, 51);
        assert!(
            plain.sql.ends_with(
                "WHERE j.store_id = $1 AND j.state = $2 AND j.kind = $3 AND j.created_at >= $4 \
                 AND j.created_at < $5 AND j.id >= $6 AND j.id < $7 ORDER BY j.id DESC LIMIT 51"
            ),
            "{}",
            plain.sql
        );
        assert_eq!(
            plain.binds[6],
            Bind::Int(99),
            "the cursor is below the range's end"
        );
        assert!(!plain.sql.contains("IS NULL"));

        let s = super::super::keys::search("6277");
        let search = select(&q, Some("acme"), s.as_ref(), ids, Returning::Rows, 51);
        assert!(
            search.sql.ends_with(
                "WHERE (j.store_id || '') = $1 AND (j.state || '') = $2 AND j.kind = $3 \
                 AND j.created_at >= $4 AND j.created_at < $5 AND (j.order_id = $6 OR \
                 j.order_ref = $7 OR (j.phone_rev >= $8 AND j.phone_rev < $9)) AND j.id >= $10 \
                 AND j.id < $11 ORDER BY j.id DESC LIMIT 51"
            ),
            "{}",
            search.sql
        );
        assert_eq!(search.binds.len(), 11);
    }
}
