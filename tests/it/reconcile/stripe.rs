//! Reconciliation of stripe stores: see `super`.
