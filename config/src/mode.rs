//! Which [`Mode`] the gateway runs in: the file's `mode:` or the `PORTCULLIS_MODE`
//! environment variable, the stricter of the two.
//!
//! Operators set production in the deployment (a container's environment) as often as in the
//! file. The variable can only tighten: `PORTCULLIS_MODE=development` never relaxes a file
//! that says `mode: production`, so a stray variable cannot switch the production rules off.

use crate::Mode;
use crate::check::Checker;

/// The environment variable that can put the gateway in production mode.
pub const MODE_ENV: &str = "PORTCULLIS_MODE";

impl Checker<'_> {
    /// The effective mode: production if either the file or [`MODE_ENV`] says so.
    pub(crate) fn mode(&mut self, file: Option<Mode>) -> Mode {
        let file = file.unwrap_or_default();
        let from_env = match (self.env)(MODE_ENV).as_deref().map(str::trim) {
            None | Some("") => None,
            Some("production") => Some(Mode::Production),
            Some("development") => Some(Mode::Development),
            Some(_) => {
                // The value is not echoed: it is the operator's environment, not the file.
                self.problem::<()>(
                    MODE_ENV,
                    None,
                    "must be `production` or `development` when set",
                );
                // An unreadable intent is treated as the strict one.
                Some(Mode::Production)
            }
        };
        match (file, from_env) {
            (Mode::Production, _) | (_, Some(Mode::Production)) => Mode::Production,
            _ => Mode::Development,
        }
    }
}
