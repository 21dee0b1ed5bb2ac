//! Reconciliation of standard stores: see `super`.
