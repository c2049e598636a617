//! The end-to-end suite lives in `tests/e2e.rs`; this library is empty.
