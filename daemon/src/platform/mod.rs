//! The machine under the daemon: where its files are, its configuration, its
//! database, its logs, the OS keyring, every OS-specific call ([`os`]), and the
//! timing of every poll on the async runtime ([`stalls`]), and the thread that
//! runs work in order off it ([`serial`]).
//! Nothing here knows of services, the server or the fronts.

pub mod clock;
pub mod config;
pub mod http;
pub mod instance;
pub mod logging;
pub mod os;
pub mod paths;
pub mod secrets;
pub mod serial;
pub mod stalls;
pub mod store;
pub mod uri;
