//! Deliveries, write-backs, opt-outs and Buzzbip's events on PostgreSQL: replicas claim with
//! `FOR UPDATE SKIP LOCKED`, as for jobs.

use std::time::Duration;

use async_trait::async_trait;

use super::PgStore;
use crate::jobs::buzzbip_events::{
    BuzzbipEventRecord, BuzzbipEvents, CLAIM_EVENTS_POSTGRES, FINISH_EVENT, GET_EVENT_BY_ID,
    NewBuzzbipEvent, STORE_EVENT,
};
use crate::jobs::delivery::{
    CLAIM_POLLS_POSTGRES, CLAIM_WRITEBACKS_POSTGRES, Deliveries, DeliveryUpdate, RECORD_DELIVERY,
    RECORD_WRITEBACK, SENT_TO, phone_range,
};
use crate::jobs::optouts::{IS_OPTED_OUT, LIST_OPT_OUTS, OPT_IN, OPT_OUT, OptOutRecord, OptOuts};
use crate::jobs::sql::{JOB_SELECT, JobRow};
use crate::jobs::{Job, StoreError};

impl PgStore {
    async fn claim_ids(
        &self,
        sql: &'static str,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn jobs_by_ids(&self, ids: &[i64]) -> Result<Vec<Job>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{JOB_SELECT} WHERE j.id = ANY($1) ORDER BY j.id");
        let rows = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Job::try_from).collect()
    }
}

#[async_trait]
impl Deliveries for PgStore {
    async fn claim_polls(
        &self,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let ids = self
            .claim_ids(CLAIM_POLLS_POSTGRES, now, lease, limit)
            .await?;
        self.jobs_by_ids(&ids).await
    }

    async fn record_delivery(
        &self,
        job_id: i64,
        u: &DeliveryUpdate,
        expected_json: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(RECORD_DELIVERY)
            .bind(u.state.as_deref())
            .bind(u.at)
            .bind(u.poll_at)
            .bind(i64::from(u.polls))
            .bind(&u.json)
            .bind(u.writeback_at)
            .bind(job_id)
            .bind(expected_json)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
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
            .claim_ids(CLAIM_WRITEBACKS_POSTGRES, now, lease, limit)
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
        let done = sqlx::query(RECORD_WRITEBACK)
            .bind(at)
            .bind(json)
            .bind(job_id)
            .bind(expected_json)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl OptOuts for PgStore {
    async fn opt_out(
        &self,
        store_id: &str,
        phone: &str,
        source: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(OPT_OUT)
            .bind(store_id)
            .bind(phone)
            .bind(source)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn opt_in(&self, store_id: &str, phone: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(OPT_IN)
            .bind(store_id)
            .bind(phone)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
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
impl BuzzbipEvents for PgStore {
    async fn store_buzzbip_event(&self, e: &NewBuzzbipEvent) -> Result<bool, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(STORE_EVENT)
            .bind(&e.store_id)
            .bind(&e.event_id)
            .bind(&e.kind)
            .bind(&e.body)
            .bind(e.received_at)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.is_some())
    }

    async fn claim_buzzbip_events(
        &self,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<BuzzbipEventRecord>, StoreError> {
        let ids = self
            .claim_ids(CLAIM_EVENTS_POSTGRES, now, lease, limit)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT id, store_id, event_id, type, body, received_at, processed_at, outcome \
             FROM buzzbip_events WHERE id = ANY($1) ORDER BY id",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn finish_buzzbip_event(
        &self,
        id: i64,
        now: i64,
        outcome: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(FINISH_EVENT)
            .bind(now)
            .bind(outcome)
            .bind(id)
            .execute(&self.pool)
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
