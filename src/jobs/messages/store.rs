//! `Messages` for a backend whose sqlx pool is its field `pool`: the reads are the same
//! statements bound the same way on both, so they are written once, like `impl_job_reads!`.
//! The one write (`RUN_NOW`) goes the backend's own way: its inherent `run_now_write`.
//!
//! The composed selects are not kept as prepared statements (`persistent(false)`): PostgreSQL
//! then plans each with its values. A kept statement goes over to a generic plan after five
//! runs, which cannot tell a 4-digit phone suffix (a hundred jobs) from a wide range, and
//! walked the whole table newest first for it (270 ms instead of 1 ms at a million jobs).

/// Implements `MessageSource` and `Messages` for `$store`.
macro_rules! impl_messages {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::jobs::messages::MessageSource for $store {
            async fn select_rows(
                &self,
                select: &$crate::jobs::messages::Select,
            ) -> Result<Vec<$crate::jobs::messages::MessageRow>, $crate::jobs::StoreError> {
                use $crate::jobs::messages::Bind;
                let mut query = sqlx::query_as::<_, $crate::jobs::messages::MessageRecord>(
                    sqlx::AssertSqlSafe(select.sql.clone()),
                )
                .persistent(false);
                for bind in &select.binds {
                    query = match bind {
                        Bind::Text(s) => query.bind(s.clone()),
                        Bind::Int(i) => query.bind(*i),
                    };
                }
                query
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map($crate::jobs::messages::MessageRow::try_from)
                    .collect()
            }

            async fn select_ids(
                &self,
                select: &$crate::jobs::messages::Select,
            ) -> Result<Vec<i64>, $crate::jobs::StoreError> {
                use $crate::jobs::messages::Bind;
                let mut query =
                    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(select.sql.clone()))
                        .persistent(false);
                for bind in &select.binds {
                    query = match bind {
                        Bind::Text(s) => query.bind(s.clone()),
                        Bind::Int(i) => query.bind(*i),
                    };
                }
                Ok(query.fetch_all(&self.pool).await?)
            }

            async fn job_place(
                &self,
                job_id: i64,
            ) -> Result<Option<(String, $crate::jobs::JobState, i64)>, $crate::jobs::StoreError>
            {
                let row: Option<(String, String, i64)> =
                    sqlx::query_as($crate::jobs::messages::JOB_PLACE)
                        .bind(job_id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(|(store, state, run_at)| {
                    Ok((store, $crate::jobs::sql::parse_state(state)?, run_at))
                })
                .transpose()
            }

            async fn run_now(
                &self,
                job_id: i64,
                now: i64,
            ) -> Result<bool, $crate::jobs::StoreError> {
                self.run_now_write(job_id, now).await
            }

            async fn first_id_at(&self, t: i64) -> Result<Option<i64>, $crate::jobs::StoreError> {
                Ok(sqlx::query_scalar($crate::jobs::messages::FIRST_ID_AT)
                    .bind(t)
                    .fetch_one(&self.pool)
                    .await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::jobs::messages::Messages for $store {
            async fn messages(
                &self,
                query: &$crate::jobs::messages::MessageQuery,
            ) -> Result<$crate::jobs::messages::MessagePage, $crate::jobs::StoreError> {
                $crate::jobs::messages::messages(self, query).await
            }

            async fn retry_now(
                &self,
                scope: &$crate::jobs::messages::StoreScope,
                job_id: i64,
            ) -> Result<$crate::jobs::messages::RetryNow, $crate::jobs::StoreError> {
                $crate::jobs::messages::retry_now(self, scope, job_id).await
            }

            async fn replay_in_scope(
                &self,
                scope: &$crate::jobs::messages::StoreScope,
                job_id: i64,
            ) -> Result<$crate::jobs::ReplayOutcome, $crate::jobs::StoreError> {
                $crate::jobs::messages::replay_in_scope(self, scope, job_id).await
            }

            async fn replay_shown(
                &self,
                query: &$crate::jobs::messages::MessageQuery,
            ) -> Result<$crate::jobs::messages::ReplayedShown, $crate::jobs::StoreError> {
                $crate::jobs::messages::replay_shown(self, query).await
            }
        }
    };
}
pub(crate) use impl_messages;
