//! `console/*`: the web console the daemon serves on its port.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Method, NoParams};

/// `console/login`: a one-time code that signs a browser in to the console.
pub struct Login;
impl Method for Login {
    const NAME: &'static str = "console/login";
    const SUMMARY: &'static str =
        "A one-time code (valid a minute) that signs a browser in to the console, and a private file that opens it.";
    type Params = NoParams;
    type Result = ConsoleLogin;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConsoleLogin {
    /// The console's address, without the code: `http://127.0.0.1:PORT/console/`.
    pub url: String,
    /// The one-time code; the browser takes it in the URL's fragment
    /// (`#login=CODE`), which is never sent to a server.
    pub code: String,
    pub expires_in_secs: u32,
    /// A page in the daemon's private runtime folder that forwards the browser
    /// to the console with the code: what to open, so the code never appears on
    /// a command line other users can read. Removed once the code is used or expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_file: Option<String>,
}
