//! Empty on purpose: this package exists for its `it` test binary (see `it/main.rs`).
