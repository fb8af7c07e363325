//! Shared pieces of the load generators.
