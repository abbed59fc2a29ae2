//! Which names are credentials: the one list that display (`config`), `env`, `doctor`,
//! validation (`config check`), the backends and the environment given to a sccache
//! server all use.
//!
//! A name is a credential when one of its words (split on `_`, `-`, `.` and case) is a
//! credential word (`PASSWORD`, `TOKEN`, `SECRET`, ...) or two adjacent words form a
//! credential pair (`ACCESS_KEY`, `API_KEY`, `CONNECTION_STRING`, ...), or when it is
//! one of the tool variables whose value can embed a credential (`CCACHE_REMOTE_STORAGE`
//! carries the password inside its URL). The rule errs on the side of hiding: a harmless
//! variable named like a credential is only hidden or left out of a server request, never
//! broken.

/// Single words that make a name a credential.
const WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "TOKEN",
    "TOKENS",
    "SECRET",
    "SECRETS",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "AUTH",
    "AUTHORIZATION",
    "APIKEY",
    "COOKIE",
    "SAS",
];

/// Adjacent word pairs that make a name a credential.
const PAIRS: &[(&str, &str)] = &[
    ("ACCESS", "KEY"),
    ("SECRET", "KEY"),
    ("PRIVATE", "KEY"),
    ("API", "KEY"),
    ("ACCOUNT", "KEY"),
    ("SIGNING", "KEY"),
    ("CONNECTION", "STRING"),
];

/// Last words that make a name a *location* of a credential (a URL to fetch it from, a
/// file holding it, the variable naming it), not the credential itself.
const LOCATIONS: &[&str] = &[
    "URL", "URI", "PATH", "FILE", "DIR", "ENDPOINT", "HOST", "PORT", "ENV", "TYPE", "MODE",
];

/// Tool variables whose value can carry a credential although their name does not say
/// so: the whole value is treated as secret.
const CARRIERS: &[&str] = &["CCACHE_REMOTE_STORAGE", "CCACHE_SECONDARY_STORAGE"];

/// Is `name` (an environment variable, a config key, an `extra` key) a credential?
pub(crate) fn is_credential_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    if CARRIERS.contains(&up.as_str()) {
        return true;
    }
    let words: Vec<&str> = up
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.last().is_some_and(|w| LOCATIONS.contains(w)) {
        return false;
    }
    words.iter().any(|w| WORDS.contains(w))
        || words
            .windows(2)
            .any(|p| PAIRS.iter().any(|(a, b)| p[0] == *a && p[1] == *b))
}

/// As `is_credential_name` for a name that may not be UTF-8 (an environment variable).
pub(crate) fn is_credential_var(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(is_credential_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names() {
        for n in [
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "SCCACHE_REDIS_PASSWORD",
            "SCCACHE_S3_ACCESS_KEY",
            "SCCACHE_AZURE_CONNECTION_STRING",
            "SCCACHE_WEBDAV_TOKEN",
            "CCACHE_REMOTE_STORAGE",
            "bearer-token",
            "password",
            "NPM_AUTH",
            "CI_JOB_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "AZURE_STORAGE_SAS",
            "my.api-key",
            "OPENAI_APIKEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ] {
            assert!(is_credential_name(n), "{n} should be a credential");
        }
        for n in [
            "PATH",
            "HOME",
            "SCCACHE_S3_KEY_PREFIX",
            "SCCACHE_REDIS_ENDPOINT",
            "GIT_AUTHOR_NAME",
            "PWD",
            "connect-timeout",
            "SCCACHE_BUCKET",
            "KEYBOARD",
            "PASSAGE",
            "TOKENIZER_PATH",
            "SCCACHE_GCS_CREDENTIALS_URL",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "password_env",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
        ] {
            assert!(!is_credential_name(n), "{n} should not be a credential");
        }
    }
}
