//! Reconciliation of bigcommerce stores: see `super`.
