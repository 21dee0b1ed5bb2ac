//! The job store on PostgreSQL, for several replicas sharing one database: claims with
//! `FOR UPDATE SKIP LOCKED`, the same dedupe keys as unique constraints, per-store advisory locks
//! for invoice numbers, and a shared pacing table so replicas do not multiply the send rate.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::sqlite::replayed_steps;
use super::{
    EventRecord, Failure, IngestOutcome, JOB_SELECT, Job, JobFilter, JobRow, JobState, JobStore,
    NewEvent, ReplayOutcome, RetryPolicy, SlotWait, StoreError, StoreStats, parse_state, to_json,
};
use crate::clock::now_ms;

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    policy: RetryPolicy,
}

impl PgStore {
    pub async fn open(url: &str, policy: RetryPolicy) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool, policy })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl JobStore for PgStore {
    async fn ingest(&self, event: NewEvent) -> Result<IngestOutcome, StoreError> {
        let now = now_ms();
        let order_json = to_json(&event.order)?;
        let mut tx = self.pool.begin().await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO events (store_id, platform, delivery_key, topic, kind, order_id, order_json, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (store_id, delivery_key) DO NOTHING RETURNING id",
        )
        .bind(&event.store_id)
        .bind(&event.platform)
        .bind(&event.delivery_key)
        .bind(&event.topic)
        .bind(event.kind.as_str())
        .bind(&event.order.id)
        .bind(&order_json)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(event_id) = inserted else {
            tx.commit().await?;
            return Ok(IngestOutcome::DuplicateDelivery);
        };
        let (mut created, mut existing) = (0, 0);
        for rule in &event.rules {
            let done = sqlx::query(
                "INSERT INTO jobs (event_id, store_id, order_id, kind, rule_key, rule_json, state, \
                 max_attempts, run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $8, $8) \
                 ON CONFLICT (store_id, order_id, kind, rule_key) DO NOTHING",
            )
            .bind(event_id)
            .bind(&event.store_id)
            .bind(&event.order.id)
            .bind(rule.on.as_str())
            .bind(rule.key())
            .bind(to_json(rule)?)
            .bind(self.policy.max_attempts as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                created += 1;
            } else {
                existing += 1;
            }
        }
        tx.commit().await?;
        Ok(IngestOutcome::Stored {
            event_id,
            jobs_created: created,
            jobs_existing: existing,
        })
    }

    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let now = now_ms();
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $3 \
                          ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(worker)
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{JOB_SELECT} WHERE j.id = ANY($1) ORDER BY j.run_at, j.id");
        let rows = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    async fn renew(&self, job_id: i64, worker: &str, lease: Duration) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET locked_until = $1, updated_at = $2 \
             WHERE id = $3 AND locked_by = $4 AND state = 'running'",
        )
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn save_steps(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET steps_json = $1, updated_at = $2 \
             WHERE id = $3 AND locked_by = $4 AND state = 'running'",
        )
        .bind(steps.to_string())
        .bind(now_ms())
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish(
        &self,
        job_id: i64,
        worker: &str,
        state: JobState,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        if !matches!(state, JobState::Done | JobState::Skipped | JobState::Dead) {
            return Err(StoreError::Invalid(format!("a job cannot finish {state}")));
        }
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, last_error = $2, locked_by = NULL, locked_until = NULL, \
             updated_at = $3 WHERE id = $4 AND locked_by = $5 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(now_ms())
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        failure: Failure,
    ) -> Result<Option<JobState>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT attempts, max_attempts FROM jobs \
             WHERE id = $1 AND locked_by = $2 AND state = 'running' FOR UPDATE",
        )
        .bind(job_id)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let attempts: i64 = row.try_get(0)?;
        let max: i64 = row.try_get(1)?;
        let (state, run_at) = match failure {
            Failure::Transient { retry_after } if attempts < max => {
                let delay = self.policy.delay(attempts as u32, retry_after);
                (JobState::Queued, now + delay.as_millis() as i64)
            }
            _ => (JobState::Dead, now),
        };
        let reason = if state == JobState::Dead && matches!(failure, Failure::Transient { .. }) {
            format!("gave up after {attempts} attempts: {error}")
        } else {
            error.to_owned()
        };
        sqlx::query(
            "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, locked_by = NULL, \
             locked_until = NULL, updated_at = $4 WHERE id = $5",
        )
        .bind(state.as_str())
        .bind(run_at)
        .bind(reason)
        .bind(now)
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(state))
    }

    async fn complete(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', steps_json = $1, last_error = NULL, locked_by = NULL, \
             locked_until = NULL, updated_at = $2 WHERE id = $3 AND locked_by = $4 AND state = 'running'",
        )
        .bind(steps.to_string())
        .bind(now_ms())
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, job_id: i64, worker: &str, run_at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), run_at = $1, \
             locked_by = NULL, locked_until = NULL, updated_at = $2 \
             WHERE id = $3 AND locked_by = $4 AND state = 'running'",
        )
        .bind(run_at)
        .bind(now_ms())
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn reap_expired(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET \
               state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
               last_error = 'lease expired: the worker stopped before finishing attempt ' || attempts, \
               locked_by = NULL, locked_until = NULL, run_at = $1, updated_at = $1 \
             WHERE state = 'running' AND locked_until < $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn replay(&self, job_id: i64) -> Result<ReplayOutcome, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT state, steps_json FROM jobs WHERE id = $1 FOR UPDATE")
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(ReplayOutcome::NotFound);
        };
        let state = parse_state(row.try_get(0)?)?;
        if !matches!(state, JobState::Done | JobState::Dead | JobState::Skipped) {
            tx.commit().await?;
            return Ok(ReplayOutcome::NotFinished(state));
        }
        let steps = replayed_steps(&row.try_get::<String, _>(1)?);
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, last_error = NULL, \
             steps_json = $2, replays = replays + 1, updated_at = $1 WHERE id = $3",
        )
        .bind(now)
        .bind(steps)
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ReplayOutcome::Requeued)
    }

    async fn get(&self, job_id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("{JOB_SELECT} WHERE j.id = $1");
        let row = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Job::try_from).transpose()
    }

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "{JOB_SELECT} WHERE ($1::TEXT IS NULL OR j.store_id = $1) AND ($2::TEXT IS NULL OR j.state = $2) \
             AND ($3::TEXT IS NULL OR j.order_id = $3) AND ($4::BIGINT IS NULL OR j.id < $4) \
             ORDER BY j.id DESC LIMIT $5"
        );
        let rows = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(filter.store_id.as_deref())
            .bind(filter.state.map(JobState::as_str))
            .bind(filter.order_id.as_deref())
            .bind(filter.before_id)
            .bind(filter.limit.clamp(1, 1000) as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    async fn count_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((parse_state(r.try_get(0)?)?, r.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    async fn event(&self, event_id: i64) -> Result<Option<EventRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, store_id, platform, topic, delivery_key, received_at, order_json FROM events WHERE id = $1",
        )
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn store_stats(&self) -> Result<BTreeMap<String, StoreStats>, StoreError> {
        let mut stats: BTreeMap<String, StoreStats> = BTreeMap::new();
        for r in sqlx::query("SELECT store_id, MAX(received_at) FROM events GROUP BY store_id")
            .fetch_all(&self.pool)
            .await?
        {
            stats.entry(r.try_get(0)?).or_default().last_webhook_at = r.try_get(1)?;
        }
        for r in sqlx::query(
            "SELECT store_id, state, COUNT(*), MAX(updated_at) FROM jobs GROUP BY store_id, state",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let entry = stats.entry(r.try_get(0)?).or_default();
            let state: String = r.try_get(1)?;
            if state == "done" {
                entry.last_send_at = r.try_get(3)?;
            }
            entry.jobs.insert(state, r.try_get::<i64, _>(2)? as u64);
        }
        Ok(stats)
    }

    async fn invoice_number(&self, store_id: &str, order_id: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One allocator per store at a time, across every replica: the sequence stays gapless.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopbip-invoice:' || $1))")
            .bind(store_id)
            .execute(&mut *tx)
            .await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT number FROM invoice_numbers WHERE store_id = $1 AND order_id = $2",
        )
        .bind(store_id)
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?;
        let number = match existing {
            Some(n) => n,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO invoice_numbers (store_id, order_id, number, created_at) \
                     SELECT $1, $2, COALESCE(MAX(number), 0) + 1, $3 FROM invoice_numbers \
                     WHERE store_id = $1 RETURNING number",
                )
                .bind(store_id)
                .bind(order_id)
                .bind(now_ms())
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        Ok(number as u64)
    }

    async fn reserve_send_slot(
        &self,
        account: &str,
        interval: Duration,
        max_wait: Duration,
    ) -> Result<Option<SlotWait>, StoreError> {
        let now = now_ms();
        let step = interval.as_millis().max(1) as i64;
        sqlx::query("INSERT INTO pacing (account, next_at) VALUES ($1, $2) ON CONFLICT (account) DO NOTHING")
            .bind(account)
            .bind(now)
            .execute(&self.pool)
            .await?;
        // GCRA in one statement: take the slot if it comes within max_wait.
        let slot: Option<i64> = sqlx::query_scalar(
            "UPDATE pacing SET next_at = GREATEST(next_at, $2) + $3 \
             WHERE account = $1 AND next_at - $2 <= $4 \
             RETURNING next_at - $3",
        )
        .bind(account)
        .bind(now)
        .bind(step)
        .bind(max_wait.as_millis() as i64)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(slot) = slot {
            return Ok(Some(SlotWait::Go(Duration::from_millis(
                (slot - now).max(0) as u64,
            ))));
        }
        let next: i64 = sqlx::query_scalar("SELECT next_at FROM pacing WHERE account = $1")
            .bind(account)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(SlotWait::Later(Duration::from_millis(
            (next - now).max(0) as u64,
        ))))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
