//! The send-slot ledger replicas share. Pacing itself is the worker's (`worker::pacer` decides
//! when to send, and paces in-process when there is no ledger or it fails); a backend offers
//! this only where several processes share its database (PostgreSQL).

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// A reserved send slot: sleep this long, then send; or come back after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotWait {
    Go(Duration),
    Later(Duration),
}

#[async_trait]
pub trait SendSlots: Send + Sync {
    /// Takes the account's next send slot, one per `interval`, if it comes within `max_wait`;
    /// else says how long until it would.
    async fn reserve_send_slot(
        &self,
        account: &str,
        interval: Duration,
        max_wait: Duration,
    ) -> Result<SlotWait, StoreError>;
}
