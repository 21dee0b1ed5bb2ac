//! Reconciliation of shopify stores: see `super`.
