//! Deliveries, write-backs, opt-outs and Buzzbip's events on SQLite: writes through the writer
//! thread like every other write, reads on the pool.

use std::time::Duration;

use async_trait::async_trait;

use super::{Arg, SqliteStore};
use crate::jobs::buzzbip_events::{
    BuzzbipEventRecord, BuzzbipEvents, CLAIM_EVENTS_SQLITE, FINISH_EVENT, GET_EVENT_BY_ID,
    NewBuzzbipEvent, STORE_EVENT, events_by_ids_sql,
};
use crate::jobs::delivery::{
    CLAIM_POLLS_SQLITE, CLAIM_WRITEBACKS_SQLITE, Deliveries, DeliveryUpdate, RECORD_DELIVERY,
    RECORD_WRITEBACK, SENT_TO, phone_range,
};
use crate::jobs::optouts::{IS_OPTED_OUT, LIST_OPT_OUTS, OPT_IN, OPT_OUT, OptOutRecord, OptOuts};
use crate::jobs::sql::JobRow;
use crate::jobs::{Job, JobReads, StoreError};

impl SqliteStore {
    /// Leases the due rows of a `claim_due!`-shaped statement until `now + lease`.
    async fn claim_ids(
        &self,
        sql: &'static str,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        self.update_returning(
            sql,
            vec![
                Arg::Int(now + lease.as_millis() as i64),
                Arg::Int(now),
                Arg::Int(i64::from(limit)),
            ],
        )
        .await
    }

    /// The jobs a claim returned, in its order; one gone meanwhile is left out.
    async fn jobs_by_ids(&self, ids: &[i64]) -> Result<Vec<Job>, StoreError> {
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(job) = self.get(*id).await? {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }
}

#[async_trait]
impl Deliveries for SqliteStore {
    async fn claim_polls(
        &self,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let ids = self
            .claim_ids(CLAIM_POLLS_SQLITE, now, lease, limit)
            .await?;
        self.jobs_by_ids(&ids).await
    }

    async fn record_delivery(
        &self,
        job_id: i64,
        u: &DeliveryUpdate,
        expected_json: &str,
    ) -> Result<bool, StoreError> {
        self.update_one(
            RECORD_DELIVERY,
            vec![
                Arg::OptText(u.state.clone()),
                opt_int(u.at),
                opt_int(u.poll_at),
                Arg::Int(i64::from(u.polls)),
                Arg::Text(u.json.clone()),
                opt_int(u.writeback_at),
                Arg::Int(job_id),
                Arg::Text(expected_json.to_owned()),
            ],
        )
        .await
    }

    async fn sent_to(
        &self,
        store_id: &str,
        to: &str,
        from: i64,
        until: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let Some((low, high)) = phone_range(to) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query_as::<_, JobRow>(SENT_TO)
            .bind(store_id)
            .bind(low)
            .bind(high)
            .bind(from)
            .bind(until)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    async fn claim_writebacks(
        &self,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let ids = self
            .claim_ids(CLAIM_WRITEBACKS_SQLITE, now, lease, limit)
            .await?;
        self.jobs_by_ids(&ids).await
    }

    async fn record_writeback(
        &self,
        job_id: i64,
        at: Option<i64>,
        json: &str,
        expected_json: &str,
    ) -> Result<bool, StoreError> {
        self.update_one(
            RECORD_WRITEBACK,
            vec![
                opt_int(at),
                Arg::Text(json.to_owned()),
                Arg::Int(job_id),
                Arg::Text(expected_json.to_owned()),
            ],
        )
        .await
    }
}

#[async_trait]
impl OptOuts for SqliteStore {
    async fn opt_out(
        &self,
        store_id: &str,
        phone: &str,
        source: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .update(
                OPT_OUT,
                vec![
                    Arg::Text(store_id.to_owned()),
                    Arg::Text(phone.to_owned()),
                    Arg::Text(source.to_owned()),
                    Arg::Int(now),
                ],
            )
            .await?;
        Ok(changed.rows > 0)
    }

    async fn opt_in(&self, store_id: &str, phone: &str) -> Result<bool, StoreError> {
        let changed = self
            .update(
                OPT_IN,
                vec![Arg::Text(store_id.to_owned()), Arg::Text(phone.to_owned())],
            )
            .await?;
        Ok(changed.rows > 0)
    }

    async fn is_opted_out(&self, store_id: &str, phone: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(IS_OPTED_OUT)
            .bind(store_id)
            .bind(phone)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn opt_outs(&self, store_id: &str, limit: u32) -> Result<Vec<OptOutRecord>, StoreError> {
        Ok(sqlx::query_as(LIST_OPT_OUTS)
            .bind(store_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }
}

#[async_trait]
impl BuzzbipEvents for SqliteStore {
    async fn store_buzzbip_event(&self, e: &NewBuzzbipEvent) -> Result<bool, StoreError> {
        let ids = self
            .update_returning(
                STORE_EVENT,
                vec![
                    Arg::Text(e.store_id.clone()),
                    Arg::Text(e.event_id.clone()),
                    Arg::Text(e.kind.clone()),
                    Arg::Text(e.body.clone()),
                    Arg::Int(e.received_at),
                ],
            )
            .await?;
        Ok(!ids.is_empty())
    }

    async fn claim_buzzbip_events(
        &self,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<BuzzbipEventRecord>, StoreError> {
        let ids = self
            .claim_ids(CLAIM_EVENTS_SQLITE, now, lease, limit)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = events_by_ids_sql(ids.len());
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in &ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn finish_buzzbip_event(
        &self,
        id: i64,
        now: i64,
        outcome: &str,
    ) -> Result<(), StoreError> {
        self.update(
            FINISH_EVENT,
            vec![Arg::Int(now), Arg::Text(outcome.to_owned()), Arg::Int(id)],
        )
        .await?;
        Ok(())
    }

    async fn buzzbip_event(
        &self,
        store_id: &str,
        event_id: &str,
    ) -> Result<Option<BuzzbipEventRecord>, StoreError> {
        Ok(sqlx::query_as(GET_EVENT_BY_ID)
            .bind(store_id)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?)
    }
}

fn opt_int(v: Option<i64>) -> Arg {
    match v {
        Some(v) => Arg::Int(v),
        None => Arg::OptText(None),
    }
}
