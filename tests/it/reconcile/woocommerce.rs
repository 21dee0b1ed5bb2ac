//! Reconciliation of woocommerce stores: see `super`.
