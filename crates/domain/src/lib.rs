//! ctxd's pure core: the entities, the source status machine, the ports that
//! adapters implement and the use-case services that REST (and later gRPC) call.
//!
//! Nothing here performs I/O or knows about a runtime, a database or HTTP: adapters
//! depend on this crate, never the other way round.

pub mod error;
pub mod ids;
pub mod model;
pub mod ports;
pub mod secret;
pub mod services;
pub mod state;

pub use error::{Error, ErrorKind, FieldError, Result};
