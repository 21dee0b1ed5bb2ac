//! Reconciliation of shopware stores: see `super`.
