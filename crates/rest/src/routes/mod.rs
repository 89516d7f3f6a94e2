//! Route handlers, one module per resource. Each handler extracts, converts to the
//! domain, calls one use case and converts back: no rules live here.

pub mod api_keys;
pub mod collections;
pub mod events;
pub mod operations;
pub mod outputs;
pub mod postbacks;
pub mod sources;
pub mod spaces;
pub mod uploads;
