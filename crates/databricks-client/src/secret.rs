//! A string that never prints.

use std::fmt;

/// A credential (personal access token, OAuth client secret, access token).
///
/// `Debug` and `Display` print `***`; the only way to the text is [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`; from here on it prints as `***`.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret text, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the secret in `text` with `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.0, "***")
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(secret: &str, text: &str, expect: &str) {
        assert_eq!(Secret::new(secret).scrub(text), expect);
    }

    #[test]
    fn prints_stars() {
        let secret = Secret::new("dapi-very-secret");
        assert_eq!(format!("{secret} {secret:?} {:?}", Some(&secret)), "*** *** Some(***)");
        assert_eq!(secret.expose(), "dapi-very-secret");
    }

    #[test]
    fn scrubs() {
        check("s3cr3t", "bad token s3cr3t here", "bad token *** here");
        check("s3cr3t", "nothing", "nothing");
        check("", "empty secret leaves text", "empty secret leaves text");
    }
}
