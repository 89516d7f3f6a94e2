//! The composition root of ctxd: configuration, wiring of the adapters, and the
//! application lifecycle used by the `ctxd` binary and by the end-to-end tests.

pub mod app;
pub mod config;
pub mod extract;
pub mod metered;
pub mod private_file;
pub mod worker;

pub use app::Application;
pub use config::Config;
